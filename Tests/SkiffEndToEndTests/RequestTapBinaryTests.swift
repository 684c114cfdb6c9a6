import Glibc
import SkiffTestSupport
import Testing

/// The live request tap against the real binary: `skiff ctl requests` and the console's view 9 (in tmux) show the
/// requests curl sent, with their status, path and upstream host.
@Suite(.serialized) struct RequestTapBinaryTests {
    /// A daemon with an HTTP listener on each thread model, a working cluster and one whose only host is dead.
    final class Daemon {
        let backend: HTTPTestServer
        let dead = DeadPort()
        let netpoll = freePort()
        let rwloop = freePort()
        let sock: String
        let path: String
        let skiff: SkiffProcess

        init() throws {
            backend = try HTTPTestServer(name: "b")
            sock = "/tmp/skiff-test-\(getpid())-rq-\(netpoll).sock"
            func listener(_ name: String, _ port: Int, _ model: String) -> String {
                """
                {"name":"\(name)","address":"127.0.0.1:\(port)","thread_model":"\(model)",
                 "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}
                """
            }
            let cfg = """
                {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
                  {"match":{"prefix":"/dead"},"route":{"cluster_name":"dead"}},
                  {"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]}],
                 "listeners":[\(listener("np", netpoll, "netpoll")),\(listener("rw", rwloop, "rwloop"))]}],
                 "cluster_manager":{"clusters":[
                   {"name":"c","hosts":[{"address":"127.0.0.1:\(backend.port)"}]},
                   {"name":"dead","connect_timeout":"1s","hosts":[{"address":"127.0.0.1:\(dead.port)"}]}]}}
                """
            path = try writeTempFile(cfg)
            skiff = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--publish-interval", "200"])
            guard skiff.waitForOutput("started") else { throw TestError("skiff did not start: \(skiff.output)") }
        }

        func stop() {
            _ = skiff.stop()
            backend.stop()
            unlink(path)
        }
    }

    @Test func ctlRequestsShowsStatusPathAndHostOfEachRequest() throws {
        let d = try Daemon()
        defer { d.stop() }
        let watcher = try SkiffProcess(["ctl", "--socket", d.sock, "requests", "--count", "4", "--json"])
        defer { _ = watcher.stop() }
        #expect(watcher.waitForOutput("watching requests"), "\(watcher.output)")
        #expect(try curl(["-s", "http://127.0.0.1:\(d.netpoll)/hello?x=1"]).output == "b /hello?x=1")
        _ = try curl(["-s", "-H", "Host: api.test", "http://127.0.0.1:\(d.rwloop)/status/503"])
        _ = try curl(["-s", "http://127.0.0.1:\(d.netpoll)/dead/x"])
        _ = try curl(["-s", "-X", "POST", "-d", "abcdef", "http://127.0.0.1:\(d.rwloop)/post"])
        #expect(waitUntil(seconds: 10) { watcher.hasExited }, "\(watcher.output)")
        let lines = watcher.output.split(separator: "\n").filter { $0.hasPrefix("{") }.map(String.init)
        #expect(lines.count == 4, "\(watcher.output)")
        func line(_ path: String) -> String { lines.first { $0.contains("\"path\":\"\(path)\"") } ?? "" }
        let ok = line("/hello?x=1")
        #expect(ok.contains("\"listener\":\"np\""), "\(ok)")
        #expect(ok.contains("\"method\":\"GET\""), "\(ok)")
        #expect(ok.contains("\"authority\":\"127.0.0.1:\(d.netpoll)\""), "\(ok)")
        #expect(ok.contains("\"status\":200"), "\(ok)")
        #expect(ok.contains("\"host\":\"127.0.0.1:\(d.backend.port)\""), "\(ok)")
        #expect(ok.contains("\"flags\":\"\""), "\(ok)")
        let failed = line("/status/503")
        #expect(failed.contains("\"listener\":\"rw\"") && failed.contains("\"status\":503"), "\(failed)")
        #expect(failed.contains("\"authority\":\"api.test\""), "\(failed)")
        let local = line("/dead/x")
        #expect(local.contains("\"status\":503") && local.contains("\"flags\":\"LR\""), "\(local)")
        #expect(local.contains("\"host\":\"127.0.0.1:\(d.dead.port)\""), "\(local)")
        #expect(local.contains("\"cluster\":\"dead\""), "\(local)")
        let post = line("/post")
        #expect(post.contains("\"method\":\"POST\"") && post.contains("\"bytes_in\":6"), "\(post)")

        // Text form, and nothing watched once the watcher has gone: the tap is off again.
        let text = try SkiffProcess(["ctl", "--socket", d.sock, "requests", "--count", "1"])
        defer { _ = text.stop() }
        #expect(text.waitForOutput("watching requests"), "\(text.output)")
        _ = try curl(["-s", "http://127.0.0.1:\(d.netpoll)/text-form"])
        #expect(waitUntil(seconds: 10) { text.hasExited }, "\(text.output)")
        let row = text.output.split(separator: "\n").first { $0.contains("/text-form") } ?? ""
        #expect(row.contains("GET") && row.contains(" 200 ") && row.contains("127.0.0.1:\(d.backend.port)"), "\(text.output)")
    }

    @Test func ctlRequestsRefusesBadArguments() throws {
        let r = try SkiffProcess.run(["ctl", "--socket", "/nonexistent.sock", "requests", "--for", "soon"])
        #expect(r.status == 1)
        #expect(r.output.contains("--for: expected a duration"), "\(r.output)")
    }

    /// View 9 in a real terminal: requests appear, `/` filters on the status class, `p` pauses.
    @Test func requestsViewFiltersAndPausesInTmux() throws {
        let d = try Daemon()
        defer { d.stop() }
        let session = try tmuxStart("\(SkiffProcess.binaryPath) top --socket \(d.sock)")
        defer { tmuxKill(session) }
        func screen() -> String { (try? tmuxCapture(session)) ?? "" }
        #expect(waitUntil(seconds: 10) { screen().contains("Overview") }, "\(screen())")
        try tmuxKeys(session, "9")
        #expect(waitUntil(seconds: 5) { screen().contains("live requests") }, "\(screen())")
        // The console opens its request stream when the view is shown; send until rows appear.
        #expect(waitUntil(seconds: 10) {
            _ = try? curl(["-s", "http://127.0.0.1:\(d.netpoll)/first-ok"])
            _ = try? curl(["-s", "http://127.0.0.1:\(d.netpoll)/status/503"])
            return screen().contains("/first-ok") && screen().contains("/status/503")
        }, "\(screen())")
        try tmuxKeys(session, "/", "5", "x", "x", "Enter")
        #expect(waitUntil(seconds: 5) { screen().contains("filter: 5xx") && !screen().contains("/first-ok") }, "\(screen())")
        #expect(screen().contains("/status/503"), "\(screen())")
        try tmuxKeys(session, "Escape")
        try tmuxKeys(session, "p")
        #expect(waitUntil(seconds: 5) { screen().contains("PAUSED") }, "\(screen())")
        _ = try curl(["-s", "http://127.0.0.1:\(d.netpoll)/while-paused"])
        Glibc.usleep(1_500_000)
        #expect(!screen().contains("/while-paused"), "\(screen())")
        try tmuxKeys(session, "p")
        #expect(waitUntil(seconds: 5) { screen().contains("/while-paused") }, "\(screen())")
    }
}
