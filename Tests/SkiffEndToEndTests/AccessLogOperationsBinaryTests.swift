import Glibc
import SkiffNet
import SkiffTestSupport
import Testing

private typealias S = AccessLogSupport

/// Access logs as operators run them: rotation with SIGUSR1 (nothing lost), a full disk (lines dropped and counted,
/// traffic unaffected), a reload that changes them (in place: the same connection logs to the new file).
@Suite(.serialized) struct AccessLogOperationsBinaryTests {
    @Test func sigusr1ReopensForLogrotate() throws {
        let web = try HTTPTestServer(name: "web")
        defer { web.stop() }
        let dir = makeTempDirectory("al-rotate")
        defer { removeTree(dir) }
        let path = dir + "/access.log"
        let port = freePort()
        let config = S.httpConfig(
            listeners: [
                S.httpListener(
                    "np", port: port, model: "netpoll",
                    accessLogs: #"[{"log_path":"\#(path)","log_format":"%REQ(:PATH)% %response_code%"}]"#)
            ], web: web.port)
        let (p, _) = try S.start(config, dir: dir)
        defer { p.stop() }
        let c = try S.KeepAlive(port: port)
        for i in 0..<50 { #expect(try c.get("/api/before/\(i)").status == 200) }
        #expect(S.waitForLines(path, count: 50).count == 50)
        // logrotate: rename, then signal.
        #expect(rename(path, path + ".1") == 0)
        p.signal(SIGUSR1)
        #expect(p.waitForOutput("access logs reopened (1 files)"), "\(p.output)")
        for i in 0..<50 { #expect(try c.get("/api/after/\(i)").status == 200) }
        let now = S.waitForLines(path, count: 50)
        let old = S.lines(path + ".1")
        #expect(old.count == 50 && old.allSatisfy { $0.hasPrefix("/api/before/") && $0.hasSuffix(" 200") })
        #expect(now.count == 50 && now.allSatisfy { $0.hasPrefix("/api/after/") && $0.hasSuffix(" 200") })
        // A new file, mode 0644.
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o644)
    }

    /// RLIMIT_FSIZE set small (SIGXFSZ ignored, as a full disk or a quota would refuse writes): lines past the limit
    /// are dropped and counted in /metrics, one error line says so, and every request still succeeds without waiting.
    @Test func fullDiskDropsAndCountsWhileTrafficFlows() throws {
        let web = try HTTPTestServer(name: "web")
        defer { web.stop() }
        let dir = makeTempDirectory("al-full")
        defer { removeTree(dir) }
        let path = dir + "/access.log"
        let port = freePort()
        let admin = freePort()
        let config = S.httpConfig(
            listeners: [S.httpListener("np", port: port, model: "netpoll", accessLogs: #"[{"log_path":"\#(path)"}]"#)],
            web: web.port, admin: admin)
        mkdir(dir + "/conf", 0o755)
        let configPath = dir + "/conf/skiff.json"
        S.rewrite(config, dir: dir)
        let limit = 16 * 1024
        let wrapper = """
            import os, resource, signal, sys
            resource.setrlimit(resource.RLIMIT_FSIZE, (\(limit), \(limit)))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            os.execv(sys.argv[1], sys.argv[1:])
            """
        let (p, script) = try startPython(
            wrapper,
            [SkiffProcess.binaryPath, "start", "-c", configPath, "--control-socket", dir + "/skiff.sock"])
        defer {
            p.stop()
            unlink(script)
        }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let total = 600
        let c = try S.KeepAlive(port: port)
        let started = MonotonicClock.now()
        var failures = 0
        var slowest: UInt64 = 0
        for i in 0..<total {
            let t = MonotonicClock.now()
            if try c.get("/api/\(i)").status != 200 { failures += 1 }
            slowest = max(slowest, MonotonicClock.now() - t)
        }
        let seconds = Double(MonotonicClock.now() - started) / 1e9
        #expect(failures == 0)
        // Bounded by count and time: a writer blocking traffic would show here (600 requests over loopback take a
        // fraction of a second; a request never waits for the disk).
        #expect(seconds < 20 && slowest < 2_000_000_000, "\(seconds) s, slowest \(Double(slowest) / 1e6) ms")
        func metric(_ name: String) -> Int {
            let text = (try? curl(["http://127.0.0.1:\(admin)/metrics"]).output) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
        }
        let written = #"skiff_access_log_lines_total{path="\#(path)"}"#
        let lost = #"skiff_access_log_dropped_total{path="\#(path)",reason="write_error"}"#
        #expect(waitUntil(seconds: 10) { metric(written) + metric(lost) == total }, "\(metric(written)) + \(metric(lost))")
        #expect(metric(lost) > 0 && metric(written) > 0)
        #expect(metric(#"skiff_access_log_dropped_total{path="\#(path)",reason="buffer_full"}"#) == 0)
        // The file holds exactly the lines counted written (a cut line at the limit is not one).
        let lines = S.lines(path)
        #expect(lines.count >= metric(written) && lines.count <= metric(written) + 1)
        var st = stat()
        #expect(stat(path, &st) == 0 && Int(st.st_size) <= limit)
        // One error line for the burst, not one per line.
        let said = p.output.components(separatedBy: "write failed: File too large").count - 1
        #expect(said == 1, "\(p.output)")
    }

    @Test func reloadChangesAccessLogsInPlace() throws {
        let web = try HTTPTestServer(name: "web")
        defer { web.stop() }
        let dir = makeTempDirectory("al-reload")
        defer { removeTree(dir) }
        let first = dir + "/first.log"
        let second = dir + "/second.log"
        let port = freePort()
        func config(_ path: String, _ tag: String, routePrefix: String = "/api/") -> String {
            S.httpConfig(
                listeners: [
                    S.httpListener(
                        "np", port: port, model: "netpoll",
                        accessLogs: #"[{"log_path":"\#(path)","log_format":"\#(tag) %REQ(:PATH)% %response_code%"}]"#)
                ], web: web.port
            ).replacing(#""prefix":"/api/""#, with: #""prefix":"\#(routePrefix)""#)
        }
        let (p, sock) = try S.start(config(first, "v1"), dir: dir)
        defer { p.stop() }
        // One keep-alive connection throughout: the listener is re-routed in place, never replaced.
        let c = try S.KeepAlive(port: port)
        for _ in 0..<3 { #expect(try c.get("/api/a").status == 200) }
        #expect(S.waitForLines(first, count: 3) == Array(repeating: "v1 /api/a 200", count: 3))

        S.rewrite(config(second, "v2"), dir: dir)
        let r1 = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(r1.status == 0 && r1.output.contains("listener np: access logs updated (\(second))"), "\(r1.output)")
        #expect(!r1.output.contains("replaced"), "\(r1.output)")
        for _ in 0..<3 { #expect(try c.get("/api/b").status == 200) }
        #expect(S.waitForLines(second, count: 3) == Array(repeating: "v2 /api/b 200", count: 3))

        // A reload that leaves the access logs alone (routes change) keeps logging where it was.
        S.rewrite(config(second, "v2", routePrefix: "/web/"), dir: dir)
        let r2 = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(r2.status == 0 && r2.output.contains("routes updated") && !r2.output.contains("access logs"), "\(r2.output)")
        #expect(try c.get("/web/c").status == 200)
        #expect(try c.get("/api/c").status == 404)
        #expect(
            S.waitForLines(second, count: 5)
                == Array(repeating: "v2 /api/b 200", count: 3) + ["v2 /web/c 200", "v2 /api/c 404"])
        #expect(S.lines(first).count == 3)

        // A reload that refuses a bad format changes nothing.
        S.rewrite(config(second, "v3 %nope%"), dir: dir)
        let r3 = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(r3.status != 0 && r3.output.contains("log_format: unknown variable %nope%"), "\(r3.output)")
        #expect(try c.get("/web/d").status == 200)
        #expect(S.waitForLines(second, count: 6).last == "v2 /web/d 200")
    }

    @Test func validateRefusesABadFormatWithItsPath() throws {
        let dir = makeTempDirectory("al-validate")
        defer { removeTree(dir) }
        let config = S.httpConfig(
            listeners: [
                S.httpListener(
                    "np", port: 1, model: "netpoll", accessLogs: #"[{"log_path":"/tmp/x.log","log_format":"%foo%"}]"#)
            ], web: 2)
        mkdir(dir + "/conf", 0o755)
        S.rewrite(config, dir: dir)
        let r = try SkiffProcess.run(["validate", "-c", dir + "/conf/skiff.json"])
        #expect(r.status != 0)
        #expect(r.output.contains("servers[0].listeners[0].access_logs[0].log_format: unknown variable %foo%"), "\(r.output)")
    }
}
