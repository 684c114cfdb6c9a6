import Glibc
import SkiffJSON
import SkiffTestSupport
import Testing

/// Logs as operators wire them: `--log-format json` (one object per line), the level changed at run time with
/// `skiff ctl log-level` (MOSN's names too) and MOSN's `POST /api/v1/update_loglevel`.
@Suite(.serialized) struct LogOperationsBinaryTests {
    private func start(_ extra: [String]) throws -> (SkiffProcess, sock: String, admin: Int, backend: HTTPTestServer) {
        let backend = try HTTPTestServer(name: "l")
        let port = freePort()
        let admin = freePort()
        let config = httpConfig(port: port, backend: backend.port).replacing(
            #""cluster_manager""#,
            with: #""admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": \#(admin)}}}, "cluster_manager""#)
        let path = try writeTempFile(config)
        let sock = "/tmp/skiff-test-\(getpid())-log-\(port).sock"
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock] + extra)
        #expect(waitUntil(seconds: 20) { (try? SkiffProcess.run(["ctl", "stats", "--socket", sock]))?.status == 0 }, "\(p.output)")
        return (p, sock, admin, backend)
    }

    @Test func jsonLinesParse() throws {
        let (p, sock, _, backend) = try start(["--log-format", "json"])
        defer {
            p.stop()
            backend.stop()
        }
        _ = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(p.waitForOutput("reloaded"), "\(p.output)")
        let lines = p.output.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(lines.count >= 3, "\(p.output)")
        for line in lines {
            let v = try JSONParser.parse(String(line))
            #expect(v["time"]?.stringValue?.isEmpty == false && v["level"]?.stringValue?.isEmpty == false)
            #expect(v["logger"]?.stringValue == "skiff" && v["message"]?.stringValue?.isEmpty == false, "\(line)")
        }
        #expect(lines.contains { (try? JSONParser.parse(String($0)))?["message"]?.stringValue?.hasPrefix("reloaded") == true })
    }

    @Test func levelChangesAtRunTime() throws {
        let (p, sock, admin, backend) = try start([])
        defer {
            p.stop()
            backend.stop()
        }
        // MOSN's WARN: the reload's notice line is not written any more.
        let set = try SkiffProcess.run(["ctl", "log-level", "WARN", "--socket", sock])
        #expect(set.status == 0 && set.output.contains("log level info -> warning"), "\(set.output)")
        #expect(try SkiffProcess.run(["ctl", "log-level", "--socket", sock]).output.contains("log level warning"))
        _ = try SkiffProcess.run(["reload", "--socket", sock])
        usleep(300_000)
        #expect(!p.output.contains("reloaded"), "\(p.output)")
        #expect(try SkiffProcess.run(["ctl", "log-level", "loud", "--socket", sock]).status != 0)

        // MOSN's admin call brings it back; a log_path is refused, not ignored.
        func post(_ body: String) throws -> (Int, String) {
            let r = try SkiffProcess.runCommand(
                "curl", ["-s", "-m", "5", "-w", "\n%{http_code}", "-X", "POST", "--data", body,
                         "http://127.0.0.1:\(admin)/api/v1/update_loglevel"])
            let cut = r.output.lastIndex(of: "\n")!
            return (Int(r.output[r.output.index(after: cut)...]) ?? 0, String(r.output[..<cut]))
        }
        #expect(try post(#"{"log_level":"INFO","log_path":"/var/log/x"}"#).0 == 400)
        let ok = try post(#"{"log_level":"INFO"}"#)
        #expect(ok.0 == 200 && ok.1.contains(#""level":"info""#), "\(ok)")
        _ = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(p.waitForOutput("reloaded"), "\(p.output)")
    }
}
