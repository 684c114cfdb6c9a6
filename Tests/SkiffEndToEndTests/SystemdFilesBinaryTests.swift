import Glibc
import SkiffTestSupport
import Testing

/// The files shipped for systemd and logrotate: `configs/skiff.service` passes `systemd-analyze verify` and is a
/// hardened `Type=notify` unit; `configs/logrotate/skiff`, run by logrotate against a running skiff, rotates the log
/// and skiff writes on in the new file (SIGUSR1 through the pid file).
@Suite(.serialized) struct SystemdFilesBinaryTests {
    @Test(.enabled(if: access("/usr/bin/systemd-analyze", X_OK) == 0, "no systemd-analyze (Debian systemd)"))
    func unitVerifiesAndIsAHardenedNotifyUnit() throws {
        let unit = String(decoding: try readFile(SkiffProcess.packageRoot + "/configs/skiff.service"), as: UTF8.self)
        let lines = Set(unit.split(separator: "\n").map(String.init))
        for setting in [
            "Type=notify", "User=skiff", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes", "ProtectSystem=strict",
            "RuntimeDirectory=skiff", "LogsDirectory=skiff", "WatchdogSec=30s",
            "NotifyAccess=all",  // a binary upgrade's successor says MAINPID= before it is the main process
        ] {
            #expect(lines.contains(setting), "\(setting)")
        }
        let dir = makeTempDirectory("unit")
        defer { removeTree(dir) }
        let path = dir + "/skiff.service"
        try overwrite(path, unit.replacing("/usr/local/bin/skiff", with: SkiffProcess.binaryPath))
        let r = try SkiffProcess.runCommand("systemd-analyze", ["verify", path])
        #expect(r.status == 0 && r.output.isEmpty, "\(r.output)")
    }

    @Test(.enabled(if: access("/usr/sbin/logrotate", X_OK) == 0, "no logrotate (Debian logrotate)"))
    func logrotateRotatesAndSkiffWritesOnInTheNewFile() throws {
        let dir = makeTempDirectory("logrotate")
        defer { removeTree(dir) }
        let backend = try HTTPTestServer(name: "r")
        defer { backend.stop() }
        let port = freePort()
        let config = dir + "/sidecar.json"
        try overwrite(config, httpConfig(port: port, backend: backend.port))
        let log = dir + "/skiff.log"
        let pid = dir + "/skiff.pid"
        let p = try SkiffProcess([
            "start", "-c", config, "--log-file", log, "--pid-file", pid, "--control-socket", dir + "/s.sock",
        ])
        defer { p.stop() }
        #expect(waitUntil(seconds: 20) { (try? readFile(pid)).map { !$0.isEmpty } ?? false }, "\(p.output)")
        let shipped = String(decoding: try readFile(SkiffProcess.packageRoot + "/configs/logrotate/skiff"), as: UTF8.self)
        let conf = shipped.replacing("/var/log/skiff", with: dir).replacing("/run/skiff", with: dir)
            .replacing("create 0640 skiff skiff", with: "create 0640")
        try overwrite(dir + "/logrotate.conf", conf)
        let r = try SkiffProcess.runCommand(
            "/usr/sbin/logrotate", ["-f", "-s", dir + "/state", dir + "/logrotate.conf"])
        #expect(r.status == 0, "\(r.output)")
        #expect(access(dir + "/skiff.log.1", F_OK) == 0, "rotated")
        // SIGUSR1 reopened the log: the next line lands in the new skiff.log.
        #expect(waitUntil(seconds: 10) { String(decoding: (try? readFile(log)) ?? [], as: UTF8.self).contains("log file reopened") })
        #expect(String(decoding: try readFile(dir + "/skiff.log.1"), as: UTF8.self).contains("started"))
    }
}
