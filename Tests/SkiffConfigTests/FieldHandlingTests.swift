import Testing

@testable import SkiffConfig

/// Every field is acted on, refused with its path, or — where MOSN's own configs carry it and MOSN's effect is not
/// Skiff's — accepted with one warning naming it.
@Suite struct FieldHandlingTests {
    typealias F = Fixture

    static func warnings(_ json: String) throws -> [String] {
        try ConfigDecoder.decode(json).warnings.map(\.description)
    }

    @Test func bindPortFalseIsRefused() throws {
        let json = F.config(listeners: [F.tcpListener(extra: #","bind_port":false"#)])
        #expect(throws: ConfigErrors.self) { try ConfigDecoder.decode(json) }
        do {
            _ = try ConfigDecoder.decode(json)
        } catch {
            #expect(error.errors.map(\.path) == ["servers[0].listeners[0].bind_port"])
        }
        #expect(try Self.warnings(F.config(listeners: [F.tcpListener(extra: #","bind_port":true"#)])) == [])
    }

    @Test func listenerLogPathIsAcceptedWithAWarning() throws {
        let w = try Self.warnings(F.config(listeners: [F.tcpListener(extra: #","log_path":"stdout""#)]))
        #expect(w == [
            "servers[0].listeners[0].log_path: ignored, as MOSN ignores it: logs go to the server's default_log_path, --log-file or stderr"
        ])
    }

    @Test func hostMetadataIsKeptWithAWarning() throws {
        let json = F.config(
            clusters: [F.cluster(hosts: #"[{"address":"10.0.0.1:80","metadata":{"filter_metadata":{"mosn.lb":{"v":"1"}}}}]"#)])
        let c = try ConfigDecoder.decode(json)
        #expect(c.clusters[0].hosts[0].metadata == ["filter_metadata.mosn.lb.v": "1"])
        #expect(c.warnings.map(\.path) == ["cluster_manager.clusters[0].hosts[0].metadata"])
    }

    @Test func healthCheckWithoutServiceNameRunsAndSaysSo() throws {
        let check = #","health_check":{"protocol":"tcp","timeout":"1s","interval":"5s"}"#
        let c = try ConfigDecoder.decode(F.config(clusters: [F.cluster(extra: check)]))
        #expect(c.clusters[0].healthCheck != nil)
        #expect(c.warnings.map(\.path) == ["cluster_manager.clusters[0].health_check.service_name"])
        let named = #","health_check":{"protocol":"tcp","timeout":"1s","interval":"5s","service_name":"s"}"#
        #expect(try Self.warnings(F.config(clusters: [F.cluster(extra: named)])) == [])
    }

    @Test func processorSetsDefaultPollers() throws {
        let c = try ConfigDecoder.decode(F.config(server: #","processor":2"#))
        #expect(c.servers[0].pollers == 2)
        #expect(c.servers[0].listeners[0].pollers == 2)
        let auto = try ConfigDecoder.decode(F.config(server: #","processor":"auto""#))
        #expect(auto.servers[0].pollers == nil)
    }
}
