import SkiffConfig
import SkiffXDSProto
import SwiftProtobuf
import Synchronization

@testable import SkiffXDS

/// Envoy v3 resources written as JSON for the session tests, packed as a control plane sends them, and a session
/// whose "engine" records what it was asked to apply (and can be told to refuse).
enum SessionFixture {
    static let registered: Void = {
        for type in [
            Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager.self,
            Envoy_Extensions_Filters_Http_Router_V3_Router.self,
        ] as [any SwiftProtobuf.Message.Type] {
            Google_Protobuf_Any.register(messageType: type)
        }
    }()

    static func any<M: SwiftProtobuf.Message>(_ type: M.Type, _ json: String) -> Google_Protobuf_Any {
        _ = registered
        return try! Google_Protobuf_Any(message: try M(jsonString: json))
    }

    static func response(
        _ type: XDSResourceType, version: String, nonce: String, _ resources: [Google_Protobuf_Any]
    ) -> Envoy_Service_Discovery_V3_DiscoveryResponse {
        var r = Envoy_Service_Discovery_V3_DiscoveryResponse()
        r.typeURL = type.typeURL
        r.versionInfo = version
        r.nonce = nonce
        r.resources = resources
        return r
    }

    static func edsCluster(_ name: String) -> Google_Protobuf_Any {
        any(
            Envoy_Config_Cluster_V3_Cluster.self,
            #"{"name": "\#(name)", "type": "EDS", "connect_timeout": "1s", "eds_cluster_config": {"eds_config": {"ads": {}, "resource_api_version": "V3"}}}"#
        )
    }

    static func assignment(_ name: String, ports: [Int], health: String = "HEALTHY") -> Google_Protobuf_Any {
        let endpoints = ports.map {
            #"{"health_status": "\#(health)", "endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": \#($0)}}}}"#
        }
        return any(
            Envoy_Config_Endpoint_V3_ClusterLoadAssignment.self,
            #"{"cluster_name": "\#(name)", "endpoints": [{"lb_endpoints": [\#(endpoints.joined(separator: ","))]}]}"#)
    }

    static func rdsListener(_ name: String, port: Int, routes: String) -> Google_Protobuf_Any {
        any(
            Envoy_Config_Listener_V3_Listener.self,
            """
            {"name": "\(name)", "address": {"socket_address": {"address": "127.0.0.1", "port_value": \(port)}},
             "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
               "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
               "stat_prefix": "\(name)",
               "rds": {"route_config_name": "\(routes)", "config_source": {"ads": {}, "resource_api_version": "V3"}},
               "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                 "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}
            """)
    }

    /// One virtual host sending `prefix` to `cluster` (or a safe_regex match when `regex` is given).
    static func routes(_ name: String, cluster: String, prefix: String = "/", regex: String? = nil) -> Google_Protobuf_Any {
        let match = regex.map { #"{"safe_regex": {"regex": "\#($0)"}}"# } ?? #"{"prefix": "\#(prefix)"}"#
        return any(
            Envoy_Config_Route_V3_RouteConfiguration.self,
            #"{"name": "\#(name)", "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [{"match": \#(match), "route": {"cluster": "\#(cluster)"}}]}]}"#
        )
    }

    static let xds = XDSConfig(
        node: XDSNode(id: "skiff-1", cluster: "web"), adsCluster: "xds", listenersFromADS: true, clustersFromADS: true,
        initialFetchTimeout: .seconds(15))
}

/// The engine's side as the session sees it: every config applied, in order, and a switch to refuse the next ones.
final class RecordingEngine: Sendable {
    let applied = Mutex<[SkiffConfiguration]>([])
    let refusal = Mutex<String?>(nil)
    let events = Mutex<[XDSEvent]>([])

    var last: SkiffConfiguration? { applied.withLock { $0.last } }
    var count: Int { applied.withLock { $0.count } }

    func session(xds: XDSConfig = SessionFixture.xds, file: SkiffConfiguration = SkiffConfiguration(servers: [], clusters: [], admin: nil))
        -> ADSSession
    {
        ADSSession(
            file: file, xds: xds, controlPlane: "127.0.0.1:15010",
            apply: { [self] c in
                if let why = refusal.withLock({ $0 }) { throw TestRefusal(why: why) }
                applied.withLock { $0.append(c) }
            },
            onEvent: { [self] e in events.withLock { $0.append(e) } })
    }
}

struct TestRefusal: Error, CustomStringConvertible {
    var why: String
    var description: String { why }
}
