import SkiffXDSProto
import SwiftProtobuf
import Testing

/// The hand-written protos against Envoy's own: each sample decoded from JSON must serialize to exactly the bytes
/// Envoy's generated code (xds-protos) made of the same JSON, and Envoy's bytes must decode to the same message with
/// nothing left over as unknown fields. A wrong field number or type in Protos/xds fails here.
@Suite struct XDSWireCompatibilityTests {
    static let samples: [(String, any SwiftProtobuf.Message.Type)] = [
        ("listener-http", Envoy_Config_Listener_V3_Listener.self),
        ("route-config", Envoy_Config_Route_V3_RouteConfiguration.self),
        ("cluster-load-assignment", Envoy_Config_Endpoint_V3_ClusterLoadAssignment.self),
        ("cluster-static-h2", Envoy_Config_Cluster_V3_Cluster.self),
        ("cluster-eds", Envoy_Config_Cluster_V3_Cluster.self),
    ]

    @Test(arguments: samples.map(\.0))
    func sameBytesAsEnvoy(sample: String) throws {
        let type = Self.samples.first { $0.0 == sample }!.1
        let fromJSON = try XDSFixture.decode(type, sample)
        let envoyBytes = try XDSFixture.envoyBytes(sample)
        var deterministic = BinaryEncodingOptions()
        deterministic.useDeterministicOrdering = true  // map keys sorted, as xds-protos wrote them
        let ours: [UInt8] = try fromJSON.serializedBytes(options: deterministic)
        #expect(ours == envoyBytes)

        let fromEnvoy = try type.init(serializedBytes: envoyBytes)
        #expect(try sameOnTheWire(fromEnvoy, fromJSON))
        #expect(fromEnvoy.unknownFields.data.isEmpty)
    }

    @Test func packedFiltersDecodeWithoutUnknownFields() throws {
        let listener = try Envoy_Config_Listener_V3_Listener(
            serializedBytes: try XDSFixture.envoyBytes("listener-http"))
        let filter = try #require(listener.filterChains.first?.filters.first)
        let manager = try Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager(
            unpackingAny: filter.typedConfig)
        #expect(manager.unknownFields.data.isEmpty)
        #expect(manager.rds.routeConfigName == "local_route")
        #expect(manager.rds.configSource.resourceApiVersion == .v3)
        #expect(manager.commonHTTPProtocolOptions.idleTimeout.seconds == 60)
        #expect(manager.httpFilters.map(\.name) == ["envoy.filters.http.router"])
    }
}
