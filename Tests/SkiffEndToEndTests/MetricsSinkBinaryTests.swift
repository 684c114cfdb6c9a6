import Glibc
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// MOSN's `metrics` prometheus sink on the real binary (issue 18): the admin API's `/metrics` text on the sink's
/// port and endpoint, read-only; a reload that changes the block takes effect on restart; a binary upgrade hands
/// the sink's socket over, so scrapes are answered throughout.
@Suite(.serialized) struct MetricsSinkBinaryTests {
    static func config(
        listener: Int, rwloop: Int, backend: Int, admin: Int, sink: Int, endpoint: String = "/stats/prometheus"
    ) -> String {
        let base = ReloadBinaryTests.config(netpoll: listener, rwloop: rwloop, hosts: [(backend, 1)])
        return String(base.trimmingSuffixBrace())
            + #","admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\#(admin)}}},"#
            + #""metrics":{"sinks":[{"type":"prometheus","config":{"port":\#(sink),"address":"127.0.0.1","endpoint":"\#(endpoint)"}}]}}"#
    }

    /// The `# TYPE` lines of an exposition text.
    static func typeLines(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map(String.init))
    }

    @Test func theSinkServesTheAdminAPIsMetricsReadOnly() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let (np, rw, admin, sink) = (freePort(), freePort(), freePort(), freePort())
        let path = try writeTempFile(Self.config(listener: np, rwloop: rw, backend: backend.port, admin: admin, sink: sink))
        defer { unlink(path) }
        let sock = "/tmp/skiff-test-\(getpid())-\(np)-sink.sock"
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(p.output.contains("metrics sink (prometheus) on 127.0.0.1:\(sink)/stats/prometheus"), "\(p.output)")
        for _ in 0..<3 { #expect(try curl(["-s", "http://127.0.0.1:\(np)/x"]).output == "b /x") }

        let scraped = try adminRequest(sink, "GET", "/stats/prometheus")
        #expect(scraped.status == 200)
        #expect(scraped.body.contains("\ndownstream_request_total{listener=\"np\"} 3\n"), "\(scraped.body.prefix(2000))")
        #expect(scraped.body.contains("\nprocess_open_fds "))
        let fromAdmin = try adminRequest(admin, "GET", "/metrics")
        #expect(Self.typeLines(scraped.body) == Self.typeLines(fromAdmin.body))
        #expect(try PromtoolCheck.problems(scraped.body) == [])
        let head = try curl(["-s", "-I", "http://127.0.0.1:\(sink)/stats/prometheus"]).output
        #expect(head.hasPrefix("HTTP/1.1 200") && head.contains("text/plain; version=0.0.4"), "\(head)")

        // One route, reads only.
        #expect(try adminRequest(sink, "GET", "/metrics").status == 404)
        #expect(try adminRequest(sink, "GET", "/api/v1/stats").status == 404)
        let post = try adminRequest(sink, "POST", "/stats/prometheus", body: "x").status
        #expect(post == 403 || post == 405, "\(post)")

        // Moving the sink is for the next start: the reload says so, the sink stays where it is.
        try overwrite(path, Self.config(listener: np, rwloop: rw, backend: backend.port, admin: admin, sink: freePort()))
        let reload = try SkiffProcess.run(["reload", "--socket", sock], timeoutSeconds: 20)
        #expect(reload.status == 0, "\(reload.output)")
        #expect(reload.output.contains("metrics: changed, takes effect on restart"), "\(reload.output)")
        #expect(try adminRequest(sink, "GET", "/stats/prometheus").status == 200)
        let after = try adminRequest(sink, "GET", "/stats/prometheus").body
        #expect(after.contains(#"skiff_config_reloads_total{origin="file",result="applied"} 1"#), "\(after.suffix(1500))")
        #expect(p.stop() == 0, "\(p.output)")
    }

    /// A binary upgrade hands the sink's socket to the new process with the listeners: a scrape loop running across
    /// it is never refused, and once the old process is gone the new one answers (its own counters, from zero).
    @Test func aBinaryUpgradeHandsTheSinkOver() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let (np, rw, admin, sink) = (freePort(), freePort(), freePort(), freePort())
        let tag = "\(getpid())-\(np)"
        let sock = "/tmp/skiff-test-\(tag)-sink-upgrade.sock"
        let pidPath = "/tmp/skiff-test-\(tag)-sink-upgrade.pid"
        defer { unlink(pidPath) }
        let path = try writeTempFile(Self.config(listener: np, rwloop: rw, backend: backend.port, admin: admin, sink: sink))
        defer { unlink(path) }
        let old = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--pid-file", pidPath])
        defer { old.stop() }
        #expect(old.waitForOutput("started"), "\(old.output)")
        for _ in 0..<5 { #expect(try curl(["-s", "http://127.0.0.1:\(np)/x"]).output == "b /x") }

        let stop = Atomic<Bool>(false)
        let done = Atomic<Bool>(false)
        let answered = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        try NetThread.start(name: "scrape-loop", stackSize: 1 << 20) {
            while !stop.load(ordering: .relaxed) {
                if (try? adminRequest(sink, "GET", "/stats/prometheus").status) == 200 {
                    answered.wrappingAdd(1, ordering: .relaxed)
                } else {
                    failed.wrappingAdd(1, ordering: .relaxed)
                }
                usleep(10_000)
            }
            done.store(true, ordering: .relaxed)
        }
        #expect(waitUntil(seconds: 10) { answered.load(ordering: .relaxed) > 10 })

        let new = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--pid-file", pidPath, "--upgrade"])
        defer { new.stop() }
        #expect(new.waitForOutput("took over 2 listening sockets from pid \(old.pid)"), "\(new.output)")
        #expect(old.waitForExit(seconds: 15) == 0, "\(old.output)")
        let atExit = answered.load(ordering: .relaxed)
        #expect(waitUntil(seconds: 10) { answered.load(ordering: .relaxed) > atExit + 10 })
        stop.store(true, ordering: .relaxed)
        #expect(waitUntil(seconds: 10) { done.load(ordering: .relaxed) })
        #expect(failed.load(ordering: .relaxed) == 0, "\(failed.load(ordering: .relaxed)) scrapes failed")

        // The new process's own counters: it has served none of the five requests.
        let now = try adminRequest(sink, "GET", "/stats/prometheus").body
        #expect(now.contains("\ndownstream_request_total{listener=\"np\"} 0\n"), "\(now.prefix(1500))")
        #expect(new.stop() == 0, "\(new.output)")
    }
}
