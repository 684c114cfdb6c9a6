import Glibc
import SkiffTestSupport
import Testing

/// The server's lifecycle state and its count of background errors, where an operator looks: `skiff ctl stats`
/// (table and JSON), `/metrics`, and the `server.state` events.
@Suite(.serialized) struct RuntimeBinaryTests {
    @Test func stateAndEngineErrorsAreShown() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let port = freePort()
        let admin = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-runtime-\(port).sock"
        let path = try writeTempFile(
            controlTestConfig(port: port, backend: backend.port, admin: (host: "127.0.0.1", port: admin, token: nil)))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(p.output.contains("state starting -> running"), "\(p.output)")
        let table = try SkiffProcess.run(["ctl", "stats", "--socket", sock])
        #expect(
            table.status == 0 && table.output.split(separator: "\n").first?.hasSuffix("  running") == true,
            "\(table.output)")
        let json = try SkiffProcess.run(["ctl", "stats", "--socket", sock, "--json"])
        #expect(json.output.contains(#""server":{"state":"running","engine_errors":0}"#), "\(json.output)")
        let metrics = try curl(["-s", "http://127.0.0.1:\(admin)/metrics"])
        #expect(metrics.output.contains("\nskiff_engine_errors_total 0\n"), "\(metrics.output)")
        let reload = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(reload.status == 0, "\(reload.output)")
        let events = try SkiffProcess.run(["ctl", "events", "--socket", sock, "--json"])
        #expect(events.output.contains(#""from":"running","to":"reloading""#), "\(events.output)")
        #expect(events.output.contains(#""from":"reloading","to":"running""#), "\(events.output)")
        #expect(p.stop() == 0)
        #expect(p.output.contains("state draining -> stopped"), "\(p.output)")
    }
}
