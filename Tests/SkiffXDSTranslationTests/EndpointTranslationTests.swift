import SkiffConfig
import SkiffXDSProto
import Testing

@testable import SkiffXDSTranslation

/// ClusterLoadAssignments: basic.json's and the sample translate into hosts with weights and the control plane's
/// health; priorities, out-of-range weights, names and duplicates are refused.
@Suite struct EndpointTranslationTests {
    typealias Assignment = Envoy_Config_Endpoint_V3_ClusterLoadAssignment

    static func assignment(_ endpoints: String) throws -> Assignment {
        try TranslationFixture.decode(Assignment.self, json: #"{"cluster_name": "svc", "endpoints": [\#(endpoints)]}"#)
    }

    static func endpoint(_ address: String, _ port: Int, _ extra: String = "") -> String {
        #"{"endpoint": {"address": {"socket_address": {"address": "\#(address)", "port_value": \#(port)}}}\#(extra)}"#
    }

    @Test func basicFixtureEndpointsTranslate() throws {
        let assignments = try TranslationFixture.basic("endpoints", Assignment.self)
        #expect(assignments.map(\.clusterName) == ["service-a", "service-b"])
        #expect(
            try XDSTranslate.loadAssignment(assignments[0]) == [
                HostConfig(address: SocketAddressSpec(host: "127.0.0.1", port: 18081))
            ])
        #expect(
            try XDSTranslate.loadAssignment(assignments[1]) == [
                HostConfig(address: SocketAddressSpec(host: "127.0.0.1", port: 18082))
            ])
    }

    @Test func sampleCarriesWeightAndDraining() throws {
        let hosts = try XDSTranslate.loadAssignment(
            try TranslationFixture.sample(Assignment.self, "cluster-load-assignment"))
        var drained = HostConfig(address: SocketAddressSpec(host: "10.0.0.2", port: 8080))
        drained.controlPlaneState = .draining
        #expect(hosts == [HostConfig(address: SocketAddressSpec(host: "10.0.0.1", port: 8080), weight: 3), drained])
    }

    @Test func healthStatusesMetadataAndHostname() throws {
        let statuses = ["UNKNOWN", "HEALTHY", "UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED"]
        let list = statuses.enumerated().map { i, s in
            Self.endpoint("10.0.0.\(i + 1)", 80, #", "health_status": "\#(s)""#)
        }
        let hosts = try XDSTranslate.loadAssignment(
            try Self.assignment(#"{"lb_endpoints": [\#(list.joined(separator: ","))]}"#))
        #expect(hosts.map(\.controlPlaneState) == [.serving, .serving, .unhealthy, .draining, .unhealthy, .serving])

        let rich = #"""
            {"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "10.1.0.1", "port_value": 80}},
                                            "hostname": "pod-1.svc"},
                               "metadata": {"filter_metadata": {"envoy.lb": {"canary": "1", "v": 2}}}}],
             "locality": {"zone": "a"}, "load_balancing_weight": 7}
            """#
        let h = try XDSTranslate.loadAssignment(try Self.assignment(rich))[0]
        #expect(h.hostname == "pod-1.svc")
        #expect(h.metadata == ["filter_metadata.envoy.lb.canary": "1", "filter_metadata.envoy.lb.v": "2"])
    }

    // MARK: - Rejections

    @Test func priorityOtherThanZeroIsRefused() throws {
        let a = try Self.assignment(
            #"{"lb_endpoints": [\#(Self.endpoint("10.0.0.1", 80))]}, {"priority": 1, "lb_endpoints": [\#(Self.endpoint("10.0.0.2", 80))]}"#
        )
        #expect(
            rejection { try XDSTranslate.loadAssignment(a) }
                == XDSRejection(
                    resource: #"cluster_load_assignment "svc""#, field: "endpoints[1].priority",
                    reason: "priority 1 is not supported by skiff (it has no priority levels; only 0)"))
    }

    @Test func weightOutOfRangeIsRefusedNotClamped() throws {
        let a = try Self.assignment(
            #"{"lb_endpoints": [\#(Self.endpoint("10.0.0.1", 80, #", "load_balancing_weight": 200"#))]}"#)
        #expect(
            rejection { try XDSTranslate.loadAssignment(a) }
                == XDSRejection(
                    resource: #"cluster_load_assignment "svc""#,
                    field: "endpoints[0].lb_endpoints[0].load_balancing_weight",
                    reason: "200 out of range (1-128)"))
    }

    @Test func namesDuplicatesAndPortZeroAreRefused() throws {
        let name = try Self.assignment(#"{"lb_endpoints": [\#(Self.endpoint("db.local", 80))]}"#)
        #expect(
            rejection { try XDSTranslate.loadAssignment(name) }?.reason
                == #""db.local" is not an IP address (endpoints are IP addresses)"#)
        let dup = try Self.assignment(
            #"{"lb_endpoints": [\#(Self.endpoint("10.0.0.1", 80)), \#(Self.endpoint("10.0.0.1", 80))]}"#)
        #expect(
            rejection { try XDSTranslate.loadAssignment(dup) }
                == XDSRejection(
                    resource: #"cluster_load_assignment "svc""#, field: "endpoints[0].lb_endpoints[1].endpoint.address",
                    reason: #"duplicate host "10.0.0.1:80" (also endpoints[0].lb_endpoints[0])"#))
        let zero = try Self.assignment(#"{"lb_endpoints": [\#(Self.endpoint("10.0.0.1", 0))]}"#)
        #expect(
            rejection { try XDSTranslate.loadAssignment(zero) }?.field
                == "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value")
    }
}
