import Glibc
import SkiffJSON
import SkiffTestSupport
import Testing

/// A test `NOTIFY_SOCKET`: a Unix datagram socket systemd would hold, collecting what skiff sends and, as systemd
/// does (SO_PASSCRED), which pid sent it.
final class NotifySocket {
    let path: String
    private let fd: Int32
    private(set) var messages: [String] = []
    /// The sender of each message (`messages[i]` came from `senders[i]`).
    private(set) var senders: [Int32] = []

    init() throws {
        path = makeTempDirectory("notify") + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &a.sun_path) { p in for (i, b) in path.utf8.enumerated() { p[i] = b } }
        let bound = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw TestError("notify socket: errno \(errno)") }
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    /// One datagram and its sender's pid (from SCM_CREDENTIALS), waiting up to SO_RCVTIMEO.
    private func receive() -> (String, Int32)? {
        var buf = [UInt8](repeating: 0, count: 4096)
        // cmsghdr (16 bytes on 64-bit Linux) + struct ucred {pid, uid, gid}, padded.
        var control = [UInt8](repeating: 0, count: 64)
        let n = buf.withUnsafeMutableBytes { b in
            control.withUnsafeMutableBytes { c in
                var iov = iovec(iov_base: b.baseAddress, iov_len: b.count)
                return withUnsafeMutablePointer(to: &iov) { iovp in
                    var m = msghdr()
                    m.msg_iov = iovp
                    m.msg_iovlen = 1
                    m.msg_control = c.baseAddress
                    m.msg_controllen = c.count
                    return recvmsg(fd, &m, 0)
                }
            }
        }
        guard n > 0 else { return nil }
        let level = control.withUnsafeBytes { $0.load(fromByteOffset: 8, as: Int32.self) }
        let type = control.withUnsafeBytes { $0.load(fromByteOffset: 12, as: Int32.self) }
        let scmCredentials: Int32 = 2  // SCM_CREDENTIALS, which Glibc does not export to Swift
        let pid = level == SOL_SOCKET && type == scmCredentials
            ? control.withUnsafeBytes { $0.load(fromByteOffset: 16, as: Int32.self) } : 0
        return (String(decoding: buf[0..<n], as: UTF8.self), pid)
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Reads what arrived until `predicate` holds for the messages so far, or `seconds` pass.
    @discardableResult
    func waitFor(seconds: Double = 15, _ predicate: ([String]) -> Bool) -> Bool {
        waitUntil(seconds: seconds) {
            if predicate(messages) { return true }
            if let (message, pid) = receive() {
                messages.append(message)
                senders.append(pid)
            }
            return predicate(messages)
        }
    }

    /// The messages `pid` sent.
    func messages(from pid: Int32) -> [String] { zip(messages, senders).filter { $0.1 == pid }.map(\.0) }

    func count(_ key: String) -> Int { messages.filter { $0.split(separator: "\n").contains { $0 == key } }.count }
}

/// systemd's `Type=notify` protocol against a test `NOTIFY_SOCKET`: READY=1 once listeners are bound, RELOADING=1 and
/// READY=1 around a reload, STOPPING=1 on stop, WATCHDOG=1 pings when `WATCHDOG_USEC` is set; with a control plane,
/// READY=1 only once its first config is in. And the admin API's probes: `/ready`, `/healthz`, `/api/v1/version`,
/// `/server_info`.
@Suite(.serialized) struct SystemdNotifyBinaryTests {
    @Test func readyReloadingStoppingAndWatchdog() throws {
        let notify = try NotifySocket()
        let backend = try HTTPTestServer(name: "a")
        defer { backend.stop() }
        let port = freePort()
        let adminPort = freePort()
        let config = """
            {"servers": [{"listeners": [{"name": "web", "address": "127.0.0.1:\(port)",
              "filter_chains": [{"filters": [{"type": "proxy", "config": {"downstream_protocol": "Http1",
                "upstream_protocol": "Http1", "router_config_name": "r"}}]}]}],
              "routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
                "routers": [{"match": {"prefix": "/"}, "route": {"cluster_name": "c"}}]}]}]}],
             "cluster_manager": {"clusters": [{"name": "c", "hosts": [{"address": "127.0.0.1:\(backend.port)"}]}]},
             "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": \(adminPort)}}}}
            """
        let path = try writeTempFile(config)
        defer { unlink(path) }
        let sock = "/tmp/skiff-test-\(getpid())-notify.sock"
        let p = try SkiffProcess(
            ["start", "-c", path, "--control-socket", sock],
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"])
        defer { p.stop() }

        #expect(notify.waitFor { $0.contains { $0.hasPrefix("READY=1") } }, "\(notify.messages)\n\(p.output)")
        // READY means listening: the port answers at once.
        let get = try SkiffProcess.runCommand("curl", ["-s", "-m", "5", "http://127.0.0.1:\(port)/x"])
        #expect(get.output == "a /x", "\(get.output)")
        #expect(notify.waitFor { m in m.filter { $0 == "WATCHDOG=1" }.count >= 3 }, "\(notify.messages)")

        // The probes.
        func admin(_ path: String) throws -> (Int, String) {
            let r = try SkiffProcess.runCommand(
                "curl", ["-s", "-m", "5", "-w", "\n%{http_code}", "http://127.0.0.1:\(adminPort)\(path)"])
            let cut = r.output.lastIndex(of: "\n")!
            return (Int(r.output[r.output.index(after: cut)...]) ?? 0, String(r.output[..<cut]))
        }
        #expect(try admin("/ready") == (200, "LIVE\n"))
        #expect(try admin("/healthz") == (200, "ok\n"))
        let version = try JSONParser.parse(try admin("/api/v1/version").1)
        #expect(version["version"]?.stringValue?.isEmpty == false && version["build"]?.stringValue?.isEmpty == false)
        let info = try JSONParser.parse(try admin("/server_info").1)
        #expect(info["state"]?.stringValue == "running" && info["ready"]?.boolValue == true)
        #expect(info["pid"]?.int == Int(p.pid) && info["config_path"]?.stringValue == path)
        #expect(info["listeners"]?.arrayValue.first?["thread_model"]?.stringValue == "netpoll")

        // A reload: RELOADING=1 (with MONOTONIC_USEC), then READY=1 again.
        let readies = notify.count("READY=1")
        let r = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(r.status == 0, "\(r.output)")
        #expect(notify.waitFor { _ in notify.count("READY=1") > readies }, "\(notify.messages)")
        let reloading = notify.messages.first { $0.hasPrefix("RELOADING=1") }
        #expect(reloading?.contains("MONOTONIC_USEC=") == true, "\(notify.messages)")

        // A stop: STOPPING=1.
        p.signal(SIGTERM)
        #expect(notify.waitFor { $0.contains { $0.hasPrefix("STOPPING=1") } }, "\(notify.messages)")
        #expect(p.waitForExit(seconds: 20) == 0, "\(p.output)")
    }

    /// With a control plane, READY=1 waits for its first config (the listener from LDS is then bound).
    @Test func withAControlPlaneReadyWaitsForItsFirstConfig() throws {
        let notify = try NotifySocket()
        let rig = try XDSRig(admin: true, environment: ["NOTIFY_SOCKET": notify.path])
        defer { rig.stop() }
        #expect(notify.waitFor(seconds: 30) { $0.contains { $0.hasPrefix("READY=1") } }, "\(rig.diagnostics)")
        // Ready means the control plane's listener routes already.
        #expect(rig.get("/x") == "a /x 200", "\(rig.diagnostics)")
        #expect(notify.messages.first { $0.hasPrefix("READY=1") }?.contains("control plane") == true, "\(notify.messages)")
        #expect(rig.xds()?["initialized"]?.boolValue == true)
        let ready = try SkiffProcess.runCommand(
            "curl", ["-s", "-m", "5", "http://127.0.0.1:\(rig.adminPort!)/ready"])
        #expect(ready.output == "LIVE\n")
    }
}
