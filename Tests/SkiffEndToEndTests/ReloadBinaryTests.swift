import Glibc
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// A client that opens a new connection for every request (`Connection: close`), so a listener handover that lost
/// its accept queue or closed the socket would show up as refused or reset connections.
final class ConnectLoop: @unchecked Sendable {
    let ok = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
    let finished = Atomic<Bool>(false)
    let firstError = Mutex<String?>(nil)

    private func note(_ counter: borrowing Atomic<Int>, _ s: String) {
        counter.wrappingAdd(1, ordering: .relaxed)
        firstError.withLock { if $0 == nil { $0 = s } }
    }

    func run(port: Int, path: String) {
        defer { finished.store(true, ordering: .relaxed) }
        while !stop.load(ordering: .relaxed) {
            guard let s = try? TestSocket.connect(port: port, timeoutSeconds: 5) else {
                note(refused, "connect to \(port) refused after \(ok.load(ordering: .relaxed)) responses")
                usleep(10_000)
                continue
            }
            do {
                try s.send("GET \(path) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                let reply = String(decoding: try s.receiveToEOF(), as: UTF8.self)
                if reply.hasPrefix("HTTP/1.1 200") {
                    ok.wrappingAdd(1, ordering: .relaxed)
                } else {
                    note(errors, "bad reply: \(reply.prefix(200))")
                }
            } catch {
                note(errors, "\(error) after \(ok.load(ordering: .relaxed)) responses")
            }
            s.close()
        }
    }
}

extension Array where Element == ConnectLoop {
    /// Connections answered 200 so far, across the loops.
    var ok: Int { reduce(0) { $0 + $1.ok.load(ordering: .relaxed) } }

    /// Stops every loop; true once all have finished (within 10 s).
    func stopAll() -> Bool {
        for c in self { c.stop.store(true, ordering: .relaxed) }
        return waitUntil(seconds: 10) { allSatisfy { $0.finished.load(ordering: .relaxed) } }
    }

    /// Whether no connection was refused or failed, and what to print when some were.
    var failures: (none: Bool, summary: String) {
        let refused = reduce(0) { $0 + $1.refused.load(ordering: .relaxed) }
        let errors = reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }
        let first = compactMap { $0.firstError.withLock { $0 } }.first ?? ""
        return (refused == 0 && errors == 0, "\(refused) refused, \(errors) failed of \(ok); first: \(first)")
    }
}

@Suite(.serialized) struct ReloadBinaryTests {
    static func config(
        netpoll: Int, rwloop: Int, extraListener: Int? = nil, rwMaxConnections: Int = 100, hosts: [(Int, Int)],
        newRoute: Int? = nil
    ) -> String {
        func listener(_ name: String, _ port: Int, _ model: String, _ extra: String = "") -> String {
            """
            {"name":"\(name)","address":"127.0.0.1:\(port)","thread_model":"\(model)"\(extra),
             "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}
            """
        }
        var listeners = [
            listener("np", netpoll, "netpoll"),
            listener("rw", rwloop, "rwloop", ",\"max_connections\":\(rwMaxConnections)"),
        ]
        if let p = extraListener { listeners.append(listener("extra", p, "netpoll")) }
        let newRouteText = newRoute.map { _ in #"{"match":{"prefix":"/new"},"route":{"cluster_name":"n","timeout":"10s"}},"# } ?? ""
        let newCluster = newRoute.map { #",{"name":"n","hosts":[{"address":"127.0.0.1:\#($0)"}]}"# } ?? ""
        let hostList = hosts.map { #"{"address":"127.0.0.1:\#($0.0)","weight":\#($0.1)}"# }.joined(separator: ",")
        return """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              \(newRouteText){"match":{"prefix":"/"},"route":{"cluster_name":"c","timeout":"10s"}}]}]}],
             "listeners":[\(listeners.joined(separator: ","))]}],
             "cluster_manager":{"clusters":[{"name":"c","lb_type":"LB_ROUNDROBIN","hosts":[\(hostList)]}\(newCluster)]}}
            """
    }

    /// Under keep-alive load on both thread models and a new-connection loop: a reload adds a route (to a new
    /// cluster), removes a host, changes a weight, adds a listener and replaces the rwloop listener on its own socket
    /// (max_connections changed). Zero failed requests, zero refused or reset connections; the removed host gets
    /// nothing new; the new route and listener serve; `skiff reload` says what changed.
    @Test func reloadUnderLoadLosesNothing() throws {
        let a = try HTTPTestServer(name: "a")
        let b = try HTTPTestServer(name: "b")
        let n = try HTTPTestServer(name: "n")
        defer {
            a.stop()
            b.stop()
            n.stop()
        }
        let np = freePort()
        let rw = freePort()
        let extra = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-reload-\(np).sock"
        let path = try writeTempFile(Self.config(netpoll: np, rwloop: rw, hosts: [(a.port, 1), (b.port, 1)]))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")

        let keepAlive = (0..<8).map { _ in LoadClient() }
        let loops = (0..<4).map { _ in ConnectLoop() }
        for (i, c) in keepAlive.enumerated() {
            let port = i % 2 == 0 ? np : rw
            try NetThread.start(name: "load", stackSize: 1 << 20) { c.run(port: port, path: "/x") }
        }
        for (i, c) in loops.enumerated() {
            let port = i % 2 == 0 ? np : rw
            try NetThread.start(name: "connect-loop", stackSize: 1 << 20) { c.run(port: port, path: "/c") }
        }
        #expect(waitUntil(seconds: 10) { b.count(path: "/x") > 20 })

        let next = Self.config(
            netpoll: np, rwloop: rw, extraListener: extra, rwMaxConnections: 200, hosts: [(a.port, 5)],
            newRoute: n.port)
        try overwrite(path, next)
        let r = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("cluster c: host 127.0.0.1:\(b.port) removed (draining)"), "\(r.output)")
        #expect(r.output.contains("cluster c: host 127.0.0.1:\(a.port) weight 1 -> 5"), "\(r.output)")
        #expect(r.output.contains("cluster n: added with 1 hosts"), "\(r.output)")
        #expect(r.output.contains("listener extra: added"), "\(r.output)")
        #expect(r.output.contains("listener rw: replaced (same socket"), "\(r.output)")
        #expect(r.output.contains("listener np: routes updated"), "\(r.output)")
        // In flight at the change may still land on b; nothing after.
        usleep(300_000)
        let bAfter = b.count(path: "/x") + b.count(path: "/c")
        let aAfter = a.count(path: "/x")
        usleep(1_500_000)
        #expect(b.count(path: "/x") + b.count(path: "/c") == bAfter, "requests kept reaching the removed host")
        #expect(a.count(path: "/x") > aAfter + 50, "the load goes on, to the remaining host")
        // The new route and the new listener serve at once.
        #expect(try curl(["-s", "http://127.0.0.1:\(np)/new/1"]).output == "n /new/1")
        #expect(try curl(["-s", "http://127.0.0.1:\(rw)/new/2"]).output == "n /new/2")
        #expect(try curl(["-s", "http://127.0.0.1:\(extra)/y"]).output == "a /y")

        for c in keepAlive { c.stop.store(true, ordering: .relaxed) }
        for c in loops { c.stop.store(true, ordering: .relaxed) }
        #expect(waitUntil(seconds: 10) {
            keepAlive.allSatisfy { $0.finished.load(ordering: .relaxed) } && loops.allSatisfy { $0.finished.load(ordering: .relaxed) }
        })
        let errors = keepAlive.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }
        let firstKA = keepAlive.compactMap { $0.firstError.withLock { $0 } }.first ?? ""
        let refused = loops.reduce(0) { $0 + $1.refused.load(ordering: .relaxed) }
        let loopErrors = loops.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }
        let firstLoop = loops.compactMap { $0.firstError.withLock { $0 } }.first ?? ""
        let ok = keepAlive.reduce(0) { $0 + $1.ok.load(ordering: .relaxed) }
        let connections = loops.reduce(0) { $0 + $1.ok.load(ordering: .relaxed) }
        #expect(errors == 0, "\(errors) keep-alive errors; first: \(firstKA)")
        var why = ""
        if refused + loopErrors > 0 {
            // What skiff saw: connections it closed for a reason other than the client's EOF, and threads refused.
            let ev = (try? SkiffProcess.run(["ctl", "events", "--kind", "conn.close", "--limit", "100000", "--socket", sock]))?.output ?? ""
            why = ev.split(separator: "\n").filter { !$0.contains("reason=eof") }.prefix(20).joined(separator: "\n")
            why += "\n" + ((try? SkiffProcess.run(["ctl", "stats", "--socket", sock]))?.output ?? "")
        }
        #expect(refused == 0 && loopErrors == 0, "\(refused) refused, \(loopErrors) failed; first: \(firstLoop)\n\(why)")
        #expect(ok > 500 && connections > 100, "\(ok) keep-alive responses, \(connections) connections")
        print("reload under load: \(ok) keep-alive requests, \(connections) new connections, 0 failed")
        let events = try SkiffProcess.run(["ctl", "events", "--kind", "config.reload", "--socket", sock])
        #expect(events.output.contains("config.reload") && events.output.contains("listener extra: added"), "\(events.output)")
        // The removed host drains like one set to DRAIN by hand: announced once nothing is left on it.
        #expect(waitUntil(seconds: 10) {
            let e = (try? SkiffProcess.run(["ctl", "events", "--kind", "host.drained", "--socket", sock]))?.output ?? ""
            return e.contains("host=127.0.0.1:\(b.port)")
        }, "no host.drained event for the removed host")
    }

    /// A listener removed by a reload stops accepting, but a keep-alive connection already on it is served to the
    /// end.
    @Test func removedListenerFinishesItsConnections() throws {
        let a = try HTTPTestServer(name: "a")
        defer { a.stop() }
        let np = freePort()
        let rw = freePort()
        let extra = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-rmreload-\(np).sock"
        let path = try writeTempFile(Self.config(netpoll: np, rwloop: rw, extraListener: extra, hosts: [(a.port, 1)]))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let s = try TestSocket.connect(port: extra)
        defer { s.close() }
        try s.send("GET /one HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(String(decoding: try s.receiveSome() ?? [], as: UTF8.self).hasSuffix("a /one"))
        try overwrite(path, Self.config(netpoll: np, rwloop: rw, hosts: [(a.port, 1)]))
        let r = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(r.output.contains("listener extra: removed"), "\(r.output)")
        #expect(waitUntil(seconds: 3) { (try? TestSocket.connect(port: extra, timeoutSeconds: 1)) == nil })
        try s.send("GET /two HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(String(decoding: try s.receiveSome() ?? [], as: UTF8.self).hasSuffix("a /two"))
        #expect(p.stop() == 0)
    }

    /// A tcp_proxy listener re-routed to another cluster: new sessions go there, a session opened before the reload
    /// stays on its upstream. An HTTP listener moved from netpoll to rwloop keeps its socket: a connect loop on it
    /// sees nothing refused or failed across the change.
    @Test func tcpRerouteAndThreadModelSwitch() throws {
        let a = try HTTPTestServer(name: "a")
        let b = try HTTPTestServer(name: "b")
        defer {
            a.stop()
            b.stop()
        }
        let tcp = freePort()
        let web = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-tcpreload-\(tcp).sock"
        func config(tcpCluster: String, webModel: String) -> String {
            """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"route":{"cluster_name":"a"}}]}]}],
             "listeners":[
              {"name":"t","address":"127.0.0.1:\(tcp)","filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"\(tcpCluster)"}}]}]},
              {"name":"m","address":"127.0.0.1:\(web)","thread_model":"\(webModel)",
               "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"a","hosts":[{"address":"127.0.0.1:\(a.port)"}]},
                                            {"name":"b","hosts":[{"address":"127.0.0.1:\(b.port)"}]}]}}
            """
        }
        let path = try writeTempFile(config(tcpCluster: "a", webModel: "netpoll"))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        // A keep-alive session through the tcp_proxy, opened before the reload.
        let session = try TestSocket.connect(port: tcp)
        try session.send("GET /before HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(String(decoding: try session.receiveSome() ?? [], as: UTF8.self).hasSuffix("a /before"))
        let loops = (0..<2).map { _ in ConnectLoop() }
        for c in loops { try NetThread.start(name: "connect-loop", stackSize: 1 << 20) { c.run(port: web, path: "/m") } }
        #expect(waitUntil(seconds: 10) { a.count(path: "/m") > 50 })

        try overwrite(path, config(tcpCluster: "b", webModel: "rwloop"))
        let r = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("listener t: routes updated"), "\(r.output)")
        #expect(r.output.contains("listener m: replaced (same socket"), "\(r.output)")
        let atReload = a.count(path: "/m")
        #expect(waitUntil(seconds: 10) { a.count(path: "/m") > atReload + 50 }, "the moved listener serves")
        #expect(loops.stopAll())
        #expect(loops.failures.none, "\(loops.failures.summary)")
        // New tcp sessions reach b; the old session is still on a.
        #expect(try rawExchange(port: tcp, Array("GET /after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8))
            .hasSuffix("b /after"))
        try session.send("GET /still HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(String(decoding: try session.receiveSome() ?? [], as: UTF8.self).hasSuffix("a /still"))
        // An open tcp session is in-flight work a graceful stop waits for: end it first.
        session.close()
        #expect(p.stop() == 0)
    }

    /// An invalid file is refused with its exact error, by `skiff reload` and by SIGHUP; the proxy keeps serving the
    /// running config.
    @Test func invalidReloadKeepsServing() throws {
        let a = try HTTPTestServer(name: "a")
        defer { a.stop() }
        let np = freePort()
        let rw = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-badreload-\(np).sock"
        let good = Self.config(netpoll: np, rwloop: rw, hosts: [(a.port, 1)])
        let path = try writeTempFile(good)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        try overwrite(path, good.replacing("LB_ROUNDROBIN", with: "LB_NOPE"))
        let r = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(r.status == 1)
        #expect(r.output.contains("reload refused, the running config stays"), "\(r.output)")
        #expect(r.output.contains("cluster_manager.clusters[0].lb_type"), "\(r.output)")
        p.signal(SIGHUP)
        #expect(p.waitForOutput("SIGHUP: reload refused"), "\(p.output)")
        #expect(try curl(["-s", "http://127.0.0.1:\(np)/still"]).output == "a /still")
        #expect(try curl(["-s", "http://127.0.0.1:\(rw)/still"]).output == "a /still")
        // A good file again, by SIGHUP: applied.
        try overwrite(path, Self.config(netpoll: np, rwloop: rw, hosts: [(a.port, 3)]))
        p.signal(SIGHUP)
        #expect(p.waitForOutput("SIGHUP: reloaded: cluster c: host 127.0.0.1:\(a.port) weight 1 -> 3"), "\(p.output)")
        #expect(p.stop() == 0)
    }
}

/// Replaces a file's contents in place (same inode, as an editor writing over it would).
func overwrite(_ path: String, _ text: String) throws {
    guard let f = fopen(path, "w") else { throw TestError("cannot write \(path)") }
    fputs(text, f)
    fclose(f)
}
