import Glibc
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

extension String {
    /// The text without its last `}` (to append members to a JSON object written as text).
    func trimmingSuffixBrace() -> Substring {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        if s.last == "}" { s = s.dropLast() }
        return s
    }
}

@Suite(.serialized) struct UpgradeBinaryTests {
    /// A second skiff started with --upgrade takes both listening sockets (netpoll and rwloop) over the control
    /// socket while connect loops run: zero refused or failed connections; the old process drains and exits 0; the
    /// new one owns the pid file and the control socket path, and serves on.
    @Test func hotUpgradeUnderAConnectLoopRefusesNothing() throws {
        let a = try HTTPTestServer(name: "a")
        defer { a.stop() }
        let np = freePort()
        let rw = freePort()
        let tag = "\(getpid())-\(np)"
        let sock = "/tmp/skiff-test-\(tag)-upgrade.sock"
        let pidPath = "/tmp/skiff-test-\(tag)-upgrade.pid"
        defer { unlink(pidPath) }
        let path = try writeTempFile(ReloadBinaryTests.config(netpoll: np, rwloop: rw, hosts: [(a.port, 1)]))
        defer { unlink(path) }
        let old = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--pid-file", pidPath])
        defer { old.stop() }
        #expect(old.waitForOutput("started"), "\(old.output)")

        let loops = (0..<4).map { _ in ConnectLoop() }
        for (i, c) in loops.enumerated() {
            let port = i % 2 == 0 ? np : rw
            try NetThread.start(name: "connect-loop", stackSize: 1 << 20) { c.run(port: port, path: "/u") }
        }
        #expect(waitUntil(seconds: 10) { a.count(path: "/u") > 100 })

        let new = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--pid-file", pidPath, "--upgrade"])
        defer { new.stop() }
        #expect(new.waitForOutput("took over 2 listening sockets from pid \(old.pid)"), "\(new.output)")
        #expect(old.waitForExit(seconds: 15) == 0, "\(old.output)")
        #expect(old.output.contains("handing 2 listening sockets to pid \(new.pid)"), "\(old.output)")
        let atExit = loops.ok
        #expect(waitUntil(seconds: 10) { loops.ok > atExit + 200 })

        #expect(loops.stopAll())
        #expect(loops.failures.none, "\(loops.failures.summary)")
        print("hot upgrade under a connect loop: \(loops.failures.summary)")

        #expect(String(decoding: try readFile(pidPath), as: UTF8.self) == "\(new.pid)\n")
        let stats = try SkiffProcess.run(["ctl", "events", "--kind", "engine.start", "--socket", sock])
        #expect(stats.status == 0, "\(stats.output)")
        #expect(new.stop() == 0, "\(new.output)")
        #expect(access(pidPath, F_OK) != 0)
        #expect(access(sock, F_OK) != 0)
    }

    /// A reload racing a binary upgrade (SIGHUP to the pid in the pid file, `skiff reload` on the socket), while the
    /// config flips between two versions (the second adds a listener) and connect loops run on both thread models:
    /// nothing refused or failed, the admin API (handed over, not shared with SO_REUSEPORT) answers throughout, the
    /// old process exits 0, and once the race is over the new one reloads the second version and serves its new
    /// listener.
    @Test func hotUpgradeWithRacingReloadsLosesNothing() throws {
        let a = try HTTPTestServer(name: "a")
        defer { a.stop() }
        let np = freePort()
        let rw = freePort()
        let extra = freePort()
        let admin = freePort()
        let tag = "\(getpid())-\(np)"
        let sock = "/tmp/skiff-test-\(tag)-race.sock"
        let pidPath = "/tmp/skiff-test-\(tag)-race.pid"
        defer { unlink(pidPath) }
        @Sendable func version(_ withExtra: Bool) -> String {
            let text = ReloadBinaryTests.config(
                netpoll: np, rwloop: rw, extraListener: withExtra ? extra : nil, hosts: [(a.port, 1)])
            let adminBlock = #","admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\#(admin)}}}}"#
            return String(text.trimmingSuffixBrace()) + adminBlock
        }
        let path = try writeTempFile(version(false))
        defer { unlink(path) }
        let old = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--pid-file", pidPath])
        defer { old.stop() }
        #expect(old.waitForOutput("started"), "\(old.output)")

        let loops = (0..<4).map { _ in ConnectLoop() }
        for (i, c) in loops.enumerated() {
            try NetThread.start(name: "connect-loop", stackSize: 1 << 20) { c.run(port: i % 2 == 0 ? np : rw, path: "/u") }
        }
        let adminLoop = ConnectLoop()
        try NetThread.start(name: "admin-loop", stackSize: 1 << 20) { adminLoop.run(port: admin, path: "/api/v1/stats") }
        #expect(waitUntil(seconds: 10) { a.count(path: "/u") > 100 })

        // The racer: flip the file, SIGHUP whoever the pid file names, `skiff reload` whoever the socket reaches.
        let racing = Atomic<Bool>(true)
        let racerDone = Atomic<Bool>(false)
        let rounds = Atomic<Int>(0)
        try NetThread.start(name: "racer", stackSize: 1 << 20) {
            var flip = false
            while racing.load(ordering: .relaxed) {
                rounds.wrappingAdd(1, ordering: .relaxed)
                flip.toggle()
                // Written beside and renamed over, as an editor or a deployment tool does: never half a file.
                if (try? overwrite(path + ".next", version(flip))) != nil { rename(path + ".next", path) }
                if let text = try? readFile(pidPath), let pid = Int32(String(decoding: text, as: UTF8.self).filter(\.isNumber)) {
                    kill(pid, SIGHUP)
                }
                _ = try? SkiffProcess.run(["reload", "--socket", sock], timeoutSeconds: 20)
            }
            racerDone.store(true, ordering: .relaxed)
        }
        #expect(waitUntil(seconds: 20) { rounds.load(ordering: .relaxed) >= 3 })
        let new = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--pid-file", pidPath, "--upgrade"])
        defer { new.stop() }
        #expect(new.waitForOutput("took over"), "\(new.output)")
        #expect(old.waitForExit(seconds: 20) == 0, "\(old.output)")
        // A few more rounds against the new process alone.
        let afterExit = rounds.load(ordering: .relaxed)
        #expect(waitUntil(seconds: 20) { rounds.load(ordering: .relaxed) >= afterExit + 3 })
        racing.store(false, ordering: .relaxed)
        #expect(waitUntil(seconds: 30) { racerDone.load(ordering: .relaxed) })
        #expect(!new.hasExited, "\(new.output)")
        let atEnd = loops.reduce(0) { $0 + $1.ok.load(ordering: .relaxed) }
        #expect(waitUntil(seconds: 10) { loops.reduce(0) { $0 + $1.ok.load(ordering: .relaxed) } > atEnd + 100 })
        for c in loops + [adminLoop] { c.stop.store(true, ordering: .relaxed) }
        #expect(waitUntil(seconds: 10) { (loops + [adminLoop]).allSatisfy { $0.finished.load(ordering: .relaxed) } })
        for (name, c) in [("proxy", loops), ("admin", [adminLoop])] {
            let refused = c.reduce(0) { $0 + $1.refused.load(ordering: .relaxed) }
            let errors = c.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }
            let ok = c.reduce(0) { $0 + $1.ok.load(ordering: .relaxed) }
            let first = c.compactMap { $0.firstError.withLock { $0 } }.first ?? ""
            #expect(refused == 0 && errors == 0, "\(name): \(refused) refused, \(errors) failed of \(ok); first: \(first)")
            print("hot upgrade with racing reloads, \(name): \(ok) connections, \(refused) refused, \(errors) failed")
        }
        #expect(!new.output.contains("already in use"), "\(new.output)")

        try overwrite(path, version(true))
        let reload = try SkiffProcess.run(["reload", "--socket", sock], timeoutSeconds: 20)
        #expect(reload.status == 0, "\(reload.output)")
        #expect(waitUntil(seconds: 5) { (try? curl(["http://127.0.0.1:\(extra)/x"]))?.output == "a /x" })
        #expect(String(decoding: try readFile(pidPath), as: UTF8.self) == "\(new.pid)\n")
        #expect(new.stop() == 0, "\(new.output)")
    }

    /// While a new process holds the sockets it took (`upgrade.listeners`) and has not yet asked for `stop`, the old
    /// one refuses reloads: a listener it added then would be nobody's once it drains. Before, the reload went
    /// through. Once the taker is gone, reloads work again.
    @Test func reloadIsRefusedWhileTheSocketsAreHandedOver() throws {
        let a = try HTTPTestServer(name: "a")
        defer { a.stop() }
        let np = freePort()
        let rw = freePort()
        let extra = freePort()
        let admin = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np)-handing.sock"
        @Sendable func version(_ withExtra: Bool) -> String {
            let text = ReloadBinaryTests.config(
                netpoll: np, rwloop: rw, extraListener: withExtra ? extra : nil, hosts: [(a.port, 1)])
            let adminBlock = #","admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\#(admin)}}}}"#
            return String(text.trimmingSuffixBrace()) + adminBlock
        }
        let path = try writeTempFile(version(false))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let (taker, script) = try startPython(
            """
            import socket, sys, time
            c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])
            c.sendall(b'{"id":1,"cmd":"upgrade.listeners"}\\n')
            msg, fds, flags, addr = socket.recv_fds(c, 65536, 16)
            print("took", len(fds), flush=True)
            sys.stdin.read() if False else time.sleep(8)
            """, [sock])
        defer {
            taker.kill()
            unlink(script)
        }
        #expect(taker.waitForOutput("took 3"), "two listeners and the admin API: \(taker.output)")
        // What was handed over were copies: this process still serves its admin API and listeners itself.
        for _ in 0..<5 {
            #expect(try adminRequest(admin, "GET", "/api/v1/stats").status == 200)
            #expect(try curl(["http://127.0.0.1:\(rw)/mine"]).output == "a /mine")
        }
        try overwrite(path, version(true))
        let refused = try SkiffProcess.run(["reload", "--socket", sock], timeoutSeconds: 20)
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("a binary upgrade to pid \(taker.pid) is under way"), "\(refused.output)")
        p.signal(SIGHUP)
        #expect(p.waitForOutput("SIGHUP: reload refused, the running config stays: a binary upgrade"), "\(p.output)")
        #expect((try? TestSocket.connect(port: extra, timeoutSeconds: 1)) == nil)
        #expect(try curl(["http://127.0.0.1:\(np)/still"]).output == "a /still")

        taker.kill()
        #expect(taker.waitForExit(seconds: 5) != nil)
        let again = try SkiffProcess.run(["reload", "--socket", sock], timeoutSeconds: 20)
        #expect(again.status == 0, "\(again.output)")
        #expect(try curl(["http://127.0.0.1:\(extra)/now"]).output == "a /now")
        #expect(p.stop() == 0, "\(p.output)")
    }

    /// `stop` (what the new process of an upgrade sends) stops accepting before it answers, so the new process may
    /// bind what its config adds at once. Before, the old one accepted for 200 ms more.
    @Test func stopHasStoppedAcceptingWhenItAnswers() throws {
        let a = try HTTPTestServer(name: "a")
        defer { a.stop() }
        let np = freePort()
        let rw = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np)-stopfirst.sock"
        let path = try writeTempFile(ReloadBinaryTests.config(netpoll: np, rwloop: rw, hosts: [(a.port, 1)]))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let c = try ControlLineClient(path: sock)
        c.send(#"{"id":1,"cmd":"stop"}"#)
        #expect(try c.line()["stopping"]?.boolValue == true)
        usleep(20_000)
        #expect((try? TestSocket.connect(port: np, timeoutSeconds: 1)) == nil, "netpoll listener still accepting")
        #expect((try? TestSocket.connect(port: rw, timeoutSeconds: 1)) == nil, "rwloop listener still accepting")
        #expect(p.waitForExit(seconds: 10) == 0, "\(p.output)")
    }

    /// --upgrade with nothing running on the control socket: one clear line, exit 1, nothing listens.
    @Test func upgradeWithoutARunningSkiffIsRefused() throws {
        let np = freePort()
        let path = try writeTempFile(ReloadBinaryTests.config(netpoll: np, rwloop: freePort(), hosts: [(1, 1)]))
        defer { unlink(path) }
        let r = try SkiffProcess.run(
            ["start", "-c", path, "--control-socket", "/tmp/skiff-test-\(getpid())-none.sock", "--upgrade"])
        #expect(r.status == 1)
        #expect(r.output.contains("error: --upgrade: cannot reach skiff at"), "\(r.output)")
        #expect((try? TestSocket.connect(port: np, timeoutSeconds: 1)) == nil)
    }
}
