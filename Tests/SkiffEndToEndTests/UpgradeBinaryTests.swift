import Glibc
import SkiffNet
import SkiffTestSupport
import Testing

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
        let atExit = loops.reduce(0) { $0 + $1.ok.load(ordering: .relaxed) }
        #expect(waitUntil(seconds: 10) { loops.reduce(0) { $0 + $1.ok.load(ordering: .relaxed) } > atExit + 200 })

        for c in loops { c.stop.store(true, ordering: .relaxed) }
        #expect(waitUntil(seconds: 10) { loops.allSatisfy { $0.finished.load(ordering: .relaxed) } })
        let refused = loops.reduce(0) { $0 + $1.refused.load(ordering: .relaxed) }
        let errors = loops.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }
        let first = loops.compactMap { $0.firstError.withLock { $0 } }.first ?? ""
        let ok = loops.reduce(0) { $0 + $1.ok.load(ordering: .relaxed) }
        #expect(refused == 0 && errors == 0, "\(refused) refused, \(errors) failed of \(ok); first: \(first)")
        print("hot upgrade under a connect loop: \(ok) connections, \(refused) refused, \(errors) failed")

        #expect(String(decoding: try readFile(pidPath), as: UTF8.self) == "\(new.pid)\n")
        let stats = try SkiffProcess.run(["ctl", "events", "--kind", "engine.start", "--socket", sock])
        #expect(stats.status == 0, "\(stats.output)")
        #expect(new.stop() == 0, "\(new.output)")
        #expect(access(pidPath, F_OK) != 0)
        #expect(access(sock, F_OK) != 0)
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
