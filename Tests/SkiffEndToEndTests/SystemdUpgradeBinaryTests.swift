import Glibc
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// A binary upgrade as systemd would see it, as far as a container allows (no systemd runs here; a test
/// `NOTIFY_SOCKET` stands in, with each message's sender pid as systemd reads it): SIGUSR2 makes skiff start the
/// installed binary as its child with `--upgrade`; the child says `MAINPID=` itself before the old process stops,
/// then `READY=1`, and takes over the watchdog; the old process drains and exits without a `STOPPING=1` (which
/// systemd would take as the service stopping). No connection is refused or fails meanwhile. A successor that cannot
/// start is reported and the old process serves on.
@Suite(.serialized) struct SystemdUpgradeBinaryTests {
    private func config(port: Int, backend: Int) -> String {
        """
        {"servers": [{"listeners": [{"name": "web", "address": "127.0.0.1:\(port)",
          "filter_chains": [{"filters": [{"type": "proxy", "config": {"downstream_protocol": "Http1",
            "upstream_protocol": "Http1", "router_config_name": "r"}}]}]}],
          "routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
            "routers": [{"match": {"prefix": "/"}, "route": {"cluster_name": "c"}}]}]}]}],
         "cluster_manager": {"clusters": [{"name": "c", "hosts": [{"address": "127.0.0.1:\(backend)"}]}]}}
        """
    }

    /// A process this test did not start itself but caused (the successor) is gone or a zombie.
    private func gone(_ pid: Int32) -> Bool {
        if kill(pid, 0) != 0 { return true }
        let stat = String(decoding: (try? readFile("/proc/\(pid)/stat")) ?? [], as: UTF8.self)
        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }

    @Test func sigusr2HandsTheServiceToTheNewProcessWithoutAGap() throws {
        let notify = try NotifySocket()
        let backend = try HTTPTestServer(name: "a")
        defer { backend.stop() }
        let port = freePort()
        let dir = makeTempDirectory("sd-upgrade")
        defer { removeTree(dir) }
        let path = dir + "/sidecar.json"
        try overwrite(path, config(port: port, backend: backend.port))
        let pidPath = dir + "/skiff.pid"
        let sock = dir + "/skiff.sock"
        let old = try SkiffProcess(
            ["start", "-c", path, "--control-socket", sock, "--pid-file", pidPath],
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "300000"])
        defer { old.stop() }
        #expect(notify.waitFor { _ in notify.messages(from: old.pid).contains { $0.hasPrefix("READY=1") } },
                "\(notify.messages)\n\(old.output)")

        let loops = (0..<2).map { _ in ConnectLoop() }
        for c in loops { try NetThread.start(name: "connect-loop", stackSize: 1 << 20) { c.run(port: port, path: "/u") } }
        #expect(waitUntil(seconds: 10) { backend.count(path: "/u") > 50 })

        old.signal(SIGUSR2)
        // The successor names itself the main process, then is ready; the old one exits 0.
        var successor: Int32 = 0
        #expect(notify.waitFor(seconds: 30) { m in
            guard let line = m.lazy.flatMap({ $0.split(separator: "\n") }).first(where: { $0.hasPrefix("MAINPID=") })
            else { return false }
            successor = Int32(line.dropFirst("MAINPID=".count)) ?? 0
            return true
        }, "\(notify.messages)\n\(old.output)")
        #expect(successor != 0 && successor != old.pid)
        defer { if successor > 0 && !gone(successor) { kill(successor, SIGKILL) } }
        #expect(notify.messages(from: successor).first?.hasPrefix("MAINPID=\(successor)") == true, "sent by itself")
        #expect(notify.waitFor { _ in notify.messages(from: successor).contains { $0.hasPrefix("READY=1") } },
                "\(notify.messages)")
        #expect(old.waitForExit(seconds: 20) == 0, "\(old.output)")
        #expect(old.output.contains("SIGUSR2: binary upgrade: started"), "\(old.output)")
        // The old process fell silent at the handover: no STOPPING=1 from it, ever, and no watchdog ping after the
        // successor became the main process.
        #expect(!notify.messages(from: old.pid).contains { $0.hasPrefix("STOPPING=1") }, "\(notify.messages)")
        let handover = notify.messages.firstIndex { $0.hasPrefix("MAINPID=") } ?? 0
        let oldAfter = zip(notify.messages, notify.senders).dropFirst(handover).filter { $0.1 == old.pid }
        #expect(oldAfter.isEmpty, "\(oldAfter.map(\.0))")
        // The successor pings the watchdog (WATCHDOG_PID, if systemd had set it, named the old pid).
        #expect(notify.waitFor { _ in notify.messages(from: successor).filter { $0 == "WATCHDOG=1" }.count >= 2 },
                "\(notify.messages)")

        let atExit = loops.ok
        #expect(waitUntil(seconds: 10) { loops.ok > atExit + 50 })
        #expect(loops.stopAll())
        #expect(loops.failures.none, "\(loops.failures.summary)")

        // The successor owns the pid file and the control socket, and stops as the service: STOPPING=1 from it.
        #expect(String(decoding: try readFile(pidPath), as: UTF8.self) == "\(successor)\n")
        let hosts = try SkiffProcess.run(["ctl", "hosts", "--socket", sock])
        #expect(hosts.status == 0, "\(hosts.output)")
        kill(successor, SIGTERM)
        #expect(notify.waitFor { _ in notify.messages(from: successor).contains { $0.hasPrefix("STOPPING=1") } },
                "\(notify.messages)")
        #expect(waitUntil(seconds: 20) { gone(successor) })
    }

    @Test func aSuccessorThatCannotStartLeavesTheOldProcessServing() throws {
        let notify = try NotifySocket()
        let backend = try HTTPTestServer(name: "a")
        defer { backend.stop() }
        let port = freePort()
        let dir = makeTempDirectory("sd-upgrade-bad")
        defer { removeTree(dir) }
        let path = dir + "/sidecar.json"
        try overwrite(path, config(port: port, backend: backend.port))
        let old = try SkiffProcess(
            ["start", "-c", path, "--control-socket", dir + "/skiff.sock"], environment: ["NOTIFY_SOCKET": notify.path])
        defer { old.stop() }
        #expect(notify.waitFor { $0.contains { $0.hasPrefix("READY=1") } }, "\(old.output)")

        try overwrite(path, #"{"servers": [{"listeners": [{"name": "web", "bogus": 1}]}]}"#)
        old.signal(SIGUSR2)
        #expect(old.waitForOutput("before taking over; this process serves on"), "\(old.output)")
        #expect(old.output.contains("exited with status 1"), "\(old.output)")
        #expect(!notify.messages.contains { $0.hasPrefix("MAINPID=") }, "\(notify.messages)")
        let get = try SkiffProcess.runCommand("curl", ["-s", "-m", "5", "http://127.0.0.1:\(port)/x"])
        #expect(get.output == "a /x", "\(get.output)")
        // Another try once the file is fixed is not refused as "under way".
        old.signal(SIGUSR2)
        #expect(waitUntil(seconds: 10) { old.output.components(separatedBy: "binary upgrade failed").count == 3 })
        #expect(!old.output.contains("already under way"), "\(old.output)")
        #expect(old.stop() == 0)
        #expect(notify.waitFor { $0.contains { $0.hasPrefix("STOPPING=1") } }, "not handed over: it still speaks")
    }
}
