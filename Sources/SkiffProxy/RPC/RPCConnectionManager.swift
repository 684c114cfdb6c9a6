import SkiffAccessLog
import SkiffConfig
import SkiffNet
import SkiffProtocol
import SkiffTelemetry
import SkiffUpstream
import Synchronization

/// Size of the small pooled buffers that keep a copy of each RPC request in flight (see
/// `RPCConnectionManager.replayPools`). A constant outside the generic types: no metadata lookup per request.
let rpcReplayBufferSize = 4096

/// Counters of one RPC listener.
public final class RPCListenerStats: Sendable {
    /// Downstream requests (two-way and oneway) received.
    public let requestTotal = Atomic<UInt64>(0)
    /// Requests waiting for their response.
    public let requestActive = Atomic<Int>(0)
    public let oneway = Atomic<UInt64>(0)
    public let responses = Atomic<UInt64>(0)
    /// Heartbeats answered locally.
    public let heartbeats = Atomic<UInt64>(0)
    /// Replies Skiff made itself (timeout, no route, upstream lost, overflow).
    public let localReplies = Atomic<UInt64>(0)
    public let timeouts = Atomic<UInt64>(0)
    public let noRoute = Atomic<UInt64>(0)
    /// Requests answered with an error because their cluster had no host to pick.
    public let noHealthyUpstream = Atomic<UInt64>(0)
    /// Frames refused by the codec (each closes its connection).
    public let protocolErrors = Atomic<UInt64>(0)
    /// Responses whose id matched no stream (late after a timeout, or bogus): dropped.
    public let unknownResponses = Atomic<UInt64>(0)
    /// Streams failed because their upstream connection went away.
    public let upstreamResets = Atomic<UInt64>(0)
    /// Requests sent again after their upstream connection closed or reset before any byte of their answer.
    public let retries = Atomic<UInt64>(0)
    /// Client connections closed for sending no frame for `connection_idle_timeout` with nothing in flight.
    public let idleTimeouts = Atomic<UInt64>(0)
    /// Request sent upstream (the same moment it arrived) to its answer or local error, two-way requests only.
    public let latency = LatencyHistogram()

    public init() {}
}

/// Anything that exposes RPC listener stats (the generic managers, seen without their codec).
public protocol RPCStatsProviding {
    var rpcStats: RPCListenerStats { get }
    var protocolName: String { get }
}

extension RPCConnectionManager: RPCStatsProviding {
    public var rpcStats: RPCListenerStats { stats }
    public var protocolName: String { "\(Codec.name)" }
}

/// The `proxy` network filter for Bolt, Bolt v2 and Dubbo: one per listener, generic over the codec so the hot path
/// is specialised (no existential per frame). Builds an `RPCDownstream` per accepted connection.
public final class RPCConnectionManager<Codec: RPCCodec>: ListenerDelegate, ReroutableProxy, AccessLogging,
    @unchecked Sendable
{
    /// Routes and clusters; replaced by a reload, read per request with one relaxed load.
    let routing: Reloadable<ProxyRouting>
    let limits: RPCLimits
    /// Used when a request carries no timeout and its route sets none explicitly.
    let defaultTimeoutNs: UInt64
    /// Upstream keepalive: a heartbeat after this long without reads, and close after `heartbeatMisses` misses.
    let heartbeatIntervalNs: UInt64
    let heartbeatMisses: Int
    /// A client connection with nothing in flight closes after this long without a frame; 0 = never.
    let idleTimeoutNs: UInt64
    public let stats = RPCListenerStats()
    /// Per executor: small buffers holding a copy of each request in flight until it is answered, so that a
    /// request lost unanswered can be sent again (see `RPCUpstream.Stream.replay`). Most requests fit one; larger
    /// ones use a connection pool buffer.
    let replayPools = ExecutorLocal<BufferPool>()
    /// Where this codec's upstream connection lives in a host's per-executor pools: the same slot for every
    /// listener of this codec (they share one connection per host per executor), another for other codecs.
    let poolSlot = PoolSlot<RPCUpstream<Codec>>()
    /// The live request tap finished streams are sampled into while someone watches.
    let tap: RequestTap
    /// `%protocol%` of this codec's lines.
    let logProtocol: AccessLogProtocol

    public init(
        filter: ProxyFilterConfig, routers: RouterRegistry, clusters: ClusterManager, limits: RPCLimits = .default,
        heartbeatInterval: Duration = .seconds(15), heartbeatMisses: Int = 6, idleTimeout: Duration? = .seconds(60),
        tap: RequestTap = .inert
    ) throws(ProxySetupError) {
        self.tap = tap
        logProtocol = "\(Codec.name)" == "dubbo" ? .dubbo : "\(Codec.name)" == "boltv2" ? .boltv2 : .bolt
        routing = Reloadable(try ProxyRouting(filter: filter, routers: routers, clusters: clusters))
        self.limits = limits
        defaultTimeoutNs = 60_000_000_000
        heartbeatIntervalNs = Connection.nanoseconds(heartbeatInterval)
        self.heartbeatMisses = heartbeatMisses
        idleTimeoutNs = idleTimeout.map { Connection.nanoseconds($0) } ?? 0
    }

    public func reroute(filter: NetworkFilterConfig, routers: RouterRegistry, clusters: ClusterManager)
        throws(ProxySetupError)
    {
        guard case .proxy(let p) = filter else { throw ProxySetupError("the new filter is not a proxy filter") }
        routing.replace(
            try ProxyRouting(filter: p, routers: routers, clusters: clusters, accessLog: routing.value.accessLog))
    }

    public func setAccessLog(_ log: ListenerAccessLog?) { routing.replace(routing.value.with(accessLog: log)) }

    /// This executor's pool of request copies. Call only on `executor`.
    @inline(__always)
    func replayPool(on executor: any EventExecutor) -> BufferPool {
        if let p = replayPools[executor] { return p }
        let p = BufferPool(bufferSize: rpcReplayBufferSize, maxFree: 1024)
        replayPools[executor] = p
        return p
    }

    public func listener(_ listener: Listener, accepted connection: Connection) -> (any ConnectionHandler)? {
        guard let executor = connection.executor else { return nil }
        let d = RPCDownstream<Codec>(connection: connection, manager: self, executor: executor)
        d.start()
        return d
    }
}

/// Presents an RPC frame's header to the router: `service`, `method` and any header map entry; no host, no path.
struct RPCRouteInput: RouteInput {
    let frame: UnsafeRawBufferPointer
    let info: RPCFrameInfo

    var host: UnsafeRawBufferPointer? { nil }
    var path: UnsafeRawBufferPointer? { nil }

    func header(_ lowercaseName: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        if equals(lowercaseName, "service"), let r = info.service { return UnsafeRawBufferPointer(rebasing: frame[r]) }
        if equals(lowercaseName, "method"), let r = info.method { return UnsafeRawBufferPointer(rebasing: frame[r]) }
        if equals(lowercaseName, "version"), let r = info.version { return UnsafeRawBufferPointer(rebasing: frame[r]) }
        if equals(lowercaseName, "group"), let r = info.group { return UnsafeRawBufferPointer(rebasing: frame[r]) }
        return info.header(lowercaseName, in: frame)
    }

    private func equals(_ a: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        guard a.count == s.utf8CodeUnitCount else { return false }
        return s.withUTF8Buffer { b in
            for i in 0..<b.count where a[i] != b[i] { return false }
            return true
        }
    }
}
