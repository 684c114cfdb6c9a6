import SkiffHTTP2
import SkiffNet
import SkiffUpstream

/// The HTTP/2 connections to one host on one executor, shared by every client connection there: a stream goes on the
/// first connection with room under the server's SETTINGS_MAX_CONCURRENT_STREAMS, and a new connection opens when
/// every one is full. Confined to its executor, so it takes no lock.
///
/// Each owner kind has its own subclass, because a host keeps one pool per pool type (`PoolSlot`): HTTP/2 clients'
/// streams and HTTP/1.1 clients' exchanges never share a connection, whose streams are all reached as one kind.
class HTTP2HostPool: DrainablePool {
    /// Whose streams its connections carry.
    let kind: HTTP2StreamOwnerKind
    var connections: [HTTP2Upstream] = []

    fileprivate init(kind: HTTP2StreamOwnerKind) { self.kind = kind }

    /// A connection with room for one more stream, or nil.
    func withRoom() -> HTTP2Upstream? {
        connections.first { $0.hasRoom }
    }

    func remove(_ u: HTTP2Upstream) {
        if let i = connections.firstIndex(where: { $0 === u }) { connections.remove(at: i) }
    }

    /// The host is draining or in maintenance: no new streams here; each connection ends with a GOAWAY and closes
    /// once its streams are done.
    func drain() {
        let all = connections
        connections.removeAll()
        for u in all { u.drain() }
    }

    /// A connection with room for one more stream, or a new one under the cluster's HTTP/2 settings (nil: the
    /// cluster's circuit breaker refused it). A connect refused at once leaves the new connection `lost`.
    func connection(to host: Host, of cluster: Cluster, from client: Connection, idleTimeout: Duration)
        -> HTTP2Upstream?
    {
        if let open = withRoom() { return open }
        if cluster.admitConnection() != nil { return nil }
        let u = HTTP2Upstream(
            host: host, cluster: cluster, executor: client.executor!, pool: self, kind: kind,
            limits: HTTP2Limits(cluster.config.http2))
        u.connection = client.connectUpstream(
            to: host, of: cluster, idleTimeout: cluster.config.idleTimeout ?? idleTimeout, handler: u)
        if !u.lost { connections.append(u) }
        return u
    }
}

/// The pools of `Http2` listeners' streams (`HTTP2ProxyStream`).
final class HTTP2StreamHostPool: HTTP2HostPool {
    init() { super.init(kind: .http2Stream) }

    static func on(_ host: Host, executor: any EventExecutor, slot: PoolSlot<HTTP2StreamHostPool>) -> HTTP2HostPool {
        host.state(on: executor).pool(slot) { HTTP2StreamHostPool() }
    }
}

/// The pools of `Http1` listeners' exchanges translated to HTTP/2 (`HTTPExchange+HTTP2.swift`).
final class HTTP1ExchangeHostPool: HTTP2HostPool {
    init() { super.init(kind: .http1Exchange) }

    static func on(_ host: Host, executor: any EventExecutor, slot: PoolSlot<HTTP1ExchangeHostPool>) -> HTTP2HostPool {
        host.state(on: executor).pool(slot) { HTTP1ExchangeHostPool() }
    }
}

/// One HTTP/2 connection to an upstream host (client side), multiplexing the streams of many client connections on
/// its executor. Response frames go to the owner that opened each stream; request bytes this connection's window
/// took are given back to the client connection they came from (`http2Sent`). Its streams' owners are all of one
/// kind (`HTTP2StreamOwner.swift`), reached by a switch and a static upcast (no generic metadata, no dynamic cast).
///
/// Threads: confined to its executor (the same as its streams' client connections).
final class HTTP2Upstream: ConnectionHandler, HTTP2SessionDelegate, @unchecked Sendable {
    let host: Host
    let cluster: Cluster
    let executor: any EventExecutor
    unowned(unsafe) let pool: HTTP2HostPool
    let ownerKind: HTTP2StreamOwnerKind
    let session: HTTP2Session
    var connection: Connection!
    let streams = HTTP2StreamTable<AnyObject>(capacity: 128)
    var connected = false
    /// Closed or failed: no stream may start here.
    var lost = false
    /// No new streams (the host drains); closes when the last one ends.
    var draining = false
    var writable = true
    /// Set while its output waits for a flush at the end of the current client read.
    var dirty = false
    /// Clients written to while handling the current upstream read, flushed at its end.
    var touchedDownstreams: [any HTTP2FlushTarget] = []
    var pendingCounted = false
    /// Inside `session.receive` or `session.write` (libnghttp2 is calling back): a flush asked for then waits for
    /// the call to return (`flushAfterSession`).
    var inSession = false
    var flushAfterSession = false

    init(
        host: Host, cluster: Cluster, executor: any EventExecutor, pool: HTTP2HostPool, kind: HTTP2StreamOwnerKind,
        limits: HTTP2Limits
    ) {
        ownerKind = kind
        self.host = host
        self.cluster = cluster
        self.executor = executor
        self.pool = pool
        session = HTTP2Session(role: .client, limits: limits, consumesManually: true)
        session.delegate = self
    }

    /// Whether one more stream may start here: not lost or draining, no GOAWAY from the server, under its stream
    /// limit. A connection still connecting has room (its streams go out once it is up), so a burst of requests
    /// opens one connection, not one each.
    var hasRoom: Bool {
        !lost && !draining && !session.peerWentAway && !connection.hasReadEOF
            && streams.count < min(session.peerMaxConcurrentStreams, Int(session.limits.maxConcurrentStreams))
    }

    func drain() {
        draining = true
        session.goAway()
        if streams.isEmpty { connection?.close(.local) } else { flush() }
    }

    // MARK: - Output

    /// Writes what the session has to send while the server reads, then flushes the client connections its events
    /// wrote to.
    func flush() {
        dirty = false
        // Asked from inside libnghttp2 (a stream's owner answering a frame, retrying, starting the next request):
        // the session must not be driven from its own callbacks, so the flush runs when the call returns.
        if inSession {
            flushAfterSession = true
            return
        }
        defer { flushTouchedDownstreams() }
        guard writable, !lost, let c = connection else { return }
        repeat {
            flushAfterSession = false
            inSession = true
            session.write(to: c)
            inSession = false
        } while flushAfterSession && writable && !lost
    }

    /// A client connection got frames (or window) from this connection's streams: flushed at the end of this
    /// connection's flush.
    func touch(_ d: any HTTP2FlushTarget) {
        if !d.dirty {
            d.dirty = true
            touchedDownstreams.append(d)
        }
    }

    func flushTouchedDownstreams() {
        if touchedDownstreams.isEmpty { return }
        let touched = touchedDownstreams
        touchedDownstreams.removeAll(keepingCapacity: true)
        for d in touched { d.flush() }
    }

    // MARK: - Connection events

    func connectionDidConnect(_ c: Connection) {
        connected = true
        host.stats.connectionActive.wrappingAdd(1, ordering: .relaxed)
        flush()
    }

    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        assert(executor.inExecutor, "HTTP2Upstream read off its executor's thread")
        inSession = true
        let result = session.receive(buffer.readableView)
        inSession = false
        buffer.release()
        if case .failure = result { session.fail() }
        flush()
        // libnghttp2 ended the session (a connection error, or the server's GOAWAY with our streams done): its
        // remaining streams will hear nothing more, so they fail now; the GOAWAY goes before the FIN.
        if !session.isOpen || (draining && streams.isEmpty) { finish(c) }
    }

    /// Fails what is left, then FIN after the queued bytes; the server's EOF (or the idle timeout) closes the rest.
    private func finish(_ c: Connection) {
        lost = true
        pool.remove(self)
        failStreams(reason: .protocolError("upstream HTTP/2 session ended"))
        c.shutdownWrite()
    }

    func connectionDidReadEOF(_ c: Connection) { c.close(.eof) }

    func connection(_ c: Connection, writabilityChanged w: Bool) {
        writable = w
        if w { flush() }
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        lost = true
        host.stats.countUpstreamEnd(connected: connected, reason: reason)
        cluster.connectionClosed()
        pool.remove(self)
        failStreams(reason: reason)
        connection = nil
    }

    /// Every stream still open here is lost with `reason`.
    private func failStreams(reason: CloseReason) {
        let open = streams.all
        streams.removeAll()
        for o in open {
            let s = owner(o)
            s.upstreamLost(reason: reason, wasConnected: connected)
            touch(s.client)
        }
        flushTouchedDownstreams()
    }

    // MARK: - Session events

    func http2Headers(stream id: Int32, _ block: HTTP2HeaderBlock, kind: HTTP2HeadersKind, endStream: Bool) {
        guard let o = streams[id] else { return }
        let s = owner(o)
        switch kind {
        case .response: s.responseHeaders(block, endStream: endStream)
        case .trailers: s.responseTrailers(block)
        case .request: break
        }
        touch(s.client)
    }

    func http2Data(stream id: Int32, _ bytes: UnsafeRawBufferPointer) {
        if let o = streams[id] {
            let s = owner(o)
            s.responseData(bytes)
            touch(s.client)
        } else {
            session.consume(stream: id, bytes: bytes.count)
        }
    }

    func http2EndStream(stream id: Int32) {
        guard let o = streams[id] else { return }
        let s = owner(o)
        s.responseEnded()
        touch(s.client)
    }

    func http2Sent(stream id: Int32, bytes: Int) {
        guard let o = streams[id] else { return }
        let s = owner(o)
        s.requestBytesSent(bytes)
        touch(s.client)
    }

    func http2StreamClosed(stream id: Int32, errorCode: UInt32) {
        guard let o = streams.remove(id) else { return }
        let s = owner(o)
        s.upstreamStreamClosed(errorCode: errorCode)
        touch(s.client)
    }
}
