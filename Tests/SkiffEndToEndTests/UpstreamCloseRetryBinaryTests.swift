import Glibc
import SkiffConfig
import SkiffJSON
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// Runs `clients` threads, each on its own connection to `port`, each sending `perClient` requests one at a time and
/// checking every answer with `check` (nil = fine, else what was wrong). Returns the failures (at most a few).
func sequentialRPCClients(
    port: Int, clients: Int, perClient: Int, frame: @escaping @Sendable (_ client: Int, _ i: Int) -> [UInt8],
    parse: @escaping @Sendable ([UInt8]) -> (length: Int, id: Int)?,
    check: @escaping @Sendable (_ client: Int, _ i: Int, _ response: [UInt8]) -> String?
) throws -> [String] {
    let failures = Mutex<[String]>([])
    let failed = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    for client in 0..<clients {
        try NetThread.start(name: "rpc-client", stackSize: 1 << 20) {
            defer { done.wrappingAdd(1, ordering: .relaxed) }
            do {
                let s = try TestSocket.connect(port: port, timeoutSeconds: 20)
                defer { s.close() }
                var buf: [UInt8] = []
                for i in 1...perClient {
                    try s.send(frame(client, i))
                    while parse(buf) == nil {
                        guard let chunk = try s.receiveSome() else { throw TestError("closed at request \(i)") }
                        buf += chunk
                    }
                    let (len, id) = parse(buf)!
                    let response = Array(buf[0..<len])
                    buf.removeFirst(len)
                    if let wrong = id != i ? "id \(id) for request \(i)" : check(client, i, response) {
                        failed.wrappingAdd(1, ordering: .relaxed)
                        failures.withLock { if $0.count < 5 { $0.append("client \(client) request \(i): \(wrong)") } }
                    }
                }
            } catch {
                failed.wrappingAdd(1, ordering: .relaxed)
                failures.withLock { $0.append("client \(client): \(error)") }
            }
        }
    }
    guard waitUntil(seconds: 180, { done.load(ordering: .relaxed) == clients }) else { throw TestError("clients hung") }
    let n = failed.load(ordering: .relaxed)
    return failures.withLock { n == 0 ? [] : ["\(n) failed"] + $0 }
}

/// The host entry of `cluster`/`host` from `skiff ctl hosts --json`.
func hostStats(socket: String, cluster: String, host: String) throws -> JSONValue {
    let r = try SkiffProcess.run(["ctl", "hosts", "--json", "--socket", socket])
    guard r.status == 0 else { throw TestError("ctl hosts: \(r.output)") }
    let reply = try JSONParser.parse(Array(r.output.utf8))
    let c = reply["clusters"]?.arrayValue.first { $0["name"]?.stringValue == cluster }
    guard let h = c?["hosts"]?.arrayValue.first(where: { $0["address"]?.stringValue == host }) else {
        throw TestError("no host \(cluster)/\(host) in \(r.output.prefix(300))")
    }
    return h
}

extension JSONValue {
    var u: Int { Int(self.number ?? -1) }
}

/// Upstreams that close their connections between requests: what was sent on a connection that closed before any
/// byte of its answer is sent again once on a new connection; nothing else is.
@Suite(.serialized) struct UpstreamCloseRetryBinaryTests {
    static let clients = 8
    static let perClient = 250

    /// A Bolt or Dubbo server answering one request per connection and closing 4 ms later, under 8 concurrent
    /// clients x 250 requests on each thread model: every call succeeds; every request sent upstream and never
    /// answered (a race with the close) was retried once, and counted.
    @Test(arguments: [RPCTestServer.Kind.bolt, .dubbo])
    func rpcServerClosingAfterEachResponseLosesNothing(kind: RPCTestServer.Kind) throws {
        let server = try ClosingRPCServer(kind: kind, name: "one", closeDelayMicros: 4000)
        defer { server.stop() }
        let np = freePort()
        let rw = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np).sock"
        let proto = kind == .bolt ? "bolt" : "dubbo"
        let routes = #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"one"}}"#
        let clusters = #"{"name":"one","hosts":[{"address":"127.0.0.1:\#(server.port)"}]}"#
        // Two worker shards on rwloop: two pooled connections to the host, and a reader thread per connection that
        // runs ahead of the shard.
        let path = try writeTempFile(
            rpcConfig(proto: proto, netpoll: np, rwloop: rw, routes: routes, clusters: clusters, rwloopWorkers: 2))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let hostName = "127.0.0.1:\(server.port)"
        var answeredBefore = 0
        for port in [np, rw] {
            let failures: [String]
            switch kind {
            case .bolt:
                failures = try sequentialRPCClients(
                    port: port, clients: Self.clients, perClient: Self.perClient,
                    frame: { c, i in RPCFrames.boltRequest(id: i, service: "svc", content: Array("c\(c)-\(i)".utf8)) },
                    parse: { b in RPCFrames.parseBolt(b).map { ($0.length, $0.id) } },
                    check: { c, i, r in
                        let f = RPCFrames.parseBolt(r)!
                        return f.status == 0 && f.content == Array("one:c\(c)-\(i)".utf8) ? nil : "status \(f.status)"
                    })
            case .dubbo:
                failures = try sequentialRPCClients(
                    port: port, clients: Self.clients, perClient: Self.perClient,
                    frame: { c, i in RPCFrames.dubboRequest(id: UInt64(i), service: "svc", method: "m", payload: "c\(c)-\(i)") },
                    parse: { b in RPCFrames.parseDubbo(b).map { ($0.length, Int($0.id)) } },
                    check: { c, i, r in
                        let f = RPCFrames.parseDubbo(r)!
                        let text = String(decoding: f.body.dropFirst(2), as: UTF8.self)
                        return f.status == 20 && text == "one:c\(c)-\(i)" ? nil : "status \(f.status) \(text)"
                    })
            }
            #expect(failures == [], "port \(port == np ? "netpoll" : "rwloop")")
            #expect(server.answered.load(ordering: .relaxed) - answeredBefore == Self.clients * Self.perClient)
            answeredBefore = server.answered.load(ordering: .relaxed)
        }
        // Every request Skiff sent and the server never answered was a race with a close, and was retried: the
        // retries are exactly the requests sent upstream beyond the calls made.
        let total = 2 * Self.clients * Self.perClient
        let h = try hostStats(socket: sock, cluster: "one", host: hostName)
        let sent = h["rq_total"]?.u ?? -1
        let retried = h["rq_retry"]?.u ?? -1
        #expect(server.answered.load(ordering: .relaxed) == total)
        #expect(sent - total == retried, "sent \(sent), retried \(retried)")
        #expect(retried > 0, "no race at all: the test did not test anything")
        #expect(server.unused.load(ordering: .relaxed) == 0, "connections opened and closed without a request")
        print("\(proto): \(total) calls, \(sent) sent upstream, \(retried) retried, \(server.connections.load(ordering: .relaxed)) connections")
    }
}

/// Runs `clients` keep-alive HTTP/1.1 clients, each sending `perClient` GETs one at a time; returns the failures.
func sequentialHTTPClients(port: Int, clients: Int, perClient: Int, expectBody: @escaping @Sendable (String) -> String)
    throws -> [String]
{
    let failures = Mutex<[String]>([])
    let failed = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    for client in 0..<clients {
        try NetThread.start(name: "http-client", stackSize: 1 << 20) {
            defer { done.wrappingAdd(1, ordering: .relaxed) }
            do {
                var s = try TestSocket.connect(port: port, timeoutSeconds: 20)
                defer { s.close() }
                var buf: [UInt8] = []
                for i in 1...perClient {
                    let path = "/c\(client)-\(i)"
                    try s.send("GET \(path) HTTP/1.1\r\nhost: t\r\n\r\n")
                    let (status, body, close) = try readHTTPResponse(s, &buf)
                    if status != 200 || body != expectBody(path) {
                        failed.wrappingAdd(1, ordering: .relaxed)
                        failures.withLock { if $0.count < 5 { $0.append("client \(client) \(path): \(status) \(body)") } }
                    }
                    if close {
                        s.close()
                        s = try TestSocket.connect(port: port, timeoutSeconds: 20)
                        buf = []
                    }
                }
            } catch {
                failed.wrappingAdd(1, ordering: .relaxed)
                failures.withLock { $0.append("client \(client): \(error)") }
            }
        }
    }
    guard waitUntil(seconds: 180, { done.load(ordering: .relaxed) == clients }) else { throw TestError("clients hung") }
    let n = failed.load(ordering: .relaxed)
    return failures.withLock { n == 0 ? [] : ["\(n) failed"] + $0 }
}

/// One response with a Content-Length body: (status, body, whether the server said it closes).
func readHTTPResponse(_ s: TestSocket, _ buf: inout [UInt8]) throws -> (Int, String, Bool) {
    let end: [UInt8] = [13, 10, 13, 10]
    while true {
        if buf.count >= 4, let i = (0...(buf.count - 4)).first(where: { Array(buf[$0..<($0 + 4)]) == end }) {
            let head = String(decoding: buf[0..<i], as: UTF8.self).lowercased()
            let lines = head.split(separator: "\r\n")
            let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
            let length = lines.compactMap { l -> Int? in
                l.hasPrefix("content-length:") ? Int(l.dropFirst(15).trimmingCharacters()) : nil
            }.first ?? 0
            let close = lines.contains { $0.hasPrefix("connection:") && $0.contains("close") }
            while buf.count < i + 4 + length {
                guard let more = try s.receiveSome() else { throw TestError("EOF in body") }
                buf += more
            }
            let body = String(decoding: buf[(i + 4)..<(i + 4 + length)], as: UTF8.self)
            buf.removeFirst(i + 4 + length)
            return (status, body, close)
        }
        guard let more = try s.receiveSome() else { throw TestError("EOF before a response") }
        buf += more
    }
}

extension UpstreamCloseRetryBinaryTests {
    /// HTTP backends that close each connection 4 ms after its one response: an HTTP/1.0 one (which says so), and
    /// ones that claim keep-alive (HTTP/1.0 with `Connection: keep-alive`, plain HTTP/1.1). 8 keep-alive clients x
    /// 250 requests on each thread model: every request gets its 200; a request sent on a reused connection that
    /// closed before answering was retried, and counted.
    @Test(arguments: [ClosingHTTPServer.Style.http10, .http10KeepAlive, .http11])
    func httpServerClosingAfterEachResponseLosesNothing(style: ClosingHTTPServer.Style) throws {
        let server = try ClosingHTTPServer(name: "one", style: style, closeDelayMicros: 4000)
        defer { server.stop() }
        let np = freePort()
        let rw = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np).sock"
        func listener(_ name: String, _ port: Int, _ model: String) -> String {
            """
            {"name":"\(name)","address":"127.0.0.1:\(port)","thread_model":"\(model)","pollers":1,"workers":\(model == "rwloop" ? 1 : 0),
             "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","upstream_protocol":"Http1","router_config_name":"r"}}]}]}
            """
        }
        let cfg = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
               {"match":{"prefix":"/"},"route":{"cluster_name":"one"}}]}]}],
              "listeners":[\(listener("np", np, "netpoll")),\(listener("rw", rw, "rwloop"))]}],
             "cluster_manager":{"clusters":[{"name":"one","hosts":[{"address":"127.0.0.1:\(server.port)"}]}]}}
            """
        let path = try writeTempFile(cfg)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for port in [np, rw] {
            let failures = try sequentialHTTPClients(
                port: port, clients: Self.clients, perClient: Self.perClient, expectBody: { "one \($0)" })
            #expect(failures == [], "\(style) on \(port == np ? "netpoll" : "rwloop")")
        }
        let total = 2 * Self.clients * Self.perClient
        let h = try hostStats(socket: sock, cluster: "one", host: "127.0.0.1:\(server.port)")
        let sent = h["rq_total"]?.u ?? -1
        let retried = h["rq_retry"]?.u ?? -1
        #expect(server.answered.load(ordering: .relaxed) == total)
        #expect(sent - total == retried, "sent \(sent), retried \(retried)")
        if style == .http10 {
            // The response says the connection ends: it is never reused, so there is nothing to race.
            #expect(retried == 0)
        } else {
            #expect(retried > 0, "no race at all: the test did not test anything")
        }
        print("http \(style): \(total) requests, \(sent) sent upstream, \(retried) retried, \(server.connections.load(ordering: .relaxed)) connections")
    }

    /// A response cut half-way by the close is never sent again: the client gets the protocol's error, the server
    /// saw the request once.
    @Test func boltResponseCutHalfWayIsNotRetried() throws {
        let server = try ClosingRPCServer(kind: .bolt, name: "cut", mode: .cutResponse, closeDelayMicros: 4000)
        defer { server.stop() }
        let np = freePort()
        let rw = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np).sock"
        let routes = #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"cut"}}"#
        let clusters = #"{"name":"cut","hosts":[{"address":"127.0.0.1:\#(server.port)"}]}"#
        let path = try writeTempFile(rpcConfig(proto: "bolt", netpoll: np, rwloop: rw, routes: routes, clusters: clusters))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for (n, port) in [np, rw].enumerated() {
            let s = try TestSocket.connect(port: port)
            defer { s.close() }
            try s.send(RPCFrames.boltRequest(id: 9, service: "svc", content: Array("a fairly long request body".utf8)))
            var buf: [UInt8] = []
            while RPCFrames.parseBolt(buf) == nil {
                guard let more = try s.receiveSome() else { break }
                buf += more
            }
            let f = RPCFrames.parseBolt(buf)
            #expect(f?.id == 9 && f?.status == 16, "Bolt CONNECTION_CLOSED expected: \(String(describing: f))")
            #expect(server.requestsRead.load(ordering: .relaxed) == n + 1, "sent again")
        }
        let h = try hostStats(socket: sock, cluster: "cut", host: "127.0.0.1:\(server.port)")
        #expect(h["rq_retry"]?.u == 0)
        #expect(h["rq_remote_reset"]?.u == 2)
    }

    /// A server that reads each request and closes without answering: without a retry policy a call is sent twice;
    /// `retry_policy` raises that (`num_retries: 3`: four sends) or turns it off (`num_retries: 0`: one send).
    @Test func retryPolicyRaisesOrDisablesTheRetry() throws {
        let server = try ClosingRPCServer(kind: .bolt, name: "mute", mode: .silent, closeDelayMicros: 2000)
        defer { server.stop() }
        let np = freePort()
        let rw = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np).sock"
        let routes = """
            {"match":{"headers":[{"name":"service","value":"none"}]},"route":{"cluster_name":"mute","retry_policy":{"retry_on":true,"num_retries":0}}},
            {"match":{"headers":[{"name":"service","value":"three"}]},"route":{"cluster_name":"mute","retry_policy":{"retry_on":"reset","num_retries":3}}},
            {"match":{"headers":[{"name":"service","value":"only5xx"}]},"route":{"cluster_name":"mute","retry_policy":{"retry_on":"5xx","num_retries":3}}},
            {"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"mute"}}
            """
        let clusters = #"{"name":"mute","hosts":[{"address":"127.0.0.1:\#(server.port)"}]}"#
        let path = try writeTempFile(rpcConfig(proto: "bolt", netpoll: np, rwloop: rw, routes: routes, clusters: clusters))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        var retries = 0
        for port in [np, rw] {
            for (service, sends) in [("default", 2), ("none", 1), ("three", 4), ("only5xx", 1)] {
                let before = server.requestsRead.load(ordering: .relaxed)
                let s = try TestSocket.connect(port: port)
                defer { s.close() }
                try s.send(RPCFrames.boltRequest(id: 3, service: service, content: [1, 2, 3]))
                var buf: [UInt8] = []
                while RPCFrames.parseBolt(buf) == nil {
                    guard let more = try s.receiveSome() else { break }
                    buf += more
                }
                let f = RPCFrames.parseBolt(buf)
                #expect(f?.id == 3 && f?.status == 16, "\(service): \(String(describing: f))")
                #expect(server.requestsRead.load(ordering: .relaxed) - before == sends, "\(service)")
                retries += sends - 1
            }
        }
        let h = try hostStats(socket: sock, cluster: "mute", host: "127.0.0.1:\(server.port)")
        #expect(h["rq_retry"]?.u == retries)
    }

    /// A retry goes to another host when the cluster has one: a host that closes without answering, and a healthy
    /// keep-alive one; round robin sends every other call to the first, and every call is answered by the second.
    @Test func retryGoesToAnotherHost() throws {
        let mute = try ClosingRPCServer(kind: .dubbo, name: "mute", mode: .silent, closeDelayMicros: 2000)
        let good = try RPCTestServer(kind: .dubbo, name: "good")
        defer {
            mute.stop()
            good.stop()
        }
        let np = freePort()
        let rw = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np).sock"
        let routes = #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"two"}}"#
        let clusters = """
            {"name":"two","lb_type":"LB_ROUNDROBIN","hosts":[{"address":"127.0.0.1:\(mute.port)"},{"address":"127.0.0.1:\(good.port)"}]}
            """
        let path = try writeTempFile(rpcConfig(proto: "dubbo", netpoll: np, rwloop: rw, routes: routes, clusters: clusters))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for port in [np, rw] {
            let got = try rpcClient(
                port: port, count: 20, window: 1,
                frame: { i in RPCFrames.dubboRequest(id: UInt64(i), service: "svc", method: "m", payload: "p\(i)") },
                responseID: { b in RPCFrames.parseDubbo(b).map { ($0.length, Int($0.id)) } })
            #expect(got.count == 20)
            #expect(got.values.allSatisfy { RPCFrames.parseDubbo($0)?.status == 20 })
        }
        #expect(good.requests.load(ordering: .relaxed) == 40)
        let h = try hostStats(socket: sock, cluster: "two", host: "127.0.0.1:\(mute.port)")
        #expect(h["rq_retry"]?.u == mute.requestsRead.load(ordering: .relaxed))
        #expect((h["rq_retry"]?.u ?? 0) >= 10)
    }
}

extension UpstreamCloseRetryBinaryTests {
    /// A cluster that says its server closes after each response (`max_request_per_conn: 1`): every request goes out
    /// on a connection of its own, so none races a close and nothing is retried.
    @Test func maxRequestPerConnOneSendsEachRequestOnItsOwnConnection() throws {
        let server = try ClosingRPCServer(kind: .bolt, name: "one", closeDelayMicros: 4000)
        defer { server.stop() }
        let np = freePort()
        let rw = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np).sock"
        let routes = #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"one"}}"#
        let clusters = #"{"name":"one","max_request_per_conn":1,"hosts":[{"address":"127.0.0.1:\#(server.port)"}]}"#
        let path = try writeTempFile(
            rpcConfig(proto: "bolt", netpoll: np, rwloop: rw, routes: routes, clusters: clusters, rwloopWorkers: 2))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let perClient = 100
        for port in [np, rw] {
            let failures = try sequentialRPCClients(
                port: port, clients: Self.clients, perClient: perClient,
                frame: { c, i in RPCFrames.boltRequest(id: i, service: "svc", content: Array("c\(c)-\(i)".utf8)) },
                parse: { b in RPCFrames.parseBolt(b).map { ($0.length, $0.id) } },
                check: { c, i, r in
                    let f = RPCFrames.parseBolt(r)!
                    return f.status == 0 && f.content == Array("one:c\(c)-\(i)".utf8) ? nil : "status \(f.status)"
                })
            #expect(failures == [], "port \(port == np ? "netpoll" : "rwloop")")
        }
        let total = 2 * Self.clients * perClient
        let h = try hostStats(socket: sock, cluster: "one", host: "127.0.0.1:\(server.port)")
        #expect(h["rq_retry"]?.u == 0)
        #expect(h["rq_total"]?.u == total)
        #expect(server.connections.load(ordering: .relaxed) == total)
        #expect(server.unused.load(ordering: .relaxed) == 0)
    }
}

extension UpstreamCloseRetryBinaryTests {
    /// A keep-alive server that drops its connection with 40 requests in flight: all 40 are sent again and answered;
    /// 16 go out alone on new connections, the other 24 share one (no burst of 40 connects).
    @Test func manyLostStreamsAreRetriedOnAtMostSixteenNewConnectionsPlusThePool() throws {
        let backend = try RPCTestServer(kind: .bolt, name: "b")
        defer { backend.stop() }
        let np = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np).sock"
        let routes = #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"b"}}"#
        let clusters = #"{"name":"b","hosts":[{"address":"127.0.0.1:\#(backend.port)"}]}"#
        let path = try writeTempFile(rpcConfig(proto: "bolt", netpoll: np, rwloop: freePort(), routes: routes, clusters: clusters))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        backend.silent.store(true, ordering: .relaxed)
        let result = Mutex<Result<[Int: [UInt8]], any Error>?>(nil)
        try NetThread.start(name: "bolt-client", stackSize: 1 << 20) {
            let r = Result {
                try rpcClient(
                    port: np, count: 40, window: 40,
                    frame: { i in RPCFrames.boltRequest(id: i, service: "x", content: Array("r\(i)".utf8), timeoutMs: 10_000) },
                    responseID: { b in RPCFrames.parseBolt(b).map { ($0.length, $0.id) } })
            }
            result.withLock { $0 = r }
        }
        #expect(waitUntil(seconds: 10) { backend.requests.load(ordering: .relaxed) == 40 })
        backend.silent.store(false, ordering: .relaxed)
        backend.dropConnections()
        #expect(waitUntil(seconds: 20) { result.withLock { $0 != nil } })
        let got = try result.withLock { try $0?.get() } ?? [:]
        #expect(got.count == 40)
        #expect(got.allSatisfy { id, f in RPCFrames.parseBolt(f)?.content == Array("b:r\(id)".utf8) })
        #expect(backend.requests.load(ordering: .relaxed) == 80)
        #expect(backend.connections.load(ordering: .relaxed) == 1 + 16 + 1)
        let h = try hostStats(socket: sock, cluster: "b", host: "127.0.0.1:\(backend.port)")
        #expect(h["rq_retry"]?.u == 40)
    }
}

extension UpstreamCloseRetryBinaryTests {
    /// Clients that reset their connections with requests in flight: their streams still end (timed out, or lost
    /// and not sent again: nobody is waiting) without touching freed client handlers; Skiff serves on.
    @Test func clientsLeavingWithRequestsInFlight() throws {
        let backend = try RPCTestServer(kind: .bolt, name: "b")
        defer { backend.stop() }
        let np = freePort()
        let rw = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-\(np).sock"
        let routes = #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"b"}}"#
        let clusters = #"{"name":"b","hosts":[{"address":"127.0.0.1:\#(backend.port)"}]}"#
        let path = try writeTempFile(rpcConfig(proto: "bolt", netpoll: np, rwloop: rw, routes: routes, clusters: clusters))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        backend.silent.store(true, ordering: .relaxed)
        for port in [np, rw] {
            for round in 0..<2 {
                for c in 0..<10 {
                    let s = try TestSocket.connect(port: port)
                    for i in 1...20 {
                        try s.send(RPCFrames.boltRequest(id: i, service: "x", content: [UInt8(c), UInt8(i)], timeoutMs: 200))
                    }
                    usleep(20_000)
                    // Abortive close (RST): Skiff's side of the connection closes at once, streams still in flight.
                    var lin = linger(l_onoff: 1, l_linger: 0)
                    setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &lin, socklen_t(MemoryLayout<linger>.size))
                    s.close()
                }
                // Round 0: the streams time out; round 1: the upstream connection is lost under them.
                if round == 1 {
                    usleep(50_000)
                    backend.dropConnections()
                }
                usleep(400_000)
            }
        }
        backend.silent.store(false, ordering: .relaxed)
        #expect(!p.hasExited, "\(p.output.suffix(2000))")
        for port in [np, rw] {
            let got = try rpcClient(
                port: port, count: 5, window: 5,
                frame: { i in RPCFrames.boltRequest(id: i, service: "x", content: Array("ok\(i)".utf8)) },
                responseID: { b in RPCFrames.parseBolt(b).map { ($0.length, $0.id) } })
            #expect(got.count == 5)
        }
        let h = try hostStats(socket: sock, cluster: "b", host: "127.0.0.1:\(backend.port)")
        #expect(h["rq_retry"]?.u == 0, "nobody waits for those: never sent again")
        #expect(h["rq_active"]?.u == 0)
    }
}
