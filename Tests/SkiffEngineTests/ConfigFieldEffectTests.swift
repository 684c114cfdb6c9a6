import Glibc
import Logging
import SkiffConfig
import SkiffEngine
import SkiffJSON
import SkiffNet
import SkiffTestSupport
import Testing

/// Config fields MOSN users rely on do what they say in a running engine: `processor` sizes the pollers, host
/// `metadata` and a check's `service_name` are shown, `disable_upgrade` refuses inherited sockets.
@Suite struct ConfigFieldEffectTests {
    static func config(port: Int, extraRoot: String = "", server: String = "", host: String = "") throws
        -> SkiffConfiguration
    {
        try ConfigDecoder.decode(
            #"""
            {\#(extraRoot)"servers":[{\#(server)"listeners":[{"name":"t","address":"127.0.0.1:\#(port)",
              "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"c"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"c",
               "health_check":{"protocol":"tcp","service_name":"svc-c","interval":"10s","timeout":"1s"},
               "hosts":[{"address":"127.0.0.1:1"\#(host)}]}]}}
            """#)
    }

    @Test func processorIsTheDefaultPollerCount() throws {
        let c = try Self.config(port: freePort(), server: #""processor":3,"#)
        #expect(c.servers[0].listeners[0].pollers == 3)
        let explicit = try Self.config(port: freePort(), server: #""processor":3,"pollers":1,"#)
        #expect(explicit.servers[0].listeners[0].pollers == 1)
    }

    @Test func hostMetadataAndCheckServiceAreInFrames() throws {
        let c = try Self.config(
            port: freePort(), host: #","metadata":{"filter_metadata":{"mosn.lb":{"version":"1.1"}}}"#)
        let engine = try Engine(config: c, logger: Logger(label: "test"))
        try engine.start()
        defer { engine.stop() }
        // As a `stats` reply carries it on the wire.
        let frame = try JSONParser.parse(engine.publisher.statsFrame().jsonBytes)
        let cluster = try #require(frame["clusters"]?.arrayValue.first)
        #expect(cluster["health_check_service"]?.stringValue == "svc-c")
        let host = try #require(cluster["hosts"]?.arrayValue.first)
        #expect(host["metadata"]?["filter_metadata.mosn.lb.version"]?.stringValue == "1.1")
    }

    @Test func disableUpgradeRefusesInheritedSockets() throws {
        let port = freePort()
        let c = try Self.config(port: port, extraRoot: #""disable_upgrade":true,"#)
        let fd = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: port)!, nonBlocking: true)
        var before = stat()
        fstat(fd, &before)
        let engine = try Engine(config: c, logger: Logger(label: "test"))
        engine.inheritListeners(["127.0.0.1:\(port)": fd])
        #expect(throws: EngineError.self) { try engine.start() }
        // The handed-over socket was closed, not leaked: its number is free, or (tests run in parallel in this
        // process) already another socket's.
        var after = stat()
        #expect(fstat(fd, &after) == -1 || after.st_ino != before.st_ino)
    }
}
