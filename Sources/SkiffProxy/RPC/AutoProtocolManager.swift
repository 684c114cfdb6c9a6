import SkiffAccessLog
import SkiffConfig
import SkiffNet
import SkiffProtocol
import SkiffTelemetry
import SkiffUpstream

/// The `Auto` downstream protocol: the first bytes of a connection pick its codec — 0x01 Bolt, 0x02 Bolt v2,
/// 0xda 0xbb Dubbo, the HTTP/2 connection preface HTTP/2 (proxied to HTTP/2 upstreams), anything else HTTP/1.1 — and
/// the connection is handed to that protocol's handler. One router serves all of them (HTTP routes by host and path,
/// RPC by headers such as `service`); HTTP/1.1 and HTTP/2 requests count in one set of HTTP stats.
public final class AutoProtocolManager: ListenerDelegate, ReroutableProxy, AccessLogging, @unchecked Sendable {
    let http: HTTPConnectionManager
    public let http2: HTTP2ConnectionManager
    let bolt: RPCConnectionManager<BoltCodec>
    let boltv2: RPCConnectionManager<BoltV2Codec>
    let dubbo: RPCConnectionManager<DubboCodec>

    /// `options` set the HTTP side; its `idleTimeout` is the RPC side's as well.
    public init(
        filter: ProxyFilterConfig, routers: RouterRegistry, clusters: ClusterManager,
        options: HTTPProxyOptions = HTTPProxyOptions(), tap: RequestTap = .inert
    ) throws(ProxySetupError) {
        var httpFilter = filter
        httpFilter.downstreamProtocol = .http1
        httpFilter.upstreamProtocol = .http1
        http = try HTTPConnectionManager(filter: httpFilter, routers: routers, clusters: clusters, options: options, tap: tap)
        var h2Filter = filter
        h2Filter.downstreamProtocol = .http2
        h2Filter.upstreamProtocol = .http2
        http2 = try HTTP2ConnectionManager(
            filter: h2Filter, routers: routers, clusters: clusters, options: options, tap: tap, stats: http.stats)
        let idle = options.idleTimeout
        bolt = try RPCConnectionManager<BoltCodec>(
            filter: filter, routers: routers, clusters: clusters, idleTimeout: idle, tap: tap)
        boltv2 = try RPCConnectionManager<BoltV2Codec>(
            filter: filter, routers: routers, clusters: clusters, idleTimeout: idle, tap: tap)
        dubbo = try RPCConnectionManager<DubboCodec>(
            filter: filter, routers: routers, clusters: clusters, idleTimeout: idle, tap: tap)
    }

    public func reroute(filter: NetworkFilterConfig, routers: RouterRegistry, clusters: ClusterManager)
        throws(ProxySetupError)
    {
        // Build all four first so a failure changes none.
        guard case .proxy(let p) = filter else { throw ProxySetupError("the new filter is not a proxy filter") }
        var hp = p
        hp.downstreamProtocol = .http1
        let log = http.routing.value.accessLog
        let h = try ProxyRouting(filter: hp, routers: routers, clusters: clusters, accessLog: log)
        let r = try ProxyRouting(filter: p, routers: routers, clusters: clusters, accessLog: log)
        http.routing.replace(h)
        http2.routing.replace(h)
        bolt.routing.replace(r)
        boltv2.routing.replace(r)
        dubbo.routing.replace(r)
    }

    /// One set of access logs for whichever protocol a connection turns out to speak.
    public func setAccessLog(_ log: ListenerAccessLog?) {
        http.setAccessLog(log)
        http2.setAccessLog(log)
        bolt.setAccessLog(log)
        boltv2.setAccessLog(log)
        dubbo.setAccessLog(log)
    }

    /// HTTP counters of this listener (the RPC managers keep their own).
    public var httpStats: HTTPListenerStats { http.stats }

    public func listener(_ listener: Listener, accepted connection: Connection) -> (any ConnectionHandler)? {
        guard let executor = connection.executor else { return nil }
        let sniffer = ProtocolSniffer(manager: self, executor: executor, connection: connection)
        sniffer.start()
        return sniffer
    }

    /// Which protocol `bytes` start with; nil until enough bytes are there to tell.
    static func detect(_ bytes: UnsafeRawBufferPointer) -> ProtocolName? {
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "P") {
            // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 §3.4): HTTP/2 once all 24 bytes match; a prefix waits.
            let preface = HTTP2PrefaceRefusal.preface
            let n = min(bytes.count, preface.count)
            guard bytes[0..<n].elementsEqual(preface[0..<n]) else { return .http1 }
            return n == preface.count ? .http2 : nil
        }
        switch first {
        case 0x01: return .bolt
        case 0x02: return .boltv2
        case 0xda:
            guard bytes.count >= 2 else { return nil }
            return bytes[1] == 0xbb ? .dubbo : .http1
        default: return .http1
        }
    }
}

/// Holds a new connection until its first bytes say which protocol it speaks, then installs that protocol's
/// handler and passes the bytes on. Runs on the connection's executor, like the handler it installs. A connection
/// that says nothing within the HTTP request-header timeout is closed (counted as an HTTP header timeout).
final class ProtocolSniffer: ConnectionHandler, @unchecked Sendable {
    let manager: AutoProtocolManager
    let executor: any EventExecutor
    unowned(unsafe) let connection: Connection
    var pending: ByteBuffer?
    var timer: PollerTimer?
    var done = false

    init(manager: AutoProtocolManager, executor: any EventExecutor, connection: Connection) {
        self.manager = manager
        self.executor = executor
        self.connection = connection
    }

    /// Arms the silence deadline. Called once, on the accepting thread or on the executor.
    func start() {
        let t = PollerTimer { [weak self] in self?.silent() }
        timer = t
        let ns = manager.http.headerTimeoutNs
        if executor.inExecutor {
            executor.arm(t, afterNs: ns)
        } else {
            executor.execute { [self] in if !self.done { self.executor.arm(t, afterNs: ns) } }
        }
    }

    private func silent() {
        guard !done else { return }
        manager.http.stats.headerTimeouts.wrappingAdd(1, ordering: .relaxed)
        connection.close(.idleTimeout)
    }

    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        if let p = pending {
            p.write(buffer.readableView)
            buffer.release()
        } else {
            pending = buffer
        }
        guard let b = pending, let proto = AutoProtocolManager.detect(b.readableView) else { return }
        pending = nil
        done = true
        timer?.cancel()
        timer = nil
        let next: any ConnectionHandler
        switch proto {
        case .bolt:
            let d = RPCDownstream<BoltCodec>(connection: c, manager: manager.bolt, executor: executor)
            d.start()
            next = d
        case .boltv2:
            let d = RPCDownstream<BoltV2Codec>(connection: c, manager: manager.boltv2, executor: executor)
            d.start()
            next = d
        case .dubbo:
            let d = RPCDownstream<DubboCodec>(connection: c, manager: manager.dubbo, executor: executor)
            d.start()
            next = d
        case .http2:
            let d = HTTP2Downstream(connection: c, manager: manager.http2, executor: executor)
            d.start()
            next = d
        default:
            let d = HTTPDownstream(connection: c, manager: manager.http, executor: executor)
            d.start()
            next = d
        }
        c.handler = next
        next.connection(c, didRead: b)
    }

    func connectionDidReadEOF(_ c: Connection) { c.shutdownWrite() }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        done = true
        timer?.cancel()
        timer = nil
        pending?.release()
        pending = nil
    }
}
