import Glibc
import SkiffConfig
import SkiffNet
import SkiffTestSupport
import SkiffUpstream
import Synchronization
import Testing

@testable import SkiffProxy

/// Small timeouts so nothing waits for the real defaults (10 s / 60 s / 60 s, checked from the config below).
private let quick = HTTPProxyOptions(
    requestHeaderTimeout: .milliseconds(300), requestBodyTimeout: .milliseconds(300), idleTimeout: .milliseconds(300))

private func seconds(since start: UInt64) -> Double { Double(MonotonicClock.now() - start) / 1e9 }

/// Reads one response head and its Content-Length body (or up to EOF), at most `timeout` seconds.
private func response(_ s: TestSocket) throws -> String {
    var got: [UInt8] = []
    while true {
        guard let chunk = try s.receiveSome() else { break }
        got += chunk
        let text = String(decoding: got, as: UTF8.self)
        if let end = text.offsetOfHeadEnd() {
            let cl = text.lowercased().split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            let n = cl.flatMap { Int($0.dropFirst(15).trimmingCharacters()) } ?? 0
            if got.count >= end + n { break }
        }
    }
    return String(decoding: got, as: UTF8.self)
}

/// The request timeouts of the HTTP proxy (issue 13, item 2), with their counters, in-process on both models.
@Suite(.serialized) struct HTTPTimeoutTests {
    /// The defaults come from the parsed config: 10 s for a request head, 60 s for a stalled body, 60 s idle.
    @Test func defaultsAreTenSixtySixty() throws {
        let json = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],
              "routers":[{"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]}],
              "listeners":[{"name":"h","address":"127.0.0.1:0","filter_chains":[{"filters":[{"type":"proxy",
              "config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:1"}]}]}}
            """
        let cfg = try ConfigDecoder.decode(json)
        let options = HTTPProxyOptions(listener: cfg.servers[0].listeners[0])
        #expect(options.requestHeaderTimeout == .seconds(10))
        #expect(options.requestBodyTimeout == .seconds(60))
        #expect(options.idleTimeout == .seconds(60))
        let clusters = try ClusterManager(configs: cfg.clusters)
        guard case .proxy(let p) = cfg.servers[0].listeners[0].filterChains[0].filters[0] else {
            throw TestError("no proxy filter")
        }
        let m = try HTTPConnectionManager(
            filter: p, routers: try RouterRegistry(cfg.servers[0].routers), clusters: clusters, options: options)
        #expect(m.headerTimeoutNs == 10_000_000_000)
        #expect(m.bodyTimeoutNs == 60_000_000_000)
        #expect(m.idleTimeoutNs == 60_000_000_000)
    }

    /// A client that connects and says nothing gets its 408 at the header timeout from the accept, and is closed.
    @Test(arguments: NetModel.allCases)
    func silentConnectionGets408(model: NetModel) throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let h = try HTTPHarness(model: model, backends: [backend.port], options: quick)
        defer { h.stop() }
        let s = try TestSocket.connect(port: h.port, timeoutSeconds: 5)
        defer { s.close() }
        let start = MonotonicClock.now()
        let out = String(decoding: try s.receiveToEOF(), as: UTF8.self)
        #expect(out.hasPrefix("HTTP/1.1 408"), "\(out)")
        #expect(out.contains("x-skiff-reason: request header timeout"), "\(out)")
        #expect(seconds(since: start) > 0.25 && seconds(since: start) < 4)
        #expect(h.manager.stats.headerTimeouts.load(ordering: .relaxed) == 1)
        #expect(backend.requests.load(ordering: .relaxed) == 0)
    }

    /// Between requests the idle timeout runs (closed without a reply); while a response is pending it does not.
    @Test(arguments: NetModel.allCases)
    func idleKeepAliveClosesButASlowResponseIsNotIdle(model: NetModel) throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let h = try HTTPHarness(model: model, backends: [backend.port], options: quick)
        defer { h.stop() }
        let s = try TestSocket.connect(port: h.port, timeoutSeconds: 5)
        defer { s.close() }
        // 900 ms upstream: three idle and header timeouts long; the client waits, it is not idle.
        let start = MonotonicClock.now()
        try s.send("GET /slow/900 HTTP/1.1\r\nHost: t\r\n\r\n")
        let r = try response(s)
        #expect(r.hasPrefix("HTTP/1.1 200"), "\(r)")
        #expect(r.hasSuffix("b slow"), "\(r)")
        #expect(try s.receiveSome() == nil, "the idle connection is closed without a reply")
        // The response took 900 ms, then the idle timeout ran (timed from the send: a loaded machine only delays
        // the proxy's side, never hurries it).
        #expect(seconds(since: start) > 1.15 && seconds(since: start) < 4, "\(seconds(since: start)) s")
        #expect(h.manager.stats.idleTimeouts.load(ordering: .relaxed) == 1)
        #expect(h.manager.stats.headerTimeouts.load(ordering: .relaxed) == 0)
    }

    /// A later request's head has the header timeout from its first byte: idle for longer than the header timeout,
    /// then a head that stops half-way gets 408 that long after its first byte. A head that arrives in pieces
    /// within the timeout is served.
    @Test(arguments: NetModel.allCases)
    func laterHeadsAreTimedFromTheirFirstByte(model: NetModel) throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        // One second for a head (margin for a loaded machine), five idle.
        let options = HTTPProxyOptions(requestHeaderTimeout: .seconds(1), idleTimeout: .seconds(5))
        let h = try HTTPHarness(model: model, backends: [backend.port], options: options)
        defer { h.stop() }
        let s = try TestSocket.connect(port: h.port, timeoutSeconds: 6)
        defer { s.close() }
        try s.send("GET /a HTTP/1.1\r\n")
        usleep(100_000)
        try s.send("Host: t\r\n\r\n")
        #expect(try response(s).hasSuffix("b /a"))
        usleep(1_500_000)  // idle for longer than the header timeout: no 408 for that
        let start = MonotonicClock.now()
        try s.send("GET /b HTTP/1.1\r\nHo")
        let out = String(decoding: try s.receiveToEOF(), as: UTF8.self)
        #expect(out.hasPrefix("HTTP/1.1 408"), "\(out)")
        #expect(seconds(since: start) > 0.95 && seconds(since: start) < 4, "\(seconds(since: start)) s")
        #expect(h.manager.stats.headerTimeouts.load(ordering: .relaxed) == 1)
        #expect(backend.count(path: "/b") == 0)
    }

    /// A body that stalls gets 408 at the body timeout; the upstream that had part of it is closed, never pooled,
    /// and the host's timeout and 5xx counters stay where they were.
    @Test(arguments: NetModel.allCases)
    func stalledBodyGets408AndDropsTheUpstream(model: NetModel) throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let h = try HTTPHarness(model: model, backends: [backend.port], options: quick)
        defer { h.stop() }
        let s = try TestSocket.connect(port: h.port, timeoutSeconds: 5)
        defer { s.close() }
        try s.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789")
        let start = MonotonicClock.now()
        let out = String(decoding: try s.receiveToEOF(), as: UTF8.self)
        #expect(out.hasPrefix("HTTP/1.1 408"), "\(out)")
        #expect(out.contains("x-skiff-reason: request body timeout"), "\(out)")
        #expect(seconds(since: start) > 0.25 && seconds(since: start) < 4)
        let host = h.clusters["c"]!.hosts[0]
        #expect(h.manager.stats.bodyTimeouts.load(ordering: .relaxed) == 1)
        #expect(h.manager.stats.routeTimeouts.load(ordering: .relaxed) == 0)
        #expect(h.manager.stats.responses5xx.load(ordering: .relaxed) == 0)
        #expect(host.stats.requestTimeout.load(ordering: .relaxed) == 0)
        #expect(host.stats.responseFailed.load(ordering: .relaxed) == 0)
        #expect(waitUntil { host.stats.connectionActive.load(ordering: .relaxed) == 0 }, "the upstream is closed")
        #expect(host.stats.connectionIdle.load(ordering: .relaxed) == 0, "and never pooled")
    }

    /// The body timeout is about stalls, not the whole upload: a body sent slowly but steadily goes through.
    @Test(arguments: NetModel.allCases)
    func slowSteadyBodyPasses(model: NetModel) throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        // One second without a body byte (margin for a loaded machine); 8 x 250 ms is twice that in all.
        let h = try HTTPHarness(
            model: model, backends: [backend.port], options: HTTPProxyOptions(requestBodyTimeout: .seconds(1)))
        defer { h.stop() }
        let s = try TestSocket.connect(port: h.port, timeoutSeconds: 5)
        defer { s.close() }
        try s.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 24\r\n\r\n")
        for i in 0..<8 {
            usleep(250_000)
            try s.send("ab\(i)")
        }
        let r = try response(s)
        #expect(r.hasPrefix("HTTP/1.1 200"), "\(r)")
        #expect(r.hasSuffix("ab0ab1ab2ab3ab4ab5ab6ab7"), "\(r)")
        #expect(h.manager.stats.bodyTimeouts.load(ordering: .relaxed) == 0)
    }

    /// Chunk sizes a parser could read two ways, and chunk data without its CRLF: 400 at once (not a 504 at the
    /// route timeout), counted as a protocol error, the upstream closed and not pooled, the host's counters clean.
    @Test(arguments: NetModel.allCases)
    func malformedChunkGets400AtOnce(model: NetModel) throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let h = try HTTPHarness(model: model, backends: [backend.port])
        defer { h.stop() }
        let vectors = ["0x5\r\nhello\r\n0\r\n\r\n", "+5\r\nhello\r\n0\r\n\r\n", "-1\r\nx\r\n0\r\n\r\n",
            "ffffffffffffffff1\r\n", "5\r\nhelloXX0\r\n\r\n"]
        for v in vectors {
            let s = try TestSocket.connect(port: h.port, timeoutSeconds: 5)
            defer { s.close() }
            try s.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + v)
            let start = MonotonicClock.now()
            let out = String(decoding: try s.receiveToEOF(), as: UTF8.self)
            #expect(out.hasPrefix("HTTP/1.1 400"), "\(v.debugDescription): \(out)")
            #expect(out.occurrences(of: "HTTP/1.1") == 1, "\(out)")
            #expect(seconds(since: start) < 2, "\(v.debugDescription) took \(seconds(since: start)) s")
        }
        let host = h.clusters["c"]!.hosts[0]
        #expect(h.manager.stats.protocolErrors.load(ordering: .relaxed) == UInt64(vectors.count))
        #expect(h.manager.stats.routeTimeouts.load(ordering: .relaxed) == 0)
        #expect(h.manager.stats.responses5xx.load(ordering: .relaxed) == 0)
        #expect(host.stats.requestTimeout.load(ordering: .relaxed) == 0)
        #expect(host.stats.responseFailed.load(ordering: .relaxed) == 0)
        #expect(waitUntil { host.stats.connectionActive.load(ordering: .relaxed) == 0 }, "upstreams closed")
        #expect(host.stats.connectionIdle.load(ordering: .relaxed) == 0, "and never pooled")
    }
}

extension String {
    func occurrences(of needle: String) -> Int {
        let h = Array(utf8)
        let n = Array(needle.utf8)
        guard !n.isEmpty, n.count <= h.count else { return 0 }
        return (0...(h.count - n.count)).filter { h[$0..<($0 + n.count)].elementsEqual(n) }.count
    }
}
