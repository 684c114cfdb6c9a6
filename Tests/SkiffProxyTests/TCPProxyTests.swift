import Glibc
import SkiffConfig
import SkiffNet
import SkiffTestSupport
import SkiffUpstream
import Synchronization
import Testing

@testable import SkiffProxy

/// A tcp_proxy listener on 127.0.0.1:0 in front of the given backend ports, on one thread model.
final class ProxyHarness: @unchecked Sendable {
    let listener: Listener
    let proxy: TCPProxy
    let clusters: ClusterManager
    let group: NetPollGroup?
    let rw: RWLoopGroup?

    init(
        model: NetModel, backends: [Int], maxConnectAttempts: Int = 1, writeLimit: Int = 1 << 20,
        idleTimeout: Duration? = nil, workers: Int = 0, pollers: Int = 2
    ) throws {
        let cluster = ClusterConfig(
            name: "backend", lbType: .roundRobin, connBufferLimitBytes: writeLimit, connectTimeout: .seconds(2),
            hosts: backends.map { HostConfig(address: SocketAddressSpec(host: "127.0.0.1", port: $0)) })
        clusters = try ClusterManager(configs: [cluster])
        proxy = try TCPProxy(
            config: TCPProxyConfig(cluster: "backend", idleTimeout: idleTimeout, maxConnectAttempts: maxConnectAttempts),
            clusters: clusters)
        let pool = workers > 0 ? try WorkerPool(name: "tw", size: workers) : nil
        let options = ListenerOptions(
            name: "tcp", address: SocketAddress(ip: "127.0.0.1", port: 0)!,
            connection: ConnectionOptions(writeLimit: writeLimit, idleTimeout: idleTimeout, workers: pool))
        ignoreSIGPIPE()
        if model == .netpoll {
            group = try NetPollGroup(name: "tp", count: pollers)
            rw = nil
            listener = try group!.listen(options, delegate: proxy)
        } else {
            group = nil
            rw = RWLoopGroup(name: "tr")
            listener = try rw!.listen(options, delegate: proxy)
        }
    }

    var port: Int { listener.address.port }

    func stop() {
        if let g = group {
            g.stopListening(listener)
            g.shutdown()
        } else {
            rw!.stopListening(listener)
        }
    }

    /// Buffers currently allocated by the model's pools (a bound on the proxy's memory for payload).
    var allocatedBuffers: Int {
        if let g = group { return g.pollers.reduce(0) { $0 + $1.pool.allocatedCount } }
        return rw!.pool.allocatedCount
    }
}

/// Sends `data` on one thread while receiving the echo on this one; returns what came back.
func echoRoundTrip(port: Int, data: [UInt8]) throws -> [UInt8] {
    let s = try TestSocket.connect(port: port, timeoutSeconds: 30)
    defer { s.close() }
    let sendError = Mutex<String?>(nil)
    let done = Atomic<Bool>(false)
    try NetThread.start(name: "sender", stackSize: 512 * 1024) {
        do {
            try s.send(data)
            s.shutdownWrite()
        } catch {
            sendError.withLock { $0 = "\(error)" }
        }
        done.store(true, ordering: .releasing)
    }
    let got = try s.receiveToEOF(limit: data.count + 1)
    _ = waitUntil(seconds: 10) { done.load(ordering: .acquiring) }
    if let e = sendError.withLock({ $0 }) { throw TestError("send: \(e)") }
    return got
}

@Suite(.serialized) struct TCPProxyTests {
    static let sizes = [1, 1_000, 10_000_000]

    @Test(arguments: NetModel.allCases, sizes)
    func echoOneConnection(model: NetModel, size: Int) throws {
        let echo = try EchoServer(mode: .echo)
        defer { echo.stop() }
        let p = try ProxyHarness(model: model, backends: [echo.port])
        defer { p.stop() }
        let data = patternBytes(count: size, seed: UInt64(size))
        let got = try echoRoundTrip(port: p.port, data: data)
        #expect(got.count == data.count)
        #expect(got == data)
        #expect(waitUntil { p.proxy.stats.activeSessions.load(ordering: .relaxed) == 0 })
    }

    @Test(arguments: NetModel.allCases, sizes)
    func echoFiftyParallelConnections(model: NetModel, size: Int) throws {
        let echo = try EchoServer(mode: .echo)
        defer { echo.stop() }
        let p = try ProxyHarness(model: model, backends: [echo.port])
        defer { p.stop() }
        let failures = Mutex<[String]>([])
        let finished = Atomic<Int>(0)
        for i in 0..<50 {
            try NetThread.start(name: "client\(i)", stackSize: 512 * 1024) {
                let data = patternBytes(count: size, seed: UInt64(i + 1))
                do {
                    let got = try echoRoundTrip(port: p.port, data: data)
                    if got != data { failures.withLock { $0.append("conn \(i): \(got.count) bytes, mismatch") } }
                } catch {
                    failures.withLock { $0.append("conn \(i): \(error)") }
                }
                finished.wrappingAdd(1, ordering: .relaxed)
            }
        }
        #expect(waitUntil(seconds: 240) { finished.load(ordering: .relaxed) == 50 })
        let s = p.proxy.stats
        let hs = p.clusters["backend"]?.hosts.first?.stats
        #expect(
            failures.withLock { $0 } == [],
            """
            proxy: connect failures \(s.upstreamConnectFailures.load(ordering: .relaxed)), no route \(s.noRoute.load(ordering: .relaxed)), \
            idle \(s.idleTimeouts.load(ordering: .relaxed)); host: con_fail \(hs?.connectionConFail.load(ordering: .relaxed) ?? 0), \
            connect timeouts \(hs?.connectTimeouts.load(ordering: .relaxed) ?? 0); listener refused \(p.listener.stats.refusedOverLimit.load(ordering: .relaxed)), \
            accept errors \(p.listener.stats.acceptErrors.load(ordering: .relaxed))
            """)
        #expect(p.proxy.stats.sessions.load(ordering: .relaxed) == 50)
        #expect(waitUntil { p.proxy.stats.activeSessions.load(ordering: .relaxed) == 0 })
    }

    /// The client's FIN reaches the backend, and the backend's data still flows back afterwards.
    @Test(arguments: NetModel.allCases)
    func halfCloseKeepsTheOtherDirection(model: NetModel) throws {
        let echo = try EchoServer(mode: .echo)
        defer { echo.stop() }
        let p = try ProxyHarness(model: model, backends: [echo.port])
        defer { p.stop() }
        let s = try TestSocket.connect(port: p.port)
        defer { s.close() }
        let data = patternBytes(count: 200_000, seed: 3)
        try s.send(data)
        s.shutdownWrite()
        // Everything sent before the FIN comes back after it, then the backend's FIN.
        #expect(try s.receiveToEOF() == data)
    }

    /// A backend that speaks first and closes: the client gets its bytes and then EOF.
    @Test(arguments: NetModel.allCases)
    func serverFirstProtocolAndServerClose(model: NetModel) throws {
        let greet = try EchoServer(mode: .greet(Array("220 hello\r\n".utf8)))
        defer { greet.stop() }
        let p = try ProxyHarness(model: model, backends: [greet.port])
        defer { p.stop() }
        let s = try TestSocket.connect(port: p.port)
        defer { s.close() }
        #expect(try s.receive(exactly: 11) == Array("220 hello\r\n".utf8))
        s.shutdownWrite()
        #expect(try s.receiveSome() == nil)
    }

    @Test(arguments: NetModel.allCases)
    func refusedUpstreamClosesDownstreamAndCounts(model: NetModel) throws {
        let deadPort = DeadPort()
        let dead = deadPort.port
        let p = try ProxyHarness(model: model, backends: [dead])
        defer { p.stop() }
        let s = try TestSocket.connect(port: p.port)
        defer { s.close() }
        // The proxy closes the client: EOF or a reset, never data, never a hang.
        let r = Result { try s.receiveSome() }
        switch r {
        case .success(let bytes): #expect(bytes == nil)
        case .failure(let e): #expect((e as? TestError)?.errno == ECONNRESET)
        }
        #expect(waitUntil { p.proxy.stats.upstreamConnectFailures.load(ordering: .relaxed) == 1 })
        let host = p.clusters["backend"]!.hosts[0]
        #expect(host.stats.connectionConFail.load(ordering: .relaxed) == 1)
    }

    @Test(arguments: NetModel.allCases)
    func maxConnectAttemptsTriesTheNextHost(model: NetModel) throws {
        let echo = try EchoServer(mode: .echo)
        defer { echo.stop() }
        let deadPort = DeadPort()
        let dead = deadPort.port
        let p = try ProxyHarness(model: model, backends: [dead, echo.port], maxConnectAttempts: 2)
        defer { p.stop() }
        for i in 0..<4 {
            let data = patternBytes(count: 1000, seed: UInt64(i + 10))
            #expect(try echoRoundTrip(port: p.port, data: data) == data)
        }
        let deadHost = p.clusters["backend"]!.hosts[0]
        #expect(deadHost.stats.connectionConFail.load(ordering: .relaxed) >= 1)
        #expect(p.proxy.stats.upstreamConnectFailures.load(ordering: .relaxed) == 0)
    }

    /// A client that sends without ever reading: the echo backs up, the proxy pauses both directions, and the
    /// proxy's payload memory stays within its write limits.
    @Test(arguments: NetModel.allCases)
    func slowReaderStaysWithinTheBufferBound(model: NetModel) throws {
        let echo = try EchoServer(mode: .echo)
        defer { echo.stop() }
        let limit = 256 * 1024
        let p = try ProxyHarness(model: model, backends: [echo.port], writeLimit: limit)
        defer { p.stop() }
        let s = try TestSocket.connect(port: p.port)
        defer { s.close() }
        s.setTimeout(seconds: 1)
        let chunk = patternBytes(count: 64 * 1024, seed: 5)
        var sent = 0
        // Send until the socket blocks for a second (SO_SNDTIMEO): back-pressure reached the client.
        while sent < 256 << 20 {
            let n = chunk.withUnsafeBytes { Glibc.send(s.fd, $0.baseAddress!, chunk.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        #expect(sent < 256 << 20, "the client was never held back")
        // Each side may hold its limit plus one read's worth, and the pool keeps some free buffers.
        let bufferSize = 64 * 1024
        let bound = 2 * (limit / bufferSize + 2) + 4
        #expect(p.allocatedBuffers <= bound, "allocated \(p.allocatedBuffers) buffers, bound \(bound)")
    }

    @Test(arguments: NetModel.allCases)
    func workerPoolModeEchoes(model: NetModel) throws {
        let echo = try EchoServer(mode: .echo)
        defer { echo.stop() }
        let p = try ProxyHarness(model: model, backends: [echo.port], workers: 2)
        defer { p.stop() }
        let data = patternBytes(count: 2_000_000, seed: 9)
        #expect(try echoRoundTrip(port: p.port, data: data) == data)
    }

    @Test(arguments: NetModel.allCases)
    func idleSessionIsClosed(model: NetModel) throws {
        let echo = try EchoServer(mode: .echo)
        defer { echo.stop() }
        let p = try ProxyHarness(model: model, backends: [echo.port], idleTimeout: .milliseconds(300))
        defer { p.stop() }
        let s = try TestSocket.connect(port: p.port)
        defer { s.close() }
        try s.send("x")
        #expect(try s.receive(exactly: 1) == [UInt8(ascii: "x")])
        #expect(try s.receiveSome() == nil)
        #expect(waitUntil { p.proxy.stats.activeSessions.load(ordering: .relaxed) == 0 })
    }
}
