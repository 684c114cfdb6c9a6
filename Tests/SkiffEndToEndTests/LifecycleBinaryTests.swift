import Glibc
import SkiffTestSupport
import Testing

func httpConfig(port: Int, backend: Int, graceful: String = "10s") -> String {
    """
    {"servers":[{"graceful_timeout":"\(graceful)","routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
      {"match":{"prefix":"/"},"route":{"cluster_name":"c","timeout":"10s"}}]}]}],
     "listeners":[{"name":"h","address":"127.0.0.1:\(port)",
       "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
     "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:\(backend)"}]}]}}
    """
}

@Suite(.serialized) struct LifecycleBinaryTests {
    /// SIGTERM with 20 slow requests in flight: every one completes with 200, then the process exits 0.
    @Test func sigtermFinishesInFlightRequests() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let port = freePort()
        let path = try writeTempFile(httpConfig(port: port, backend: backend.port))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let clients = try (0..<20).map { _ in
            try SkiffProcess(executable: "curl", ["-s", "-w", "|%{http_code}", "--max-time", "15", "http://127.0.0.1:\(port)/slow/2000"])
        }
        #expect(waitUntil(seconds: 5) { backend.count(path: "/slow/2000") == 20 })
        p.signal(SIGTERM)
        usleep(200_000)
        // No new connections once stopping.
        #expect((try? TestSocket.connect(port: port, timeoutSeconds: 1)) == nil)
        for c in clients {
            #expect(c.waitForExit(seconds: 15) == 0)
            #expect(c.output.hasSuffix("|200"), "\(c.output)")
        }
        #expect(p.waitForExit(seconds: 10) == 0, "\(p.output)")
        #expect(p.output.contains("waiting up to 10 s for"), "\(p.output)")
    }

    @Test func pidFileRefusesALiveOwnerAndReplacesAStaleOne() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let pidPath = "/tmp/skiff-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).pid"
        defer { unlink(pidPath) }
        // A stale file (a pid that is not running) is replaced.
        _ = try writeTempFile("")
        guard let f = fopen(pidPath, "w") else { throw TestError("pid file") }
        fputs("999999\n", f)
        fclose(f)
        let port = freePort()
        let path = try writeTempFile(httpConfig(port: port, backend: backend.port))
        defer { unlink(path) }
        let first = try SkiffProcess(["start", "-c", path, "--pid-file", pidPath])
        defer { first.stop() }
        #expect(first.waitForOutput("started"), "\(first.output)")
        #expect(String(decoding: try readFile(pidPath), as: UTF8.self) == "\(first.pid)\n")
        // A live owner: refused with one clear line.
        let second = try SkiffProcess.run(["start", "-c", path, "--pid-file", pidPath])
        #expect(second.status == 1)
        #expect(second.output.contains("already running as pid \(first.pid)"), "\(second.output)")
        #expect(first.stop() == 0)
        #expect(access(pidPath, F_OK) != 0, "the pid file is removed on exit")
    }

    @Test func logFileIsReopenedOnSIGUSR1() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let log = "/tmp/skiff-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer {
            unlink(log)
            unlink(log + ".1")
        }
        let port = freePort()
        let path = try writeTempFile(httpConfig(port: port, backend: backend.port))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--log-file", log])
        defer { p.stop() }
        #expect(waitUntil { ((try? readFile(log)).map { String(decoding: $0, as: UTF8.self) } ?? "").contains("started") })
        #expect(rename(log, log + ".1") == 0)
        p.signal(SIGUSR1)
        #expect(waitUntil { ((try? readFile(log)).map { String(decoding: $0, as: UTF8.self) } ?? "").contains("log file reopened") })
        #expect(p.stop() == 0)
        #expect(String(decoding: try readFile(log), as: UTF8.self).contains("stopped"))
    }

    /// MOSN's `default_log_path` and `default_log_level` (with no flags): logs go to that file from that level; a
    /// `--log-level` flag wins over the config.
    @Test func mosnsDefaultLogKeysPlaceTheLog() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let log = "/tmp/skiff-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(log) }
        let port = freePort()
        let config = httpConfig(port: port, backend: backend.port).replacingOccurrences(
            of: #"{"servers":[{"#, with: #"{"servers":[{"default_log_path":"\#(log)","default_log_level":"WARN","#)
        let path = try writeTempFile(config)
        defer { unlink(path) }
        let text = { ((try? readFile(log)).map { String(decoding: $0, as: UTF8.self) } ?? "") }
        // WARN from the config: the info line "started" is not written; the file exists (opened at start).
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(waitUntil(seconds: 10) { (try? TestSocket.connect(port: port)) != nil })
        #expect(p.stop() == 0)
        #expect(access(log, F_OK) == 0)
        #expect(!text().contains("started"))
        #expect(!p.output.contains("started"), "nothing on stderr once the config names a file")
        // The flag wins over the config's level: the info lines are in the config's file.
        let q = try SkiffProcess(["start", "-c", path, "--log-level", "info"])
        defer { q.stop() }
        #expect(waitUntil { text().contains("started") }, "\(q.output)")
        #expect(q.stop() == 0)
    }

    @Test func skiffStopWaitsForTheProcess() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let port = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-stop-\(port).sock"
        let path = try writeTempFile(httpConfig(port: port, backend: backend.port))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let r = try SkiffProcess.run(["stop", "--wait", "--socket", sock], timeoutSeconds: 30)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("stopped"))
        #expect(p.waitForExit(seconds: 5) == 0)
    }

    /// --daemonize: the launcher returns at once; the daemon serves, writes its pid file and stops on `skiff stop`.
    @Test func daemonizeDetachesAndStopsOnRequest() throws {
        let backend = try HTTPTestServer(name: "d")
        defer { backend.stop() }
        let port = freePort()
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let sock = "/tmp/skiff-test-\(tag).sock"
        let pidPath = "/tmp/skiff-test-\(tag).pid"
        let log = "/tmp/skiff-test-\(tag).log"
        defer {
            unlink(log)
            unlink(pidPath)
        }
        let path = try writeTempFile(httpConfig(port: port, backend: backend.port))
        defer { unlink(path) }
        let r = try SkiffProcess.run([
            "start", "-c", path, "--daemonize", "--pid-file", pidPath, "--log-file", log, "--control-socket", sock,
        ])
        #expect(r.status == 0, "\(r.output)")
        #expect(waitUntil(seconds: 10) { access(pidPath, F_OK) == 0 && (try? curl(["-s", "http://127.0.0.1:\(port)/up"]).output) == "d /up" })
        let daemonPID = Int32(String(decoding: try readFile(pidPath), as: UTF8.self).filter { $0.isNumber }) ?? 0
        #expect(daemonPID > 0 && kill(daemonPID, 0) == 0)
        let stop = try SkiffProcess.run(["stop", "--wait", "--socket", sock], timeoutSeconds: 30)
        #expect(stop.status == 0, "\(stop.output)")
        #expect(waitUntil(seconds: 5) { kill(daemonPID, 0) != 0 })
    }
}

/// --daemonize when the daemon cannot start: the launcher prints why and exits 1 in the foreground (issue 13).
@Suite(.serialized) struct DaemonizeFailureTests {
    /// A bad config: every error printed, exit 1, before forking (no log file, no pid file, nothing running).
    @Test func badConfigIsReportedBeforeForking() throws {
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let log = "/tmp/skiff-test-\(tag)-bad.log"
        let pidPath = "/tmp/skiff-test-\(tag)-bad.pid"
        let path = try writeTempFile(#"{"servers":[{"listeners":[{"name":"a","address":"127.0.0.1:99999"}]}],"cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:1","weight":0}]}]}}"#)
        defer { unlink(path) }
        let r = try SkiffProcess.run(
            ["start", "-c", path, "--daemonize", "--log-file", log, "--pid-file", pidPath], timeoutSeconds: 20)
        #expect(r.status == 1, "\(r.output)")
        #expect(r.output.contains("error: servers[0].listeners[0].address: port 99999 out of range (0-65535)"), "\(r.output)")
        #expect(r.output.contains("error: cluster_manager.clusters[0].hosts[0].weight: 0 out of range (1-128)"), "\(r.output)")
        #expect(access(log, F_OK) != 0 && access(pidPath, F_OK) != 0)
    }

    /// A port another program holds: the daemon's error reaches the launcher's terminal and the launcher exits 1.
    /// Before, the launcher exited 0 at once and the daemon died unseen.
    @Test func startFailureAfterForkingReachesTheLauncher() throws {
        let holder = DeadPort()  // bound, so nobody else may bind it
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let log = "/tmp/skiff-test-\(tag)-busy.log"
        let pidPath = "/tmp/skiff-test-\(tag)-busy.pid"
        defer { unlink(log) }
        let path = try writeTempFile(httpConfig(port: holder.port, backend: freePort()))
        defer { unlink(path) }
        let r = try SkiffProcess.run(
            ["start", "-c", path, "--daemonize", "--log-file", log, "--pid-file", pidPath], timeoutSeconds: 30)
        #expect(r.status == 1, "\(r.output)")
        #expect(r.output.contains("cannot listen on 127.0.0.1:\(holder.port)"), "\(r.output)")
        #expect(waitUntil(seconds: 5) { access(pidPath, F_OK) != 0 }, "the daemon is gone and took its pid file")
    }
}

/// configs/skiff.service as systemd would run it: its ExecStartPre, ExecStart, ExecReload and ExecStop lines, with
/// the binary, config and /run, /var/log paths pointed at temporary ones.
@Suite struct SystemdUnitTests {
    @Test func unitCommandsWorkAsWritten() throws {
        let backend = try HTTPTestServer(name: "u")
        defer { backend.stop() }
        let unit = String(decoding: try readFile(SkiffProcess.packageRoot + "/configs/skiff.service"), as: UTF8.self)
        let dir = "/tmp/skiff-unit-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(dir, 0o700)
        mkdir(dir + "/run", 0o700)
        mkdir(dir + "/log", 0o700)
        defer { _ = try? SkiffProcess.runCommand("/bin/rm", ["-rf", dir]) }
        let port = freePort()
        let config = dir + "/sidecar.json"
        try overwrite(config, httpConfig(port: port, backend: backend.port))
        func command(_ key: String) throws -> [String] {
            guard let line = unit.split(separator: "\n").first(where: { $0.hasPrefix(key + "=") }) else {
                throw TestError("no \(key) in the unit")
            }
            let text = String(line.dropFirst(key.count + 1))
                .replacing("/usr/local/bin/skiff", with: SkiffProcess.binaryPath)
                .replacing("/etc/skiff/sidecar.json", with: config)
                .replacing("/run/skiff", with: dir + "/run")
                .replacing("/var/log/skiff", with: dir + "/log")
            return text.split(separator: " ").map(String.init)
        }
        let pre = try command("ExecStartPre")
        #expect(try SkiffProcess.runCommand(pre[0], Array(pre.dropFirst())).status == 0)
        let start = try command("ExecStart")
        let p = try SkiffProcess(executable: start[0], Array(start.dropFirst()))
        defer { p.stop() }
        #expect(waitUntil(seconds: 20) { (try? curl(["-s", "http://127.0.0.1:\(port)/a"]).output) == "u /a" })
        #expect(String(decoding: try readFile(dir + "/run/skiff.pid"), as: UTF8.self) == "\(p.pid)\n")
        try overwrite(config, httpConfig(port: port, backend: backend.port, graceful: "5s"))
        let reload = try command("ExecReload")
        let r = try SkiffProcess.runCommand(reload[0], Array(reload.dropFirst()))
        #expect(r.status == 0 && r.output.contains("reloaded"), "\(r.output)")
        let stop = try command("ExecStop")
        let s = try SkiffProcess.runCommand(stop[0], Array(stop.dropFirst()), timeoutSeconds: 30)
        #expect(s.status == 0 && s.output.contains("stopped"), "\(s.output)")
        #expect(p.waitForExit(seconds: 5) == 0)
        #expect(String(decoding: try readFile(dir + "/log/skiff.log"), as: UTF8.self).contains("reloaded"))
    }
}

/// A response with `Connection: close` ends the connection on both sides once the client closes: the proxy keeps
/// reading after its half-close, so the client's EOF is seen and the descriptor freed (it was leaked once: a churn
/// benchmark ran the process out of descriptors).
@Suite struct ConnectionCloseTests {
    static func openFDs(_ pid: Int32) -> Int {
        guard let d = opendir("/proc/\(pid)/fd") else { return -1 }
        defer { closedir(d) }
        var n = 0
        while readdir(d) != nil { n += 1 }
        return n
    }

    @Test func closedConnectionsFreeTheirDescriptors() throws {
        let backend = try HTTPTestServer(name: "c")
        defer { backend.stop() }
        let port = freePort()
        let path = try writeTempFile(httpConfig(port: port, backend: backend.port))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        _ = try rawExchange(port: port, Array("GET /warm HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8))
        #expect(waitUntil { Self.openFDs(p.pid) > 0 })
        let baseline = Self.openFDs(p.pid)
        for i in 0..<50 {
            let reply = try rawExchange(port: port, Array("GET /c\(i) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8))
            #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply)")
        }
        #expect(waitUntil(seconds: 5) { Self.openFDs(p.pid) <= baseline + 1 },
                "\(Self.openFDs(p.pid)) descriptors open after 50 closed connections; \(baseline) before")
    }
}
