import Glibc
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// A config with one RPC listener per thread model (one poller, one worker: one upstream connection per host).
/// `extra` is spliced into both listeners (start it with a comma).
func rpcConfig(
    proto: String, netpoll: Int, rwloop: Int, routes: String, clusters: String, rwloopWorkers: Int = 1, extra: String = ""
) -> String {
    func listener(_ name: String, _ port: Int, _ model: String) -> String {
        """
        {"name":"\(name)","address":"127.0.0.1:\(port)","thread_model":"\(model)","pollers":1,"workers":\(model == "rwloop" ? rwloopWorkers : 0)\(extra),
         "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"\(proto)","upstream_protocol":"\(proto)","router_config_name":"r"}}]}]}
        """
    }
    return """
        {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[\(routes)]}]}],
          "listeners":[\(listener("np", netpoll, "netpoll")),\(listener("rw", rwloop, "rwloop"))]}],
         "cluster_manager":{"clusters":[\(clusters)]}}
        """
}

/// Sends frames on one connection with up to `window` in flight and collects responses by id.
func rpcClient(port: Int, count: Int, window: Int, frame: (Int) -> [UInt8], responseID: ([UInt8]) -> (length: Int, id: Int)?)
    throws -> [Int: [UInt8]]
{
    let s = try TestSocket.connect(port: port, timeoutSeconds: 20)
    defer { s.close() }
    var got: [Int: [UInt8]] = [:]
    var buf: [UInt8] = []
    var sent = 0
    while got.count < count {
        while sent < count && sent - got.count < window {
            try s.send(frame(sent + 1))
            sent += 1
        }
        guard let chunk = try s.receiveSome() else { throw TestError("closed after \(got.count) responses") }
        buf += chunk
        while let (len, id) = responseID(buf) {
            got[id] = Array(buf[0..<len])
            buf.removeFirst(len)
        }
    }
    return got
}

@Suite(.serialized) struct RPCBinaryTests {
    /// 20 client connections x 500 requests = 10,000 Bolt requests over one upstream connection per listener; the
    /// backend answers out of order; every response reaches its caller with its own id and content.
    @Test func boltMultiplexesManyClientsOverOneUpstreamConnection() throws {
        let java = try RPCTestServer(kind: .bolt, name: "java")
        let cpp = try RPCTestServer(kind: .bolt, name: "cpp")
        defer {
            java.stop()
            cpp.stop()
        }
        let np = freePort()
        let rw = freePort()
        let routes = """
            {"match":{"headers":[{"name":"service","value":"com.alipay.test.TestService:1.0"}]},"route":{"cluster_name":"cpp"}},
            {"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"java"}}
            """
        let clusters = """
            {"name":"java","hosts":[{"address":"127.0.0.1:\(java.port)"}]},{"name":"cpp","hosts":[{"address":"127.0.0.1:\(cpp.port)"}]}
            """
        let path = try writeTempFile(rpcConfig(proto: "bolt", netpoll: np, rwloop: rw, routes: routes, clusters: clusters))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for port in [np, rw] {
            let failures = Mutex<[String]>([])
            let done = Atomic<Int>(0)
            for client in 0..<20 {
                try NetThread.start(name: "bolt-client", stackSize: 1 << 20) {
                    do {
                        let service = client % 2 == 0 ? "com.alipay.test.TestService:1.0" : "com.alipay.other.Echo:1.0"
                        let expectName = client % 2 == 0 ? "cpp" : "java"
                        let got = try rpcClient(
                            port: port, count: 500, window: 16,
                            frame: { i in RPCFrames.boltRequest(id: i, service: service, content: Array("c\(client)-r\(i)".utf8)) },
                            responseID: { b in RPCFrames.parseBolt(b).map { ($0.length, $0.id) } })
                        for (id, frame) in got {
                            let f = RPCFrames.parseBolt(frame)!
                            let want = Array("\(expectName):c\(client)-r\(id)".utf8)
                            if f.content != want || f.status != 0 {
                                failures.withLock { $0.append("client \(client) id \(id): \(String(decoding: f.content, as: UTF8.self))") }
                            }
                        }
                    } catch {
                        failures.withLock { $0.append("client \(client): \(error)") }
                    }
                    done.wrappingAdd(1, ordering: .relaxed)
                }
            }
            #expect(waitUntil(seconds: 120) { done.load(ordering: .relaxed) == 20 })
            #expect(failures.withLock { Array($0.prefix(5)) } == [])
        }
        #expect(java.requests.load(ordering: .relaxed) == 10_000)
        #expect(cpp.requests.load(ordering: .relaxed) == 10_000)
        // One multiplexed upstream connection per host per listener (one poller; one worker shard).
        #expect(java.connections.load(ordering: .relaxed) == 2)
        #expect(cpp.connections.load(ordering: .relaxed) == 2)
    }

    @Test func boltHeartbeatsTimeoutsAndALostUpstream() throws {
        let backend = try RPCTestServer(kind: .bolt, name: "b")
        defer { backend.stop() }
        let np = freePort()
        let rw = freePort()
        let routes = #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"b"}}"#
        let clusters = #"{"name":"b","hosts":[{"address":"127.0.0.1:\#(backend.port)"}]}"#
        let path = try writeTempFile(rpcConfig(proto: "bolt", netpoll: np, rwloop: rw, routes: routes, clusters: clusters))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for port in [np, rw] {
            let s = try TestSocket.connect(port: port)
            defer { s.close() }
            // A downstream heartbeat is answered by Skiff itself.
            try s.send(RPCFrames.boltHeartbeat(id: 77))
            let hb = RPCFrames.parseBolt(try s.receive(exactly: 20))!
            #expect(hb.cmd == 0 && hb.id == 77 && hb.type == 0)
            // A request the backend never answers times out with Bolt's timeout status, on time.
            backend.silent.store(true, ordering: .relaxed)
            try s.send(RPCFrames.boltRequest(id: 5, service: "x", content: [1], timeoutMs: 300))
            let start = MonotonicClock.now()
            let t = RPCFrames.parseBolt(try s.receive(exactly: 20))!
            let took = Double(MonotonicClock.now() - start) / 1e9
            #expect(t.id == 5 && t.cmd == 2 && t.status != 0, "\(t)")
            #expect(took > 0.2 && took < 3, "\(took)")
            // In flight when the upstream dies: sent again, once, on a new connection; lost again there, it fails.
            // The next request works on a new connection.
            try s.send(RPCFrames.boltRequest(id: 6, service: "x", content: [2], timeoutMs: 5000))
            usleep(200_000)
            let before = backend.requests.load(ordering: .relaxed)
            backend.dropConnections()
            #expect(waitUntil(seconds: 3) { backend.requests.load(ordering: .relaxed) == before + 1 }, "no retry")
            usleep(50_000)
            backend.dropConnections()
            let lost = RPCFrames.parseBolt(try s.receive(exactly: 20))!
            #expect(lost.id == 6 && lost.status != 0, "\(lost)")
            backend.silent.store(false, ordering: .relaxed)
            try s.send(RPCFrames.boltRequest(id: 8, service: "x", content: Array("again".utf8)))
            var buf: [UInt8] = []
            while RPCFrames.parseBolt(buf) == nil { buf += try s.receiveSome() ?? [] }
            let ok = RPCFrames.parseBolt(buf)!
            #expect(ok.id == 8 && ok.status == 0 && ok.content == Array("b:again".utf8))
        }
        #expect(backend.heartbeats.load(ordering: .relaxed) == 0, "downstream heartbeats never reach the backend")
    }

    /// A malformed frame closes only that connection; other clients carry on.
    @Test func malformedBoltFrameClosesOnlyThatConnection() throws {
        let backend = try RPCTestServer(kind: .bolt, name: "b")
        defer { backend.stop() }
        let np = freePort()
        let routes = #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"b"}}"#
        let clusters = #"{"name":"b","hosts":[{"address":"127.0.0.1:\#(backend.port)"}]}"#
        let path = try writeTempFile(rpcConfig(proto: "bolt", netpoll: np, rwloop: freePort(), routes: routes, clusters: clusters))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let good = try TestSocket.connect(port: np)
        defer { good.close() }
        let bad = try TestSocket.connect(port: np)
        defer { bad.close() }
        var garbage = RPCFrames.boltRequest(id: 1, service: "x", content: [1])
        garbage[0] = 0x7f  // no such protocol
        try bad.send(garbage)
        // An unknown protocol byte has no error frame to answer with: the connection just ends, at once.
        #expect(try bad.receiveToEOF().isEmpty)
        try good.send(RPCFrames.boltRequest(id: 2, service: "x", content: Array("fine".utf8)))
        var buf: [UInt8] = []
        while RPCFrames.parseBolt(buf) == nil { buf += try good.receiveSome() ?? [] }
        #expect(RPCFrames.parseBolt(buf)!.content == Array("b:fine".utf8))
        #expect(p.hasExited == false)
    }

    /// Dubbo: the reference vector's service routes to one cluster, anything else to the other; ids come back.
    @Test func dubboRoutesByServiceAndRestoresIDs() throws {
        let notify = try RPCTestServer(kind: .dubbo, name: "notify")
        let other = try RPCTestServer(kind: .dubbo, name: "other")
        defer {
            notify.stop()
            other.stop()
        }
        let np = freePort()
        let rw = freePort()
        let routes = """
            {"match":{"headers":[{"name":"service","value":"com.raycloud.notify.api.service.NotifyJobRequest"}]},"route":{"cluster_name":"notify"}},
            {"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"other"}}
            """
        let clusters = """
            {"name":"notify","hosts":[{"address":"127.0.0.1:\(notify.port)"}]},{"name":"other","hosts":[{"address":"127.0.0.1:\(other.port)"}]}
            """
        let path = try writeTempFile(rpcConfig(proto: "dubbo", netpoll: np, rwloop: rw, routes: routes, clusters: clusters))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let vector = hexBytes(dubboRequestNotifyHex)
        for port in [np, rw] {
            // The reference frame itself, with ids rewritten per request.
            let got = try rpcClient(
                port: port, count: 200, window: 8,
                frame: { i in
                    var f = vector
                    for k in 0..<8 { f[4 + k] = UInt8(UInt64(i) >> (56 - 8 * UInt64(k)) & 0xff) }
                    return f
                },
                responseID: { b in RPCFrames.parseDubbo(b).map { ($0.length, Int($0.id)) } })
            #expect(got.count == 200)
            for (id, frame) in got {
                let f = RPCFrames.parseDubbo(frame)!
                #expect(f.status == 20)
                #expect(String(decoding: f.body.dropFirst(2), as: UTF8.self).hasPrefix("notify:"), "id \(id)")
            }
            let others = try rpcClient(
                port: port, count: 50, window: 4,
                frame: { i in RPCFrames.dubboRequest(id: UInt64(i), service: "com.example.Other", method: "m", payload: "p\(i)") },
                responseID: { b in RPCFrames.parseDubbo(b).map { ($0.length, Int($0.id)) } })
            #expect(others.count == 50)
            #expect(others.values.allSatisfy { String(decoding: RPCFrames.parseDubbo($0)!.body.dropFirst(2), as: UTF8.self).hasPrefix("other:") })
        }
        #expect(notify.requests.load(ordering: .relaxed) == 400)
        #expect(other.requests.load(ordering: .relaxed) == 100)
    }
}

func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var hi: UInt8?
    for c in s.utf8 {
        let v: UInt8
        switch c {
        case 48...57: v = c - 48
        case 97...102: v = c - 87
        case 65...70: v = c - 55
        default: continue
        }
        if let h = hi {
            out.append(h << 4 | v)
            hi = nil
        } else {
            hi = v
        }
    }
    return out
}

extension RPCBinaryTests {
    /// `Auto`: one listener serves HTTP/1.1, Bolt and Dubbo clients, picking the codec from the first bytes.
    @Test func autoDetectsHTTPBoltAndDubboOnOneListener() throws {
        let bolt = try RPCTestServer(kind: .bolt, name: "bolt")
        let dubbo = try RPCTestServer(kind: .dubbo, name: "dubbo")
        let web = try HTTPTestServer(name: "web")
        defer {
            bolt.stop()
            dubbo.stop()
            web.stop()
        }
        let np = freePort()
        let routes = """
            {"match":{"headers":[{"name":"service","value":"bolt.Svc"}]},"route":{"cluster_name":"bolt"}},
            {"match":{"headers":[{"name":"service","value":"dubbo.Svc"}]},"route":{"cluster_name":"dubbo"}},
            {"match":{"prefix":"/"},"route":{"cluster_name":"web"}}
            """
        let clusters = """
            {"name":"bolt","hosts":[{"address":"127.0.0.1:\(bolt.port)"}]},{"name":"dubbo","hosts":[{"address":"127.0.0.1:\(dubbo.port)"}]},
            {"name":"web","hosts":[{"address":"127.0.0.1:\(web.port)"}]}
            """
        let path = try writeTempFile(rpcConfig(proto: "Auto", netpoll: np, rwloop: freePort(), routes: routes, clusters: clusters))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(try curl(["-s", "http://127.0.0.1:\(np)/page"]).output == "web /page")
        let b = try rpcClient(
            port: np, count: 3, window: 3,
            frame: { i in RPCFrames.boltRequest(id: i, service: "bolt.Svc", content: Array("x\(i)".utf8)) },
            responseID: { b in RPCFrames.parseBolt(b).map { ($0.length, $0.id) } })
        #expect(RPCFrames.parseBolt(b[2]!)!.content == Array("bolt:x2".utf8))
        let d = try rpcClient(
            port: np, count: 3, window: 3,
            frame: { i in RPCFrames.dubboRequest(id: UInt64(i), service: "dubbo.Svc", method: "m", payload: "p") },
            responseID: { b in RPCFrames.parseDubbo(b).map { ($0.length, Int($0.id)) } })
        #expect(d.count == 3)
        #expect(dubbo.requests.load(ordering: .relaxed) == 3)
    }

    /// RPC listeners close a connection that sends no frame for `connection_idle_timeout` (heartbeats count), on
    /// both thread models, counted as `idle_timeouts`; an `Auto` listener closes a connection that never says which
    /// protocol it speaks at the request-header timeout. Before, all of these stayed open for ever.
    @Test func silentRPCConnectionsCloseAndHeartbeatsKeepThemOpen() throws {
        let backend = try RPCTestServer(kind: .bolt, name: "b")
        defer { backend.stop() }
        let np = freePort()
        let rw = freePort()
        let auto = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np).sock"
        let routes = #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"b"}}"#
        let clusters = #"{"name":"b","hosts":[{"address":"127.0.0.1:\#(backend.port)"}]}"#
        var cfg = rpcConfig(
            proto: "bolt", netpoll: np, rwloop: rw, routes: routes, clusters: clusters,
            extra: #","connection_idle_timeout":"300ms""#)
        let autoListener = """
            {"name":"auto","address":"127.0.0.1:\(auto)","request_header_timeout":"300ms",
             "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Auto","router_config_name":"r"}}]}]}
            """
        cfg = cfg.replacingAll(#""listeners":["#, with: #""listeners":["# + autoListener + ",")
        let path = try writeTempFile(cfg)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for port in [np, rw, auto] {
            let silent = try TestSocket.connect(port: port, timeoutSeconds: 5)
            defer { silent.close() }
            let start = MonotonicClock.now()
            #expect(try silent.receiveSome() == nil, "port \(port): a silent connection is closed")
            let took = Double(MonotonicClock.now() - start) / 1e9
            #expect(took > 0.2 && took < 3, "port \(port): closed after \(took) s")
        }
        for port in [np, rw] {
            let s = try TestSocket.connect(port: port, timeoutSeconds: 5)
            defer { s.close() }
            // Ten heartbeats 100 ms apart: a second in all, three idle timeouts; each is answered.
            for i in 0..<10 {
                try s.send(RPCFrames.boltHeartbeat(id: 100 + i))
                let hb = RPCFrames.parseBolt(try s.receive(exactly: 20))!
                #expect(hb.id == 100 + i)
                usleep(100_000)
            }
            #expect(try s.receiveSome() == nil, "port \(port): closed once the heartbeats stop")
        }
        #expect(
            waitUntil(seconds: 5) {
                let stats = (try? SkiffProcess.run(["ctl", "stats", "--socket", sock, "--json"]))?.output ?? ""
                return stats.occurrences(of: #""idle_timeouts":2"#) == 2
            }, "each RPC listener counted two idle timeouts")
    }
}
