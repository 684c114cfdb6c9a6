import Glibc
import Logging
import SkiffConfig
import SkiffEngine
import SkiffTestSupport
import Testing

/// After `Engine.stop` nothing of the engine runs on another thread: the publisher reads the engine and must not
/// outlive it (a second skiff refused at start tore its engine down while the publisher could still be reading it).
@Suite struct EngineStopTests {
    @Test func stopReturnsOnceThePublisherHasLeft() throws {
        let port = freePort()
        let config = try ConfigDecoder.decode(
            #"""
            {"servers":[{"listeners":[{"name":"t","address":"127.0.0.1:\#(port)",
              "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"c"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:1"}]}]}}
            """#)
        for _ in 0..<20 {
            let engine = try Engine(config: config, logger: Logger(label: "test"))
            engine.publisher.intervalMs.store(50, ordering: .relaxed)
            try engine.start()
            #expect(!engine.publisher.threadFinished)
            usleep(UInt32.random(in: 0...60_000))
            engine.stop()
            #expect(engine.publisher.threadFinished)
            let ticks = engine.publisher.ticks.load(ordering: .relaxed)
            usleep(120_000)
            #expect(engine.publisher.ticks.load(ordering: .relaxed) == ticks, "no tick after stop")
        }
    }
}
