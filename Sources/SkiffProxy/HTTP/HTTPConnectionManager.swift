import SkiffAccessLog
import SkiffConfig
import SkiffHTTP2
import SkiffNet
import SkiffProtocol
import SkiffTelemetry
import SkiffUpstream
import Synchronization

/// The resolved target of a route entry: its clusters looked up once at start, never per request.
final class ResolvedRoute: @unchecked Sendable {
    let entry: RouteEntry
    /// One cluster, or the weighted set in the entry's order.
    let clusters: [Cluster]
    /// Which of each cluster's hosts the entry's `metadata_match` picks (all of them without one), same order.
    let choices: [SubsetChoice]

    init(entry: RouteEntry, clusters: [Cluster]) {
        self.entry = entry
        self.clusters = clusters
        choices = clusters.indices.map { clusters[$0].choose(entry.clusterCriteria[$0]) }
    }

    /// The cluster for a request and the hosts it may go to (nil: none, NO_FALLBACK), counting a subset fallback.
    @inline(__always)
    func pick(_ entry: RouteEntry) -> (Cluster, HostSet?) {
        let i = clusters.count == 1 ? 0 : entry.weightedIndex(random: FastRandom.next())
        let cluster = clusters[i]
        return (cluster, cluster.hostSet(for: choices[i]))
    }

    /// Every entry of `table` with its clusters looked up (shared by the HTTP and RPC proxies).
    static func resolveAll(_ table: RouteTable, clusters: ClusterManager) throws(ProxySetupError)
        -> [ObjectIdentifier: ResolvedRoute]
    {
        var map: [ObjectIdentifier: ResolvedRoute] = [:]
        for vh in 0..<table.virtualHostNames.count {
            for entry in table.entries(virtualHost: vh) {
                var cs: [Cluster] = []
                for name in entry.clusterNames {
                    guard let c = clusters[name] else {
                        throw ProxySetupError("route \(entry.name): no cluster named \"\(name)\"")
                    }
                    cs.append(c)
                }
                map[ObjectIdentifier(entry)] = ResolvedRoute(entry: entry, clusters: cs)
            }
        }
        return map
    }
}

/// What a reload replaces in an HTTP or RPC proxy: the route table and the clusters its entries resolve to, and the
/// listener's access logs (read per request with the routes: no second lookup).
public final class ProxyRouting: Sendable {
    let table: RouteTable
    let resolved: [ObjectIdentifier: ResolvedRoute]
    public let routerName: String
    /// The listener's `access_logs`; nil when it has none.
    public let accessLog: ListenerAccessLog?
    /// The same, borrowed (held by `accessLog`): what the request path reads, with no reference counting.
    let accessLogRef: Unmanaged<ListenerAccessLog>?
    /// HTTP/1 clients' requests may be in flight side by side (pipelining): not when any of them may go to an HTTP/2
    /// upstream (the filter's `upstream_protocol`, or an xDS cluster's), whose response must never wait its turn.
    let pipelinesRequests: Bool

    /// Looks the filter's router up in `routers` and resolves every entry's clusters in `clusters`.
    public init(
        filter: ProxyFilterConfig, routers: RouterRegistry, clusters: ClusterManager, accessLog: ListenerAccessLog? = nil
    ) throws(ProxySetupError) {
        guard let table = routers[filter.routerConfigName] else {
            throw ProxySetupError("router_config_name: no router named \"\(filter.routerConfigName)\"")
        }
        self.table = table
        self.routerName = filter.routerConfigName
        self.resolved = try ResolvedRoute.resolveAll(table, clusters: clusters)
        self.accessLog = accessLog
        accessLogRef = accessLog.map { Unmanaged.passUnretained($0) }
        pipelinesRequests =
            filter.upstreamProtocol != .http2
            && !resolved.values.contains { $0.clusters.contains { $0.config.httpProtocol == .http2 } }
    }

    private init(_ other: ProxyRouting, accessLog: ListenerAccessLog?) {
        table = other.table
        resolved = other.resolved
        routerName = other.routerName
        pipelinesRequests = other.pipelinesRequests
        self.accessLog = accessLog
        accessLogRef = accessLog.map { Unmanaged.passUnretained($0) }
    }

    /// The same routes with other access logs.
    func with(accessLog: ListenerAccessLog?) -> ProxyRouting { ProxyRouting(self, accessLog: accessLog) }

    /// The entry matching `input` and its clusters, or nil (no route).
    @inline(__always)
    func route(_ input: some RouteInput) -> (RouteEntry, ResolvedRoute)? {
        guard let entry = table.route(input), let r = resolved[ObjectIdentifier(entry)] else { return nil }
        return (entry, r)
    }
}

/// A network filter that writes access logs: the engine hands it the listener's (at start, and on every reload
/// that changes them; requests under way finish with the ones they started with).
public protocol AccessLogging: AnyObject {
    func setAccessLog(_ log: ListenerAccessLog?)
}

/// A proxy filter whose routes and clusters a reload can replace in place (its listener keeps its socket).
public protocol ReroutableProxy: AnyObject {
    /// Swaps in routes and clusters from a new config; requests already routed finish on the old ones.
    func reroute(filter: NetworkFilterConfig, routers: RouterRegistry, clusters: ClusterManager) throws(ProxySetupError)
}

/// Settings of the HTTP/1 proxy on one listener.
public struct HTTPProxyOptions: Sendable, Equatable {
    public var limits: HTTPLimits
    /// A request head must be complete this long after the connection was accepted (first request) or after the
    /// head's first byte (later requests), else 408 and close (slowloris guard; listener `request_header_timeout`).
    public var requestHeaderTimeout: Duration
    /// A request body that sends nothing for this long is answered 408 and closed (`request_body_timeout`).
    public var requestBodyTimeout: Duration
    /// A keep-alive connection with nothing in flight closes after this long without a byte of the next request
    /// (`connection_idle_timeout`); nil = never.
    public var idleTimeout: Duration?
    /// Requests of one client connection in flight at once, each on its own upstream connection (pipelining); only
    /// safe methods go in parallel.
    public var maxParallelRequests: Int
    /// Request bodies up to this size are kept so the request can be retried.
    public var maxReplayBodyBytes: Int
    /// Pipelined bytes buffered while a response is pending before reading pauses.
    public var maxPipelinedBytes: Int
    /// Idle keep-alive upstream connections close after this unless the cluster sets `idle_timeout`.
    public var upstreamIdleTimeout: Duration
    /// HTTP/2 listeners: a stream on which nothing moves either way for this long is answered 408 or reset
    /// (`stream_idle_timeout`); nil = never.
    public var streamIdleTimeout: Duration?
    /// HTTP/2 listeners: the settings of their client connections (`http2_protocol_options`).
    public var http2 = HTTP2Settings()

    public init(
        limits: HTTPLimits = .default, requestHeaderTimeout: Duration = .seconds(10),
        requestBodyTimeout: Duration = .seconds(60), idleTimeout: Duration? = .seconds(60),
        maxParallelRequests: Int = 4, maxReplayBodyBytes: Int = 64 * 1024, maxPipelinedBytes: Int = 64 * 1024,
        upstreamIdleTimeout: Duration = .seconds(60), streamIdleTimeout: Duration? = .seconds(300)
    ) {
        self.limits = limits
        self.requestHeaderTimeout = requestHeaderTimeout
        self.requestBodyTimeout = requestBodyTimeout
        self.idleTimeout = idleTimeout
        self.maxParallelRequests = max(1, maxParallelRequests)
        self.maxReplayBodyBytes = maxReplayBodyBytes
        self.maxPipelinedBytes = maxPipelinedBytes
        self.upstreamIdleTimeout = upstreamIdleTimeout
        self.streamIdleTimeout = streamIdleTimeout
    }

    /// The listener's timeouts from its config (`request_header_timeout`, `request_body_timeout`,
    /// `connection_idle_timeout`, `stream_idle_timeout`) and HTTP/2 settings, the rest at their defaults.
    public init(listener lc: ListenerConfig) {
        self.init(
            requestHeaderTimeout: lc.requestHeaderTimeout, requestBodyTimeout: lc.requestBodyTimeout,
            idleTimeout: lc.connectionIdleTimeout, streamIdleTimeout: lc.streamIdleTimeout)
        http2 = lc.http2
    }
}

/// The `proxy` network filter for `Http1`: one per listener. Builds an `HTTPDownstream` per accepted connection;
/// holds the route table, the clusters resolved for each route, and the listener's counters.
public final class HTTPConnectionManager: ListenerDelegate, ReroutableProxy, AccessLogging {
    /// Routes and clusters; replaced by a reload, read per request with one relaxed load.
    let routing: Reloadable<ProxyRouting>
    let options: HTTPProxyOptions
    /// Where HTTP upstream pools live in a host's per-executor store (the same for every HTTP listener).
    let poolSlot = PoolSlot<HTTPHostPool>()
    /// `upstream_protocol: Http2` (or an xDS cluster's HTTP/2): each request is a stream on the host's shared HTTP/2
    /// connection on its executor (`HTTPExchange+HTTP2.swift`), kept in this slot.
    let upstreamHTTP2: Bool
    let http2PoolSlot = PoolSlot<HTTP1ExchangeHostPool>()
    let headerTimeoutNs: UInt64
    let bodyTimeoutNs: UInt64
    /// 0 = no idle timeout.
    let idleTimeoutNs: UInt64
    public let stats = HTTPListenerStats()
    public var routerName: String { routing.value.routerName }
    /// Set by a graceful stop: every response from now on closes its client connection.
    public let shuttingDown = Atomic<Bool>(false)
    /// The live request tap finished requests are sampled into while someone watches.
    let tap: RequestTap

    public init(
        filter: ProxyFilterConfig, routers: RouterRegistry, clusters: ClusterManager, options: HTTPProxyOptions,
        tap: RequestTap = .inert
    ) throws(ProxySetupError) {
        self.tap = tap
        guard filter.downstreamProtocol == .http1 else {
            throw ProxySetupError("downstream_protocol \(filter.downstreamProtocol.rawValue) is not served by the HTTP/1 proxy")
        }
        guard filter.upstreamProtocol == .http1 || filter.upstreamProtocol == .http2 else {
            throw ProxySetupError(
                "upstream_protocol \(filter.upstreamProtocol.rawValue): an Http1 listener proxies to Http1 or Http2 upstreams")
        }
        upstreamHTTP2 = filter.upstreamProtocol == .http2
        routing = Reloadable(try ProxyRouting(filter: filter, routers: routers, clusters: clusters))
        self.options = options
        headerTimeoutNs = max(1, Connection.nanoseconds(options.requestHeaderTimeout))
        bodyTimeoutNs = max(1, Connection.nanoseconds(options.requestBodyTimeout))
        idleTimeoutNs = options.idleTimeout.map { Connection.nanoseconds($0) } ?? 0
    }

    public func reroute(filter: NetworkFilterConfig, routers: RouterRegistry, clusters: ClusterManager)
        throws(ProxySetupError)
    {
        guard case .proxy(var p) = filter else { throw ProxySetupError("the new filter is not a proxy filter") }
        p.downstreamProtocol = .http1
        routing.replace(
            try ProxyRouting(filter: p, routers: routers, clusters: clusters, accessLog: routing.value.accessLog))
    }

    public func setAccessLog(_ log: ListenerAccessLog?) { routing.replace(routing.value.with(accessLog: log)) }

    public func listener(_ listener: Listener, accepted connection: Connection) -> (any ConnectionHandler)? {
        guard let executor = connection.executor else {
            // rwloop needs a strand (`runsOnStrand`) or a worker pool; the engine gives L7 rwloop listeners one.
            return nil
        }
        let d = HTTPDownstream(connection: connection, manager: self, executor: executor)
        d.start()
        return d
    }
}
