import Glibc
import SkiffTestSupport
import Synchronization
import Testing

@testable import SkiffNet

/// Echoes every read back on the same connection (the simplest handler), on either thread model.
final class EchoHandler: ConnectionHandler, ListenerDelegate, @unchecked Sendable {
    let closed = Atomic<Int>(0)
    func listener(_ listener: Listener, accepted connection: Connection) -> (any ConnectionHandler)? { self }
    func connection(_ c: Connection, didRead buffer: ByteBuffer) { c.write(buffer) }
    func connectionDidReadEOF(_ c: Connection) { c.shutdownWrite() }
    func connectionDidClose(_ c: Connection, reason: CloseReason) { closed.wrappingAdd(1, ordering: .relaxed) }
}

/// Records what an outbound connection sees.
final class RecordingHandler: ConnectionHandler, @unchecked Sendable {
    let received = Mutex<[UInt8]>([])
    let connected = Atomic<Bool>(false)
    let closeReason = Mutex<CloseReason?>(nil)
    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        received.withLock { $0.append(contentsOf: buffer.readableView) }
        buffer.release()
    }
    func connectionDidReadEOF(_ c: Connection) {}
    func connectionDidConnect(_ c: Connection) { connected.store(true, ordering: .relaxed) }
    var isConnected: Bool { connected.load(ordering: .relaxed) }
    func connectionDidClose(_ c: Connection, reason: CloseReason) { closeReason.withLock { $0 = reason } }
}

/// Starts a listener on the given model and returns it with a way to open outbound connections on the same model.
struct ModelHarness {
    let model: NetModel
    let group: NetPollGroup?
    let rw: RWLoopGroup?

    init(_ model: NetModel) throws {
        self.model = model
        group = model == .netpoll ? try NetPollGroup(name: "t", count: 2) : nil
        rw = model == .rwloop ? RWLoopGroup(name: "t") : nil
    }

    func listen(
        _ delegate: any ListenerDelegate, options: ConnectionOptions = ConnectionOptions(),
        tls: TLSServerEndpoint? = nil
    ) throws -> Listener {
        var o = ListenerOptions(name: "test", address: SocketAddress(ip: "127.0.0.1", port: 0)!, connection: options)
        o.tls = tls
        return model == .netpoll ? try group!.listen(o, delegate: delegate) : try rw!.listen(o, delegate: delegate)
    }

    func connect(
        port: Int, handler: any ConnectionHandler, timeout: Duration = .seconds(2),
        options: ConnectionOptions = ConnectionOptions()
    ) -> Connection {
        let a = SocketAddress(ip: "127.0.0.1", port: port)!
        if let g = group {
            return g.pollers[0].connect(to: a, timeout: timeout, options: options, label: "t", handler: handler)
        }
        return rw!.connect(to: a, timeout: timeout, options: options, label: "t", handler: handler)
    }

    func stop(_ l: Listener) {
        if let g = group {
            g.stopListening(l)
            g.shutdown()
        } else {
            rw!.stopListening(l)
        }
    }
}

@Suite struct ConnectionTests {
    @Test(arguments: NetModel.allCases)
    func echoesThroughAListener(model: NetModel) throws {
        let h = try ModelHarness(model)
        let echo = EchoHandler()
        let l = try h.listen(echo)
        defer { h.stop(l) }
        let s = try TestSocket.connect(port: l.address.port)
        defer { s.close() }
        let data = patternBytes(count: 300_000, seed: 7)
        try s.send(data)
        #expect(try s.receive(exactly: data.count) == data)
        s.shutdownWrite()
        #expect(try s.receiveToEOF().isEmpty)
        #expect(waitUntil { echo.closed.load(ordering: .relaxed) == 1 })
        #expect(l.stats.accepted.load(ordering: .relaxed) == 1)
        #expect(waitUntil { l.stats.active.load(ordering: .relaxed) == 0 })
    }

    /// Sixteen small buffers queued together leave in one writev (the coalescing path both models share).
    @Test(arguments: NetModel.allCases)
    func sixteenQueuedWritesCoalesceIntoOneWritev(model: NetModel) throws {
        let server = try EchoServer(mode: .echo)
        defer { server.stop() }
        let h = try ModelHarness(model)
        defer { h.group?.shutdown() }
        let rec = RecordingHandler()
        let c = h.connect(port: server.port, handler: rec)
        #expect(waitUntil { rec.isConnected })
        let bufs = (0..<16).map { i in ByteBuffer(copying: Array("msg-\(i);".utf8)) }
        let expected = bufs.flatMap { $0.readableArray() }
        c.write(contentsOf: bufs)
        #expect(waitUntil { rec.received.withLock { $0.count } == expected.count })
        #expect(rec.received.withLock { $0 } == expected)
        // The echo can come back before the writer (rwloop's writer thread) has counted its writev.
        #expect(waitUntil { c.stats.snapshot.writevCalls >= 1 })
        let st = c.stats.snapshot
        #expect(st.buffersQueued == 16)
        #expect(st.writevCalls == 1)
        #expect(st.perWritev == [0, 0, 0, 0, 1])
        c.close()
        #expect(waitUntil { rec.closeReason.withLock { $0 } == .local })
    }

    @Test(arguments: NetModel.allCases)
    func refusedConnectReportsConnectFailed(model: NetModel) throws {
        let deadPort = DeadPort()  // bound, never listening
        let port = deadPort.port
        let h = try ModelHarness(model)
        defer { h.group?.shutdown() }
        let rec = RecordingHandler()
        _ = h.connect(port: port, handler: rec)
        #expect(waitUntil { rec.closeReason.withLock { $0 } != nil })
        #expect(rec.closeReason.withLock { $0 } == .connectFailed(ECONNREFUSED))
        #expect(!rec.isConnected)
    }

    /// A connect whose source port is its destination port (what the kernel can pick when a backend's port lies in
    /// the ephemeral range and nothing listens there) is answered by its own SYN: it must be reported as refused, not
    /// as a connection to a server, and closed so the port is free again.
    @Test(arguments: NetModel.allCases)
    func connectionLandingOnItselfIsRefused(model: NetModel) throws {
        let port = freePort()
        let h = try ModelHarness(model)
        defer { h.group?.shutdown() }
        let rec = RecordingHandler()
        let before = Connection.selfConnects.load(ordering: .relaxed)
        let a = SocketAddress(ip: "127.0.0.1", port: port)!
        var options = ConnectionOptions()
        options.sourceAddress = a  // the kernel's unlucky pick, made on purpose
        let c =
            h.group.map { $0.pollers[0].connect(to: a, timeout: .seconds(2), options: options, label: "t", handler: rec) }
            ?? h.rw!.connect(to: a, timeout: .seconds(2), options: options, label: "t", handler: rec)
        #expect(waitUntil { rec.closeReason.withLock { $0 } != nil })
        #expect(rec.closeReason.withLock { $0 } == .connectFailed(ECONNREFUSED))
        #expect(!rec.isConnected)
        #expect(c.currentState == .closed)
        #expect(Connection.selfConnects.load(ordering: .relaxed) > before)
        // The port is free again: a server can bind it.
        #expect((try? Socket.listen(on: a, nonBlocking: false)).map { Glibc.close($0) } != nil)
    }

    @Test(arguments: NetModel.allCases)
    func idleConnectionIsClosed(model: NetModel) throws {
        let h = try ModelHarness(model)
        let echo = EchoHandler()
        let l = try h.listen(echo, options: ConnectionOptions(idleTimeout: .milliseconds(300)))
        defer { h.stop(l) }
        let s = try TestSocket.connect(port: l.address.port)
        defer { s.close() }
        try s.send("ping")
        #expect(try s.receive(exactly: 4) == Array("ping".utf8))
        // Nothing more: the server side closes after ~300 ms.
        #expect(try s.receiveSome() == nil)
        #expect(waitUntil { echo.closed.load(ordering: .relaxed) == 1 })
    }

    @Test(arguments: NetModel.allCases)
    func maxConnectionsRefusesTheExtraOne(model: NetModel) throws {
        let h = try ModelHarness(model)
        let echo = EchoHandler()
        let o = ListenerOptions(name: "cap", address: SocketAddress(ip: "127.0.0.1", port: 0)!, maxConnections: 2)
        let l = model == .netpoll ? try h.group!.listen(o, delegate: echo) : try h.rw!.listen(o, delegate: echo)
        defer { h.stop(l) }
        let a = try TestSocket.connect(port: l.address.port)
        let b = try TestSocket.connect(port: l.address.port)
        try a.send("a")
        try b.send("b")
        _ = try a.receive(exactly: 1)
        _ = try b.receive(exactly: 1)
        let c = try TestSocket.connect(port: l.address.port)
        // The third is accepted and closed at once.
        #expect((try? c.receiveSome()) ?? nil == nil)
        #expect(waitUntil { l.stats.refusedOverLimit.load(ordering: .relaxed) == 1 })
        for s in [a, b, c] { s.close() }
    }

    /// A listener whose accept queue is full drops SYNs, so a connect to it hangs: the connect timeout must fire.
    @Test(arguments: NetModel.allCases)
    func connectTimeoutFires(model: NetModel) throws {
        let full = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)!, backlog: 0, nonBlocking: false)
        defer { close(full) }
        let port = Socket.localAddress(full)!.port
        // Fill the accept queue (never accepted).
        var fillers: [TestSocket] = []
        for _ in 0..<4 { if let s = try? TestSocket.connect(port: port, timeoutSeconds: 1) { fillers.append(s) } }
        defer { for s in fillers { s.close() } }
        let h = try ModelHarness(model)
        defer { h.group?.shutdown() }
        let rec = RecordingHandler()
        let start = MonotonicClock.now()
        let c = h.connect(port: port, handler: rec, timeout: .milliseconds(300))
        #expect(waitUntil { rec.closeReason.withLock { $0 } != nil })
        let elapsed = Double(MonotonicClock.now() - start) / 1e9
        #expect(rec.closeReason.withLock { $0 } == .connectTimeout)
        #expect(c.reasonClosed == .connectTimeout)
        #expect(elapsed >= 0.25 && elapsed < 3, "took \(elapsed) s")
    }
}
