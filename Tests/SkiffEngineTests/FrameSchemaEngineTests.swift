import Glibc
import Logging
import SkiffConfig
import SkiffControl
import SkiffEngine
import SkiffJSON
import SkiffTelemetry
import SkiffTestSupport
import Testing

/// Frames and events a real engine publishes decode into the schema's types and encode back to the same bytes: the
/// typed readers (console, `skiff ctl`) see everything the publisher writes, and nothing is lost on the way.
@Suite struct FrameSchemaEngineTests {
    /// An HTTP listener (netpoll, two workers), a tcp_proxy one (rwloop) and a Bolt one; a checked cluster whose host
    /// has metadata, an echo cluster, an unreachable RPC cluster.
    static func config(web: Int, tcp: Int, rpc: Int, backend: Int, echo: Int) throws -> SkiffConfiguration {
        try ConfigDecoder.decode(
            #"""
            {"servers":[{
              "routers":[
                {"router_config_name":"h","virtual_hosts":[{"name":"v","domains":["*"],
                  "routers":[{"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]},
                {"router_config_name":"b","virtual_hosts":[{"name":"v","domains":["*"],
                  "routers":[{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"r"}}]}]}],
              "listeners":[
                {"name":"web","address":"127.0.0.1:\#(web)","thread_model":"netpoll","pollers":1,"workers":2,
                 "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"h"}}]}]},
                {"name":"tcp","address":"127.0.0.1:\#(tcp)","thread_model":"rwloop",
                 "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"t"}}]}]},
                {"name":"rpc","address":"127.0.0.1:\#(rpc)","thread_model":"netpoll","pollers":1,
                 "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"bolt","upstream_protocol":"bolt","router_config_name":"b"}}]}]}]}],
             "cluster_manager":{"clusters":[
               {"name":"c","health_check":{"protocol":"tcp","service_name":"svc-c","interval":"200ms","timeout":"1s"},
                "hosts":[{"address":"127.0.0.1:\#(backend)","metadata":{"filter_metadata":{"mosn.lb":{"version":"1.1"}}}}]},
               {"name":"t","hosts":[{"address":"127.0.0.1:\#(echo)"}]},
               {"name":"r","hosts":[{"address":"127.0.0.1:1"}]}]}}
            """#)
    }

    /// Reads until `stop` says enough (or 5 s pass).
    static func receive(_ s: TestSocket, until stop: ([UInt8]) -> Bool) throws -> [UInt8] {
        var got: [UInt8] = []
        s.setTimeout(seconds: 5)
        while !stop(got), let more = try s.receiveSome() { got += more }
        return got
    }

    static func waitUntil(_ condition: () -> Bool) {
        for _ in 0..<250 where !condition() { usleep(20_000) }
    }

    /// The newest record of a ring.
    static func latest(_ ring: FrameRing) -> [UInt8] {
        var buf: [UInt8] = []
        _ = ring.read(after: ring.latestSeq - 1, into: &buf)
        return buf
    }

    @Test func realFramesAndEventsRoundTripByteForByte() throws {
        let backend = try HTTPTestServer(name: "b")
        let echo = try EchoServer()
        defer {
            backend.stop()
            echo.stop()
        }
        let (web, tcp, rpc) = (freePort(), freePort(), freePort())
        let engine = try Engine(
            config: try Self.config(web: web, tcp: tcp, rpc: rpc, backend: backend.port, echo: echo.port),
            logger: Logger(label: "test"))
        engine.publisher.intervalMs.store(100, ordering: .relaxed)
        try engine.start()
        defer { engine.stop() }

        // Traffic that leaves records: a kept-alive HTTP client, a tcp_proxy session (whose host then drains, the
        // session holding the drain open), a host in maintenance.
        let client = try TestSocket.connect(port: web)
        defer { client.close() }
        try client.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
        let answer = try Self.receive(client) { String(decoding: $0, as: UTF8.self).hasSuffix("b /small") }
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        let session = try TestSocket.connect(port: tcp)
        defer { session.close() }
        try session.send("ping")
        #expect(try Self.receive(session) { $0.count >= 4 } == Array("ping".utf8))
        let control = EngineControl(engine: engine)
        let host = "127.0.0.1:\(backend.port)"
        for result in [
            control.setHostState(cluster: "t", host: "127.0.0.1:\(echo.port)", state: "drain", uid: 0, via: "test"),
            control.setHostState(cluster: "r", host: "127.0.0.1:1", state: "maint", uid: 0, via: "test", kill: true),
        ] {
            if case .error(let e) = result { Issue.record("\(e)") }
        }
        Self.waitUntil { engine.publisher.hosts().host(cluster: "c", address: host)?.checks?.isEmpty == false }

        // A pushed frame, as subscribers receive it.
        let mark = engine.hub.frames.latestSeq
        Self.waitUntil { engine.hub.frames.latestSeq > mark + 1 }
        let pushed = Self.latest(engine.hub.frames)
        let frame = TelemetryFrame(json: try JSONParser.parse(pushed))
        #expect(frame.jsonBytes == pushed)
        #expect(frame.seq > mark && frame.ts > 0 && frame.pid == Int(getpid()))

        // Everything the publisher fills in is there in typed form.
        let listeners = Dictionary(uniqueKeysWithValues: frame.listeners.map { ($0.name, $0) })
        #expect(listeners["web"]?.rqTotal == 1 && listeners["web"]?.rq2xx == 1 && listeners["web"]?.workers == 2)
        #expect(listeners["web"]?.oneway == nil && listeners["web"]?.sessions == nil)
        #expect(listeners["rpc"]?.oneway == 0 && listeners["rpc"]?.rq2xx == nil)
        #expect(listeners["tcp"]?.sessions == 1 && listeners["tcp"]?.model == "rwloop")
        #expect(listeners["web"]?.writes.hist.count == 5)
        let c = try #require(frame.clusters.first { $0.name == "c" })
        #expect(c.healthCheckService == "svc-c")
        let h = try #require(c.host(host))
        #expect(h.metadata?["filter_metadata.mosn.lb.version"] == "1.1")
        #expect(h.admin == "READY" && h.checks?.isEmpty == false && h.nextCheckMs != nil && h.drain == nil)
        let draining = frame.host(cluster: "t", address: "127.0.0.1:\(echo.port)")
        #expect(draining?.admin == "DRAIN" && draining?.drain?.activeCx == 1 && draining?.drain?.drained == false)
        #expect(frame.host(cluster: "r", address: "127.0.0.1:1")?.admin == "MAINT")
        #expect(frame.threads.workers.count == 2 && !frame.threads.pollers.isEmpty)
        #expect(frame.threads.rwloop.readers >= 1)
        #expect(frame.connections?.changed != nil && frame.connections?.table == nil)
        #expect(frame.publisher.frameRingBytes > 0)

        // A snapshot carries every live connection, both directions.
        let snapshot = FrameReply(frame: engine.publisher.fullFrame()).jsonBytes
        let decoded = FrameReply(json: try JSONParser.parse(snapshot))
        #expect(decoded.jsonBytes == snapshot)
        let table = decoded.frame.connections?.table ?? []
        #expect(table.contains { $0.owner == "web" && $0.dir == "inbound" && $0.peer.hasPrefix("127.0.0.1:") })
        #expect(table.contains { $0.owner == "c" && $0.dir == "outbound" })
        #expect(table.contains { $0.owner == "tcp" && $0.bytesIn == 4 })

        // The hosts reply and the stats frame.
        let hosts = engine.publisher.hosts().jsonBytes
        #expect(HostsReply(json: try JSONParser.parse(hosts)).jsonBytes == hosts)
        let stats = engine.publisher.statsFrame()
        #expect(stats.connections == nil)

        // Every event in the ring: a known kind, and the same bytes back.
        var cursor: UInt64 = 0
        var record: [UInt8] = []
        var kinds: Set<String> = []
        while case .frame(let seq, _) = engine.hub.events.read(after: cursor, into: &record) {
            cursor = seq
            let event = TelemetryEvent(json: try JSONParser.parse(record))
            if case .other(let kind, _) = event.body { Issue.record("unknown event kind \(kind)") }
            #expect(event.jsonBytes == record, "\(String(decoding: record, as: UTF8.self))")
            kinds.insert(event.kind)
        }
        #expect(kinds.isSuperset(of: ["engine.start", "conn.open", "host.admin"]), "\(kinds)")
    }
}
