import Glibc
import SkiffJSON
import SkiffTestSupport
import Testing

/// MOSN's Envoy v3 bootstrap (issue 17's example, as written) is valid, and `skiff start` runs it: with no control
/// plane at 127.0.0.1:15010 it serves what the file has (nothing), retries with back-off, says so in
/// `skiff ctl xds`, and stops cleanly.
@Suite struct XDSBootstrapBinaryTests {
    @Test func issueExampleStartsAndWaitsForItsControlPlane() throws {
        let path = SkiffProcess.packageRoot + "/Tests/Fixtures/xds/skiff-bootstrap.json"
        let v = try SkiffProcess.run(["validate", "-c", path])
        #expect(v.status == 0, "\(v.output)")
        #expect(v.output.hasPrefix("ok"), "\(v.output)")
        let sock = "/tmp/skiff-test-\(getpid())-xds-bootstrap.sock"
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        func xds() -> JSONValue? { XDSRig.ctlXDS(socket: sock) }
        // The client's transport runs on NIO's event loop thread, which exists only in xDS mode.
        #expect(waitUntil(seconds: 10) { threadNames(p.pid).contains { $0.hasPrefix("NIO") } }, "\(threadNames(p.pid))")
        #expect(
            waitUntil(seconds: 20) {
                let x = xds()
                return x?["control_plane"]?.stringValue == "127.0.0.1:15010" && x?["connected"]?.boolValue == false
                    && !(x?["last_disconnect"]?.stringValue ?? "").isEmpty
            }, "\(p.output)")
        #expect(p.stop() == 0, "\(p.output)")
    }

    /// A file config without dynamic_resources has no control plane: `skiff ctl xds` says so, and no thread of the
    /// xDS client's transport (NIO's event loop) exists.
    @Test func ctlXDSWithoutAControlPlaneSaysSo() throws {
        let port = freePort()
        let config = """
            {"servers": [{"listeners": [{"name": "l", "address": "127.0.0.1:\(port)",
              "filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": "c"}}]}]}]}],
             "cluster_manager": {"clusters": [{"name": "c", "hosts": [{"address": "127.0.0.1:1"}]}]}}
            """
        let path = try writeTempFile(config)
        defer { unlink(path) }
        let sock = "/tmp/skiff-test-\(getpid())-noxds.sock"
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(waitUntil(seconds: 10) { (try? SkiffProcess.run(["ctl", "stats", "--socket", sock]))?.status == 0 })
        let r = try SkiffProcess.run(["ctl", "xds", "--socket", sock])
        #expect(r.status != 0 && r.output.contains("no control plane"), "\(r.output)")
        let threads = threadNames(p.pid)
        #expect(!threads.isEmpty && !threads.contains { $0.hasPrefix("NIO") }, "\(threads)")
    }
}

/// The names of a process's threads (`/proc/PID/task/*/comm`).
func threadNames(_ pid: pid_t) -> [String] {
    guard let dir = opendir("/proc/\(pid)/task") else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard Int(tid) != nil, let comm = try? readFile("/proc/\(pid)/task/\(tid)/comm") else { continue }
        names.append(String(decoding: comm, as: UTF8.self).trimmingCharacters())
    }
    return names
}
