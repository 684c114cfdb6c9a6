import Glibc
import SkiffJSON
import SkiffTestSupport
import Testing

/// Defect 14: every connection of a small client landed on poller 0. Connections from one client must spread over
/// a netpoll listener's pollers.
@Suite struct PollerSpreadBinaryTests {
    @Test func connectionsFromOneClientSpreadOverBothPollers() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let port = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-spread-\(port).sock"
        let cfg = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]}],
             "listeners":[{"name":"np","address":"127.0.0.1:\(port)","thread_model":"netpoll","pollers":2,
               "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:\(backend.port)"}]}]}}
            """
        let path = try writeTempFile(cfg)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { _ = p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")

        // Six connections, opened one after another from one client and each used for a request, all kept open.
        var clients: [TestSocket] = []
        defer { for c in clients { c.close() } }
        for i in 0..<6 {
            let s = try TestSocket.connect(port: port, timeoutSeconds: 5)
            try s.send(Array("GET /c\(i) HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            clients.append(s)
        }
        var fds: [Int] = []
        #expect(waitUntil(seconds: 10) {
            guard let r = try? SkiffProcess.run(["ctl", "--socket", sock, "stats", "--json"]),
                let v = try? JSONParser.parse(Array(r.output.utf8))
            else { return false }
            fds = (v["frame"]?["threads"]?["pollers"]?.arrayValue ?? [])
                .filter { $0["group"]?.stringValue != "health" }.map { $0["fds"]?.int ?? 0 }
            // Each client connection and its upstream connection live on one poller.
            return fds.count == 2 && fds.reduce(0, +) >= 6
        }, "pollers' fds: \(fds)")
        #expect(fds.count == 2)
        #expect(fds.allSatisfy { $0 >= 3 }, "connections did not spread: \(fds)")
    }
}
