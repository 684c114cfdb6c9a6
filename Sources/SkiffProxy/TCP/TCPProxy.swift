import SkiffAccessLog
import SkiffConfig
import SkiffNet
import SkiffUpstream
import Synchronization

/// Counters of one tcp_proxy filter.
public final class TCPProxyStats: Sendable {
    public let sessions = Atomic<UInt64>(0)
    public let activeSessions = Atomic<Int>(0)
    /// Sessions closed because no upstream could be reached after `max_connect_attempts`.
    public let upstreamConnectFailures = Atomic<UInt64>(0)
    /// Sessions refused because no route or cluster host matched.
    public let noRoute = Atomic<UInt64>(0)
    /// Sessions ended by the idle timeout.
    public let idleTimeouts = Atomic<UInt64>(0)

    public init() {}
}

/// The `tcp_proxy` network filter: each accepted connection gets an upstream connection to a host of the routed
/// cluster, and bytes are pumped both ways with back-pressure and half-close.
public final class TCPProxy: ListenerDelegate, ReroutableProxy, AccessLogging {
    /// Routes and session settings; a reload replaces them, a session keeps the ones it started with.
    final class Routing: Sendable {
        let routes: TCPRouteTable
        let idleTimeout: Duration?
        let maxConnectAttempts: Int
        /// The listener's `access_logs`: a line per session when it closes.
        let accessLog: ListenerAccessLog?

        init(config: TCPProxyConfig, clusters: ClusterManager, accessLog: ListenerAccessLog?) throws(ProxySetupError) {
            routes = try TCPRouteTable(config: config, clusters: clusters)
            idleTimeout = config.idleTimeout
            maxConnectAttempts = max(1, config.maxConnectAttempts)
            self.accessLog = accessLog
        }

        private init(_ other: Routing, accessLog: ListenerAccessLog?) {
            routes = other.routes
            idleTimeout = other.idleTimeout
            maxConnectAttempts = other.maxConnectAttempts
            self.accessLog = accessLog
        }

        func with(accessLog: ListenerAccessLog?) -> Routing { Routing(self, accessLog: accessLog) }
    }

    let routing: Reloadable<Routing>
    public let stats = TCPProxyStats()

    public init(config: TCPProxyConfig, clusters: ClusterManager) throws(ProxySetupError) {
        routing = Reloadable(try Routing(config: config, clusters: clusters, accessLog: nil))
    }

    public func setAccessLog(_ log: ListenerAccessLog?) { routing.replace(routing.value.with(accessLog: log)) }

    public func reroute(filter: NetworkFilterConfig, routers: RouterRegistry, clusters: ClusterManager)
        throws(ProxySetupError)
    {
        guard case .tcpProxy(let c) = filter else { throw ProxySetupError("the new filter is not a tcp_proxy") }
        routing.replace(try Routing(config: c, clusters: clusters, accessLog: routing.value.accessLog))
    }

    public func listener(_ listener: Listener, accepted connection: Connection) -> (any ConnectionHandler)? {
        // The per-executor cache may only be touched on its executor: with workers, accept runs on a poller while
        // the connection's executor is a shard, and rwloop accepts on the listener's own thread.
        let r: Routing
        if let ex = connection.executor, ex.inExecutor { r = routing.value(on: ex) } else { r = routing.value }
        guard let cluster = r.routes.cluster(source: connection.peerAddress, destination: connection.localAddress)
        else {
            stats.noRoute.wrappingAdd(1, ordering: .relaxed)
            if let log = r.accessLog { TCPSessionLog.noRoute(log, connection: connection) }
            return nil
        }
        stats.sessions.wrappingAdd(1, ordering: .relaxed)
        stats.activeSessions.wrappingAdd(1, ordering: .relaxed)
        let session = TCPProxySession(proxy: self, routing: r, cluster: cluster, downstream: connection)
        if let log = r.accessLog { session.log = TCPSessionLog(log, connection: connection) }
        // Nothing is read from the client until the upstream is connected.
        connection.pauseReading()
        session.connectNext()
        return session
    }
}

/// One proxied pair. Handles the callbacks of both connections: from one poller (netpoll), a worker shard, or the
/// two connections' reader/writer threads (rwloop), so the little shared state sits behind a mutex.
final class TCPProxySession: ConnectionHandler, @unchecked Sendable {
    struct State {
        var upstream: Connection?
        var host: Host?
        var tried: [Host] = []
        var established = false
        var downstreamClosed = false
        var upstreamClosed = false
        var finished = false
    }

    let proxy: TCPProxy
    let routing: TCPProxy.Routing
    let cluster: Cluster
    let downstream: Connection
    private let state = Mutex(State())
    /// The connected upstream's address (`Unmanaged` bits; 0 until connected), published when it connects: a read
    /// from the client finds its peer without the mutex or a reference count. `state.upstream` keeps the connection
    /// until both sides have closed, after which no read comes.
    private let connectedUpstream = Atomic<UInt>(0)
    /// Set at the accept when the listener has access logs; written when both sides have closed.
    var log: TCPSessionLog?

    init(proxy: TCPProxy, routing: TCPProxy.Routing, cluster: Cluster, downstream: Connection) {
        self.proxy = proxy
        self.routing = routing
        self.cluster = cluster
        self.downstream = downstream
    }

    /// Connects to the next untried host (the cluster's balancer; Maglev hashes the client's address).
    func connectNext() {
        let tried = state.withLock { $0.tried }
        let host: Host?
        if cluster.config.lbType == .maglev {
            let key = downstream.peerAddress.map { UInt64(truncatingIfNeeded: $0.ip.hashValue) } ?? 0
            host = cluster.pickHost(hash: key, excluding: tried)
        } else {
            host = cluster.pickHost(excluding: tried)
        }
        guard let host else {
            proxy.stats.upstreamConnectFailures.wrappingAdd(1, ordering: .relaxed)
            log?.flag(.noHealthyUpstream)
            downstream.close(.peerClosed)
            return
        }
        let attempt = state.withLock { s -> Int in
            s.tried.append(host)
            s.host = host
            return s.tried.count
        }
        let up = downstream.connectUpstream(to: host, of: cluster, idleTimeout: routing.idleTimeout, handler: self)
        // A connect that fails at once may already have started the next attempt from its close callback: only the
        // newest attempt's connection is kept.
        let dsClosed = state.withLock { s -> Bool in
            if s.tried.count == attempt { s.upstream = up }
            return s.downstreamClosed
        }
        if dsClosed { up.close(.peerClosed) }
    }

    @inline(__always) private func peer(of c: Connection) -> Connection? {
        c === downstream ? state.withLock { $0.upstream } : downstream
    }

    /// Bytes go to the peer as they came (in splice mode they no longer come here: `connectionDidConnect`).
    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        if c !== downstream { return downstream.write(buffer) }
        let bits = connectedUpstream.load(ordering: .acquiring)
        if bits != 0, let raw = UnsafeRawPointer(bitPattern: bits) {
            return Unmanaged<Connection>.fromOpaque(raw)._withUnsafeGuaranteedRef { $0.write(buffer) }
        }
        guard let p = peer(of: c) else {
            buffer.release()
            return
        }
        p.write(buffer)
    }

    func connectionDidReadEOF(_ c: Connection) {
        peer(of: c)?.shutdownWrite()
    }

    func connectionDidConnect(_ c: Connection) {
        // Only the newest attempt can connect (failed ones closed), and on rwloop this can run before `connectNext`
        // has stored the connection: store it here, before the client is read, or its first bytes find no peer.
        let host = state.withLock { s -> Host? in
            s.upstream = c
            s.established = true
            return s.host
        }
        connectedUpstream.store(UInt(bitPattern: Unmanaged.passUnretained(c).toOpaque()), ordering: .releasing)
        host?.stats.connectionActive.wrappingAdd(1, ordering: .relaxed)
        cluster.stats.connectionActive.wrappingAdd(1, ordering: .relaxed)
        if let h = host { cluster.outlier?.record(host: h, failure: false) }
        log?.connected(c)
        // Each direction moves by splice(2) from its first read that fills a buffer (a bulk transfer), unless TLS or
        // a worker pool rules it out. Nothing here needs the payload: the access log counts bytes only, and the TLS
        // inspector peeks before the filter sees the connection.
        downstream.spliceWhenBulk(to: c)
        c.spliceWhenBulk(to: downstream)
        downstream.resumeReading()
    }

    func connection(_ c: Connection, writabilityChanged writable: Bool) {
        guard let p = peer(of: c) else { return }
        if writable {
            p.resumeReading()
        } else {
            p.pauseReading()
            // On rwloop the "writable again" notice comes from c's writer thread and can overtake this one: if c
            // drained meanwhile, that notice already ran (and found nothing paused), so undo the pause here.
            if c.isWritable { p.resumeReading() }
        }
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        if c === downstream {
            let up = state.withLock { s -> Connection? in
                s.downstreamClosed = true
                return s.upstream
            }
            if reason != .eof { up?.close(.peerClosed) }
            if reason == .idleTimeout { proxy.stats.idleTimeouts.wrappingAdd(1, ordering: .relaxed) }
            finishIfDone()
            return
        }
        // Upstream.
        let (wasEstablished, host, dsClosed) = state.withLock { s -> (Bool, Host?, Bool) in
            let r = (s.established, s.host, s.downstreamClosed)
            s.established = false
            return r
        }
        if wasEstablished {
            host?.stats.connectionActive.wrappingSubtract(1, ordering: .relaxed)
            cluster.stats.connectionActive.wrappingSubtract(1, ordering: .relaxed)
            host?.stats.countClose(reason)
            if reason != .eof { downstream.close(.peerClosed) }
            state.withLock { $0.upstreamClosed = true }
            finishIfDone()
            return
        }
        // The connect failed: try the next host while attempts remain.
        host?.stats.connectionConFail.wrappingAdd(1, ordering: .relaxed)
        if let h = host { cluster.outlier?.record(host: h, failure: true) }
        if reason == .connectTimeout { host?.stats.connectTimeouts.wrappingAdd(1, ordering: .relaxed) }
        let attempts = state.withLock { $0.tried.count }
        if !dsClosed && attempts < routing.maxConnectAttempts && attempts < cluster.hosts.count {
            connectNext()
            return
        }
        proxy.stats.upstreamConnectFailures.wrappingAdd(1, ordering: .relaxed)
        log?.flag(.upstreamConnectionFailure)
        state.withLock { $0.upstreamClosed = true }
        downstream.close(.peerClosed)
        finishIfDone()
    }

    private func finishIfDone() {
        let (done, host) = state.withLock { s -> (Bool, Host?) in
            guard s.downstreamClosed && s.upstreamClosed && !s.finished else { return (false, nil) }
            s.finished = true
            s.upstream = nil
            return (true, s.host)
        }
        guard done else { return }
        proxy.stats.activeSessions.wrappingSubtract(1, ordering: .relaxed)
        if let log {
            self.log = nil
            log.end(downstream: downstream, host: host, cluster: cluster)
        }
    }
}
