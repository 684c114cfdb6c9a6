import Foundation
import SkiffJSON
import Testing

@testable import SkiffConfig

/// MOSN's Envoy v3 bootstrap keys (`node`, `dynamic_resources`, `static_resources`) beside `servers` and
/// `cluster_manager`: xDS mode, mixed mode, and every refusal with its path.
@Suite struct XDSBootstrapConfigTests {
    /// The example issue 17 says must be accepted as written (`Tests/Fixtures/xds/skiff-bootstrap.json`).
    static let issueExample = (try? String(contentsOfFile: xdsFixture("skiff-bootstrap.json"), encoding: .utf8)) ?? ""

    @Test func theIssuesExampleIsAcceptedAsWritten() throws {
        let c = try ConfigDecoder.decode(Self.issueExample)
        let xds = try #require(c.xds)
        #expect(xds.node == XDSNode(id: "skiff-1", cluster: "web"))
        #expect(xds.adsCluster == "xds")
        #expect(xds.listenersFromADS && xds.clustersFromADS)
        #expect(xds.initialFetchTimeout == .seconds(15))
        #expect(c.servers.isEmpty)
        let cluster = try #require(c.cluster(named: "xds"))
        #expect(cluster.hosts.map(\.address) == [SocketAddressSpec(host: "127.0.0.1", port: 15010)])
        #expect(cluster.connectTimeout == .seconds(1))
    }

    @Test func camelCaseKeysAreEnvoysJSONToo() throws {
        let camel = Self.issueExample.replacingOccurrences(of: "port_value", with: "portValue")
            .replacingOccurrences(of: "cluster_name\": \"xds\"}}]", with: "clusterName\": \"xds\"}}]")
        let c = try ConfigDecoder.decode(camel)
        #expect(c.xds?.adsCluster == "xds")
        #expect(c.cluster(named: "xds")?.hosts.first?.address.port == 15010)
    }

    @Test func mixedModeKeepsFileListenersBesideADS() throws {
        let mixed = Self.issueExample.trimmingCharacters(in: .whitespacesAndNewlines).dropLast() + """
            , "servers": [{"routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
                "routers": [{"match": {"prefix": "/"}, "direct_response": {"status": 200}}]}]}],
              "listeners": [{"name": "l", "address": "127.0.0.1:0", "filter_chains": [{"filters": [{"type": "proxy",
                "config": {"downstream_protocol": "Http1", "router_config_name": "r"}}]}]}]}]}
            """
        let c = try ConfigDecoder.decode(String(mixed))
        #expect(c.servers.count == 1 && c.xds != nil)
    }

    /// Each refusal: (what to replace in the example, with what, the path expected, a fragment of the message).
    static let refusals: [(String, String, String, String)] = [
        (#""api_type": "GRPC""#, #""api_type": "DELTA_GRPC""#, "dynamic_resources.ads_config.api_type", "only GRPC"),
        (#""transport_api_version": "V3""#, #""transport_api_version": "V2""#,
         "dynamic_resources.ads_config.transport_api_version", "only V3"),
        (#"{"envoy_grpc": {"cluster_name": "xds"}}"#, #"{"google_grpc": {"target_uri": "x"}}"#,
         "dynamic_resources.ads_config.grpc_services[0].google_grpc", "not supported"),
        (#""cluster_name": "xds"}}]"#, #""cluster_name": "nope"}}]"#,
         "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name", "no cluster \"nope\""),
        (#""explicit_http_config": {"http2_protocol_options": {}}"#, #""explicit_http_config": {"http_protocol_options": {}}"#,
         "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name", "must speak HTTP/2"),
        (#""lds_config": {"ads": {}, "resource_api_version": "V3"}"#, #""lds_config": {"path": "/etc/lds.yaml"}"#,
         "dynamic_resources.lds_config.path", "not supported"),
        (#""node": {"id": "skiff-1", "cluster": "web"},"#, "", "node", "required with dynamic_resources"),
        (#""type": "STATIC""#, #""type": "STRICT_DNS""#, "static_resources.clusters[0].type", "STATIC"),
        (#""port_value": 15010"#, #""port_value": 0"#, "static_resources.clusters[0].load_assignment", "out of range"),
    ]

    @Test func refusalsNameTheirPath() {
        for (old, new, path, fragment) in Self.refusals {
            let text = Self.issueExample.replacingOccurrences(of: old, with: new)
            #expect(text != Self.issueExample, "the example has no \(old)")
            do {
                _ = try ConfigDecoder.decode(text)
                Issue.record("accepted: \(new)")
            } catch {
                #expect(
                    error.errors.contains { $0.path.hasPrefix(path) && $0.message.contains(fragment) },
                    "\(new): \(error.errors)")
            }
        }
    }

    @Test func aNodeWithoutDynamicResourcesIsAWarning() throws {
        let text = """
            {"node": {"id": "n"}, "servers": [{"routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v",
              "domains": ["*"], "routers": [{"match": {"prefix": "/"}, "direct_response": {"status": 200}}]}]}],
              "listeners": [{"name": "l", "address": "127.0.0.1:0", "filter_chains": [{"filters": [{"type": "proxy",
                "config": {"downstream_protocol": "Http1", "router_config_name": "r"}}]}]}]}]}
            """
        let c = try ConfigDecoder.decode(text)
        #expect(c.xds == nil)
        #expect(c.warnings.contains { $0.path == "node" })
    }
}
