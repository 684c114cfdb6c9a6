import SkiffXDSProto
import SwiftProtobuf
import Testing

/// Generated xDS messages in JSON and binary: a Listener carrying an http_connection_manager in `Any` survives both,
/// and Envoy v3 JSON as users write it decodes into the fields Skiff will translate.
@Suite struct XDSJSONRoundTripTests {
    typealias Listener = Envoy_Config_Listener_V3_Listener
    typealias HttpConnectionManager = Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager

    func listenerWithManager() throws -> Listener {
        var manager = HttpConnectionManager()
        manager.statPrefix = "ingress_http"
        manager.codecType = .auto
        manager.rds.routeConfigName = "local_route"
        manager.rds.configSource.ads = Envoy_Config_Core_V3_AggregatedConfigSource()
        manager.rds.configSource.resourceApiVersion = .v3
        var router = Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpFilter()
        router.name = "envoy.filters.http.router"
        router.typedConfig = try Google_Protobuf_Any(message: Envoy_Extensions_Filters_Http_Router_V3_Router())
        manager.httpFilters = [router]
        manager.streamIdleTimeout = Google_Protobuf_Duration(seconds: 300)

        var filter = Envoy_Config_Listener_V3_Filter()
        filter.name = "envoy.filters.network.http_connection_manager"
        filter.typedConfig = try Google_Protobuf_Any(message: manager)
        var chain = Envoy_Config_Listener_V3_FilterChain()
        chain.filters = [filter]
        var listener = Listener()
        listener.name = "listener_0"
        listener.address.socketAddress.address = "0.0.0.0"
        listener.address.socketAddress.portValue = 10000
        listener.filterChains = [chain]
        return listener
    }

    @Test func listenerRoundTripsThroughJSON() throws {
        _ = XDSFixture.registered
        let listener = try listenerWithManager()
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        let json = try listener.jsonString(options: options)
        #expect(json.contains("\"@type\":\"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\""))
        #expect(json.contains("\"port_value\":10000"))
        let back = try Listener(jsonString: json)
        #expect(try sameOnTheWire(back, listener))
        let manager = try HttpConnectionManager(unpackingAny: back.filterChains[0].filters[0].typedConfig)
        #expect(manager.rds.routeConfigName == "local_route")
        #expect(manager.streamIdleTimeout.seconds == 300)
    }

    @Test func listenerRoundTripsThroughBinary() throws {
        let listener = try listenerWithManager()
        let bytes: [UInt8] = try listener.serializedBytes()
        let back = try Listener(serializedBytes: bytes)
        #expect(try sameOnTheWire(back, listener))
        let manager = try HttpConnectionManager(unpackingAny: back.filterChains[0].filters[0].typedConfig)
        #expect(manager.statPrefix == "ingress_http")
        #expect(manager.httpFilters[0].typedConfig.isA(Envoy_Extensions_Filters_Http_Router_V3_Router.self))
    }

    @Test func envoyLoadAssignmentDecodes() throws {
        let assignment = try XDSFixture.decode(Envoy_Config_Endpoint_V3_ClusterLoadAssignment.self, "cluster-load-assignment")
        #expect(assignment.clusterName == "backend")
        let hosts = assignment.endpoints[0].lbEndpoints
        #expect(hosts.map(\.endpoint.address.socketAddress.address) == ["10.0.0.1", "10.0.0.2"])
        #expect(hosts.map(\.endpoint.address.socketAddress.portValue) == [8080, 8080])
        #expect(hosts.map(\.healthStatus) == [.healthy, .draining])
        #expect(hosts[0].loadBalancingWeight.value == 3)
        #expect(!hosts[1].hasLoadBalancingWeight)
        #expect(assignment.endpoints[0].locality.zone == "eu-west-1a")
    }

    @Test func envoyRoutesDecode() throws {
        let config = try XDSFixture.decode(Envoy_Config_Route_V3_RouteConfiguration.self, "route-config")
        let routes = config.virtualHosts[0].routes
        #expect(routes.count == 4)
        #expect(routes[0].match.headers[0].stringMatch.exact == "1")
        #expect(routes[0].route.weightedClusters.clusters.map(\.weight.value) == [10, 90])
        #expect(routes[0].route.retryPolicy.numRetries.value == 2)
        #expect(routes[0].route.retryPolicy.retriableStatusCodes == [503])
        #expect(routes[1].match.safeRegex.regex == "^/v[0-9]+/items$")
        #expect(routes[1].route.hostRewriteLiteral == "items.internal")
        #expect(routes[2].redirect.responseCode == .permanentRedirect)
        #expect(routes[3].directResponse.body.inlineString == "ok")
    }

    @Test func issueBootstrapClusterDecodes() throws {
        let cluster = try XDSFixture.decode(Envoy_Config_Cluster_V3_Cluster.self, "cluster-static-h2")
        #expect(cluster.type == .static)
        #expect(cluster.connectTimeout.seconds == 1)
        let options = try #require(cluster.typedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"])
        let http = try Envoy_Extensions_Upstreams_Http_V3_HttpProtocolOptions(unpackingAny: options)
        guard case .http2ProtocolOptions? = http.explicitHTTPConfig.protocolConfig else {
            Issue.record("explicit_http_config is not http2_protocol_options")
            return
        }
        #expect(cluster.loadAssignment.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.portValue == 15010)
    }

    @Test func discoveryRequestCarriesANack() throws {
        var request = Envoy_Service_Discovery_V3_DiscoveryRequest()
        request.typeURL = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
        request.responseNonce = "7"
        request.errorDetail.code = 3
        request.errorDetail.message = "route local_route: invalid regex"
        let back = try Envoy_Service_Discovery_V3_DiscoveryRequest(serializedBytes: try request.serializedBytes() as [UInt8])
        #expect(back.errorDetail.message == "route local_route: invalid regex")
        #expect(Envoy_Config_Route_V3_RouteConfiguration.protoMessageName == "envoy.config.route.v3.RouteConfiguration")
    }
}
