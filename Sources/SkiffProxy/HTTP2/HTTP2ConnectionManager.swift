import SkiffAccessLog
import SkiffConfig
import SkiffHTTP2
import SkiffNet
import SkiffTelemetry
import SkiffUpstream
import Synchronization

/// Counters of one HTTP/2 listener beside its per-request `HTTPListenerStats`: what the connections did as a whole.
public final class HTTP2ListenerStats: Sendable {
    /// Client connections that spoke HTTP/2.
    public let connectionsTotal = Atomic<UInt64>(0)
    /// Connections ended for breaking the protocol or an abuse limit (flood, rapid reset, CONTINUATION flood, header
    /// list too large): each got a GOAWAY with libnghttp2's error code.
    public let protocolErrors = Atomic<UInt64>(0)
    /// Streams the client reset (RST_STREAM) before their response was complete.
    public let clientResets = Atomic<UInt64>(0)
    /// Requests reset for a header list over SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB).
    public let headerListTooLarge = Atomic<UInt64>(0)
    /// Connections closed for carrying no stream for `connection_idle_timeout`.
    public let idleTimeouts = Atomic<UInt64>(0)
    /// Streams reset towards the client because the upstream reset or lost them mid-response.
    public let upstreamResets = Atomic<UInt64>(0)
    /// Streams on which nothing moved either way for `stream_idle_timeout`: answered 408 (gRPC: DEADLINE_EXCEEDED)
    /// or, once their response started, reset.
    public let streamIdleTimeouts = Atomic<UInt64>(0)

    public init() {}
}

/// The `proxy` network filter for `Http2` downstreams: one per listener. Builds an `HTTP2Downstream` per accepted
/// connection (h2c with prior knowledge, or h2 after TLS); each stream is proxied to an HTTP/2 upstream on a
/// connection shared by every client connection of the executor (`HTTP2Upstream`).
///
/// Threads: built and rerouted on the engine's thread; its connections run on their executors.
public final class HTTP2ConnectionManager: ListenerDelegate, ReroutableProxy, AccessLogging {
    let routing: Reloadable<ProxyRouting>
    let options: HTTPProxyOptions
    let limits: HTTP2Limits
    /// Where HTTP/2 upstream connections live in a host's per-executor store.
    let poolSlot = PoolSlot<HTTP2StreamHostPool>()
    /// Where HTTP/1.1 connections for translated streams live (`upstream_protocol: Http1`).
    let http1PoolSlot = PoolSlot<HTTP1StreamPool>()
    /// Streams go to HTTP/1.1 upstreams, translated.
    let upstreamHTTP1: Bool
    /// 0 = no idle timeout.
    let idleTimeoutNs: UInt64
    let headerTimeoutNs: UInt64
    /// 0 = no stream idle timeout.
    let streamIdleTimeoutNs: UInt64
    /// Per-request counters: the listener's own, or shared with the HTTP/1 side of an `Auto` listener.
    public let stats: HTTPListenerStats
    public let http2Stats = HTTP2ListenerStats()
    /// Set by a graceful stop: connections send GOAWAY and close once their streams are done.
    public let shuttingDown = Atomic<Bool>(false)
    let tap: RequestTap

    public init(
        filter: ProxyFilterConfig, routers: RouterRegistry, clusters: ClusterManager, options: HTTPProxyOptions,
        limits: HTTP2Limits? = nil, tap: RequestTap = .inert, stats: HTTPListenerStats = HTTPListenerStats()
    ) throws(ProxySetupError) {
        self.stats = stats
        guard filter.downstreamProtocol == .http2 || filter.downstreamProtocol == .auto else {
            throw ProxySetupError("downstream_protocol \(filter.downstreamProtocol.rawValue) is not served by the HTTP/2 proxy")
        }
        guard filter.upstreamProtocol == .http2 || filter.upstreamProtocol == .http1 else {
            throw ProxySetupError(
                "upstream_protocol \(filter.upstreamProtocol.rawValue): an Http2 listener proxies to Http2 or Http1 upstreams")
        }
        upstreamHTTP1 = filter.upstreamProtocol == .http1
        routing = Reloadable(try ProxyRouting(filter: filter, routers: routers, clusters: clusters))
        self.options = options
        self.limits = limits ?? HTTP2Limits(options.http2)
        self.tap = tap
        idleTimeoutNs = options.idleTimeout.map { Connection.nanoseconds($0) } ?? 0
        headerTimeoutNs = max(1, Connection.nanoseconds(options.requestHeaderTimeout))
        streamIdleTimeoutNs = options.streamIdleTimeout.map { max(1, Connection.nanoseconds($0)) } ?? 0
    }

    public var routerName: String { routing.value.routerName }

    public func reroute(filter: NetworkFilterConfig, routers: RouterRegistry, clusters: ClusterManager)
        throws(ProxySetupError)
    {
        guard case .proxy(let p) = filter else { throw ProxySetupError("the new filter is not a proxy filter") }
        routing.replace(
            try ProxyRouting(filter: p, routers: routers, clusters: clusters, accessLog: routing.value.accessLog))
    }

    public func setAccessLog(_ log: ListenerAccessLog?) { routing.replace(routing.value.with(accessLog: log)) }

    public func listener(_ listener: Listener, accepted connection: Connection) -> (any ConnectionHandler)? {
        guard let executor = connection.executor else { return nil }
        let d = HTTP2Downstream(connection: connection, manager: self, executor: executor)
        d.start()
        return d
    }
}
