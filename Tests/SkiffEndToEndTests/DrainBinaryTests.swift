import Glibc
import SkiffConfig
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// A keep-alive client that sends GETs until told to stop, counting statuses and errors.
final class LoadClient: @unchecked Sendable {
    let ok = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
    let finished = Atomic<Bool>(false)
    /// What the first failure looked like (a status line with its headers, or the socket error), for the report.
    let firstError = Mutex<String?>(nil)

    func note(_ s: String) {
        errors.wrappingAdd(1, ordering: .relaxed)
        firstError.withLock { if $0 == nil { $0 = s } }
    }

    func run(port: Int, path: String) {
        defer { finished.store(true, ordering: .relaxed) }
        guard let s = try? TestSocket.connect(port: port, timeoutSeconds: 10) else {
            note("connect failed")
            return
        }
        defer { s.close() }
        var buf: [UInt8] = []
        while !stop.load(ordering: .relaxed) {
            do {
                try s.send("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
                while true {
                    let text = String(decoding: buf, as: UTF8.self)
                    if let end = text.offset(of: "\r\n\r\n") {
                        let head = text.prefix(end).lowercased()
                        let cl = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                            .flatMap { Int($0.dropFirst(15).trimmingCharacters()) } ?? 0
                        if buf.count >= end + 4 + cl {
                            if head.hasPrefix("http/1.1 200") {
                                ok.wrappingAdd(1, ordering: .relaxed)
                            } else {
                                note(String(head.prefix(300)))
                            }
                            buf.removeFirst(end + 4 + cl)
                            break
                        }
                    }
                    guard let chunk = try s.receiveSome() else { throw TestError("closed") }
                    buf += chunk
                }
            } catch {
                note("\(error) after \(ok.load(ordering: .relaxed)) responses")
                return
            }
        }
    }
}

@Suite(.serialized) struct DrainBinaryTests {
    /// 20 clients load three hosts; one host is drained with `skiff ctl drain --wait`: no new request reaches it,
    /// its slow in-flight requests finish with 200, no client sees an error, and the command exits 0 on DRAINED.
    /// The route retries connect failures, as a production route would: under the whole suite's load an rwloop
    /// upstream connect can fail when the machine refuses another thread (seen once in ten runs), which is not
    /// what this test is about; drain itself never needs a retry (nothing is sent to the draining host).
    @Test(arguments: ["netpoll", "rwloop"])
    func drainUnderLoadLosesNothing(model: String) throws {
        let hosts = try (1...3).map { try HTTPTestServer(name: "h\($0)") }
        defer { for h in hosts { h.stop() } }
        let port = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-drain-\(port).sock"
        let hostList = hosts.map { "{\"address\":\"127.0.0.1:\($0.port)\"}" }.joined(separator: ",")
        let cfg = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"route":{"cluster_name":"c","timeout":"10s",
                "retry_policy":{"retry_on":"connect-failure","num_retries":1}}}]}]}],
             "listeners":[{"name":"h","address":"127.0.0.1:\(port)","thread_model":"\(model)",
               "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"c","lb_type":"LB_ROUNDROBIN","hosts":[\(hostList)]}]}}
            """
        let path = try writeTempFile(cfg)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--publish-interval", "100"])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")

        // Slow requests in flight on every host (round robin spreads them), then continuous load.
        let slow = try (0..<6).map { _ in
            try SkiffProcess(executable: "curl", ["-s", "-w", "|%{http_code}", "--max-time", "15", "http://127.0.0.1:\(port)/slow/2000"])
        }
        usleep(300_000)
        let clients = (0..<20).map { _ in LoadClient() }
        for c in clients { try NetThread.start(name: "load", stackSize: 1 << 20) { c.run(port: port, path: "/x") } }
        usleep(500_000)
        let drained = hosts[0]
        // The state change first (the command returns once it is made), then wait for DRAINED.
        let set = try SkiffProcess.run(["ctl", "drain", "c", "127.0.0.1:\(drained.port)", "--socket", sock])
        #expect(set.status == 0, "\(set.output)")
        let atDrain = drained.count(path: "/x")
        let drain = try SkiffProcess(["ctl", "drain", "c", "127.0.0.1:\(drained.port)", "--wait", "--timeout", "20s", "--socket", sock])
        #expect(drain.waitForExit(seconds: 25) == 0, "\(drain.output)")
        #expect(drain.output.contains("DRAINED"), "\(drain.output)")
        // Nothing new reached the drained host after the state change (requests already sent may land).
        let afterDrain = drained.count(path: "/x")
        usleep(500_000)
        #expect(drained.count(path: "/x") == afterDrain, "requests kept reaching the drained host")
        #expect(afterDrain - atDrain <= 20, "at most the requests in flight at the change")
        #expect(hosts[1].count(path: "/x") > 0 && hosts[2].count(path: "/x") > 0)
        for c in clients { c.stop.store(true, ordering: .relaxed) }
        #expect(waitUntil(seconds: 10) { clients.allSatisfy { $0.finished.load(ordering: .relaxed) } })
        let errors = clients.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }
        let ok = clients.reduce(0) { $0 + $1.ok.load(ordering: .relaxed) }
        let first = clients.compactMap { $0.firstError.withLock { $0 } }.first ?? ""
        #expect(errors == 0, "\(errors) client errors; first: \(first)")
        #expect(ok > 100)
        for s in slow {
            #expect(s.waitForExit(seconds: 15) == 0)
            #expect(s.output.hasSuffix("|200"), "\(s.output)")
        }
        // Back to READY: traffic returns.
        let ready = try SkiffProcess.run(["ctl", "ready", "c", "127.0.0.1:\(drained.port)", "--socket", sock])
        #expect(ready.status == 0, "\(ready.output)")
        for _ in 0..<6 { _ = try curl(["-s", "http://127.0.0.1:\(port)/y"]) }
        #expect(drained.count(path: "/y") >= 1)
        let events = try SkiffProcess.run(["ctl", "events", "--socket", sock])
        #expect(events.output.contains("host.drained"), "\(events.output)")
    }

    /// Every host in DRAIN or MAINT: requests fail fast with 503 "no healthy upstream", no panic routing.
    @Test func noAvailableHostFailsFast() throws {
        let h = try HTTPTestServer(name: "only")
        defer { h.stop() }
        let port = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-maint-\(port).sock"
        let cfg = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]}],
             "listeners":[{"name":"h","address":"127.0.0.1:\(port)",
               "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:\(h.port)"}]}]}}
            """
        let path = try writeTempFile(cfg)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(try curl(["-s", "http://127.0.0.1:\(port)/a"]).output == "only /a")
        let m = try SkiffProcess.run(["ctl", "maint", "c", "127.0.0.1:\(h.port)", "--socket", sock])
        #expect(m.status == 0, "\(m.output)")
        let r = try curl(["-si", "http://127.0.0.1:\(port)/b"]).output
        #expect(r.hasPrefix("HTTP/1.1 503"), "\(r)")
        #expect(r.contains("x-skiff-reason: no healthy upstream"), "\(r)")
        #expect(h.count(path: "/b") == 0)
    }
}

extension DrainBinaryTests {
    /// A Bolt cluster drained with streams in flight: every request is answered, the drained host's multiplexed
    /// connection closes after its last stream, and `ctl drain --wait` exits 0.
    @Test func boltDrainWithStreamsInFlight() throws {
        let a = try RPCTestServer(kind: .bolt, name: "a")
        let b = try RPCTestServer(kind: .bolt, name: "b")
        defer {
            a.stop()
            b.stop()
        }
        let port = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-bdrain-\(port).sock"
        let cfg = rpcConfig(
            proto: "bolt", netpoll: port, rwloop: freePort(),
            routes: #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"c"}}"#,
            clusters: #"{"name":"c","lb_type":"LB_ROUNDROBIN","hosts":[{"address":"127.0.0.1:\#(a.port)"},{"address":"127.0.0.1:\#(b.port)"}]}"#)
        let path = try writeTempFile(cfg)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--publish-interval", "100"])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let failures = Mutex<[String]>([])
        let done = Atomic<Int>(0)
        for client in 0..<8 {
            try NetThread.start(name: "bolt-load", stackSize: 1 << 20) {
                do {
                    let got = try rpcClient(
                        port: port, count: 1500, window: 8,
                        frame: { i in RPCFrames.boltRequest(id: i, service: "s", content: Array("\(client)-\(i)".utf8)) },
                        responseID: { buf in RPCFrames.parseBolt(buf).map { ($0.length, $0.id) } })
                    let bad = got.values.map { RPCFrames.parseBolt($0)!.status }.filter { $0 != 0 }
                    if !bad.isEmpty { failures.withLock { $0.append("client \(client): error statuses \(bad)") } }
                } catch {
                    failures.withLock { $0.append("client \(client): \(error)") }
                }
                done.wrappingAdd(1, ordering: .relaxed)
            }
        }
        _ = waitUntil(seconds: 5) { a.requests.load(ordering: .relaxed) > 500 }
        let drain = try SkiffProcess(["ctl", "drain", "c", "127.0.0.1:\(a.port)", "--wait", "--timeout", "20s", "--socket", sock])
        #expect(drain.waitForExit(seconds: 25) == 0, "\(drain.output)")
        let atDrained = a.requests.load(ordering: .relaxed)
        #expect(waitUntil(seconds: 60) { done.load(ordering: .relaxed) == 8 })
        #expect(failures.withLock { $0 } == [], "\(p.output.suffix(3000))")
        #expect(a.requests.load(ordering: .relaxed) == atDrained, "requests reached the drained host")
        #expect(a.requests.load(ordering: .relaxed) + b.requests.load(ordering: .relaxed) == 12_000)
    }
}

extension DrainBinaryTests {
    /// drain_action close: at drain_timeout what remains is closed and the host is DRAINED; with `wait`,
    /// `ctl drain --wait` gives up at its own timeout with exit code 2.
    @Test(arguments: ["close", "wait"])
    func drainTimeoutAppliesTheAction(action: String) throws {
        let h = try HTTPTestServer(name: "slowpoke")
        defer { h.stop() }
        let port = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-dt-\(port).sock"
        let cfg = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"route":{"cluster_name":"c","timeout":"20s"}}]}]}],
             "listeners":[{"name":"h","address":"127.0.0.1:\(port)",
               "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"c","drain_timeout":"1s","drain_action":"\(action)","hosts":[{"address":"127.0.0.1:\(h.port)"}]}]}}
            """
        let path = try writeTempFile(cfg)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock, "--publish-interval", "100"])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let slow = try SkiffProcess(executable: "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "15", "http://127.0.0.1:\(port)/slow/8000"])
        usleep(300_000)
        let drain = try SkiffProcess(["ctl", "drain", "c", "127.0.0.1:\(h.port)", "--wait", "--timeout", "4s", "--socket", sock])
        let status = drain.waitForExit(seconds: 10)
        if action == "close" {
            #expect(status == 0, "\(drain.output)")
            #expect(slow.waitForExit(seconds: 10) != nil)
            #expect(slow.output != "200", "the slow request was cut at the drain timeout")
            let ev = try SkiffProcess.run(["ctl", "events", "--socket", sock])
            #expect(ev.output.contains("host.drain_timeout"), "\(ev.output)")
        } else {
            #expect(status == 2, "\(drain.output)")
            #expect(slow.waitForExit(seconds: 10) == 0)
            #expect(slow.output == "200", "with wait the slow request finishes")
        }
    }
}
