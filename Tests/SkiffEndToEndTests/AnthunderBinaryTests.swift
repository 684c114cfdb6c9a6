import Glibc
import SkiffTestSupport
import Testing

/// A real SOFA Bolt client and server written by others: anthunder (Ant's Python Bolt library, from PyPI). Its
/// socketserver-based listener answers one request per connection and then closes it (shutdown, close), so a
/// client's next call can reach Skiff before that close does: Skiff sends it on the closing connection, the server
/// never reads it, and Skiff must send it again. Every call must succeed, directly and through both thread models.
@Suite(.serialized) struct AnthunderBinaryTests {
    @Test func anthunderClientAndServerThroughSkiff() throws {
        let python = try PeerPython.withAnthunder()
        let server = try SkiffProcess(executable: python, [PeerPython.script, "serve"])
        defer { server.stop() }
        #expect(server.waitForOutput("listening"), "\(server.output)")
        guard let line = server.output.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
            let serverPort = Int(line.dropFirst(10).trimmingCharacters())
        else {
            Issue.record("no port from the anthunder server: \(server.output)")
            return
        }
        func calls(_ port: Int, _ n: Int, threads: Int) throws -> String {
            let r = try SkiffProcess.runCommand(
                python, [PeerPython.script, "call", "\(port)", "\(n)", "\(threads)"], timeoutSeconds: 120)
            #expect(r.status == 0, "\(r.output)")
            return r.output
        }
        // The reference: directly, every call succeeds.
        let direct = try calls(serverPort, 50, threads: 1)
        #expect(direct.contains("calls=50 ok=50 failed=0"), "\(direct)")

        let np = freePort()
        let rw = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np).sock"
        let routes = #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"py"}}"#
        let clusters = #"{"name":"py","hosts":[{"address":"127.0.0.1:\#(serverPort)"}]}"#
        let path = try writeTempFile(rpcConfig(proto: "bolt", netpoll: np, rwloop: rw, routes: routes, clusters: clusters))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for port in [np, rw] {
            let one = try calls(port, 200, threads: 1)
            #expect(one.contains("calls=200 ok=200 failed=0"), "\(port == np ? "netpoll" : "rwloop"): \(one)")
            let eight = try calls(port, 400, threads: 8)
            #expect(eight.contains("calls=400 ok=400 failed=0"), "\(port == np ? "netpoll" : "rwloop"): \(eight)")
        }
        let h = try hostStats(socket: sock, cluster: "py", host: "127.0.0.1:\(serverPort)")
        let sent = h["rq_total"]?.u ?? -1
        let retried = h["rq_retry"]?.u ?? -1
        #expect(sent - 1200 == retried, "sent \(sent), retried \(retried)")
        print("anthunder: 1200 calls through skiff, \(sent) sent upstream, \(retried) retried")
    }
}
