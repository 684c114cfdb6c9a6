import SkiffConfig
import SkiffNet
import SkiffTelemetry
import Synchronization

/// Cluster-wide counters and the circuit breakers' gauges (shared by every executor: atomics, no lock).
public final class ClusterStats: Sendable {
    public let requestTotal = Atomic<UInt64>(0)
    public let requestActive = Atomic<Int>(0)
    /// Requests waiting for an upstream connection (connecting).
    public let requestPending = Atomic<Int>(0)
    public let connectionActive = Atomic<Int>(0)
    public let retriesActive = Atomic<Int>(0)
    public let retryTotal = Atomic<UInt64>(0)
    /// Requests refused by a circuit breaker, by which.
    public let overflowConnections = Atomic<UInt64>(0)
    public let overflowPending = Atomic<UInt64>(0)
    public let overflowRequests = Atomic<UInt64>(0)
    public let overflowRetries = Atomic<UInt64>(0)
    /// No host could be chosen (empty or all unavailable).
    public let noHealthyUpstream = Atomic<UInt64>(0)
    /// Error replies Skiff made itself for requests routed here (no healthy upstream, overflow, connect failure,
    /// timeout, reset; HTTP 5xx and RPC error statuses), whether or not a host was chosen.
    public let localFailed = Atomic<UInt64>(0)
    /// Active health checks of the cluster's hosts, and how they ended (MOSN: `healthcheck` `attempt`, `success`,
    /// `failure`). Kept here so they carry across reloads, which rebuild the checker.
    public let healthCheckAttempts = Atomic<UInt64>(0)
    public let healthCheckSuccesses = Atomic<UInt64>(0)
    public let healthCheckFailures = Atomic<UInt64>(0)

    public init() {}
}

/// Which circuit breaker refused a request (the `x-skiff-overflow` value).
public enum Overflow: String, Sendable {
    case maxConnections = "max_connections"
    case maxPendingRequests = "max_pending_requests"
    case maxRequests = "max_requests"
    case maxRetries = "max_retries"
}

/// A named set of hosts with a load balancer and connection settings.
public final class Cluster: Sendable {
    public let config: ClusterConfig
    public let name: String
    /// `name` as access logs print it (at most 256 bytes).
    public let logName: ImmutableBytes
    public let hosts: [Host]
    public let loadBalancer: any LoadBalancer
    public let stats: ClusterStats
    /// Write counters of this cluster's closed upstream connections.
    public let upstreamWrites: WriteTotals
    /// Response latency across the cluster's hosts.
    public let latency: LatencyHistogram
    /// Passive ejection from `outlier_detection`; nil when the cluster has none. Feed it every upstream result.
    public let outlier: OutlierDetector?
    /// The cluster's TLS client (context and counters); nil = plaintext upstreams.
    public let tls: TLSClientEndpoint?

    /// - Parameter previous: the cluster of the same name in the config being replaced (a reload): its counters carry
    ///   on, and its hosts are kept where `Host.canCarry` allows (pools, health, admin state and all), taking the new
    ///   weight; other hosts are new.
    public init(config: ClusterConfig, previous: Cluster? = nil, tls: TLSClientEndpoint? = nil) throws(SystemError) {
        self.config = config
        self.tls = tls
        self.name = config.name
        self.logName = ImmutableBytes(config.name, maxBytes: 256)
        self.stats = previous?.stats ?? ClusterStats()
        self.upstreamWrites = previous?.upstreamWrites ?? WriteTotals()
        self.latency = previous?.latency ?? LatencyHistogram()
        var hs: [Host] = []
        hs.reserveCapacity(config.hosts.count)
        // The previous hosts by address, each taken at most once (an EDS update of thousands of hosts stays linear).
        var carried: [SocketAddressSpec: [Host]] = [:]
        for old in previous?.hosts ?? [] { carried[old.config.address, default: []].append(old) }
        for h in config.hosts {
            let host: Host
            if let i = carried[h.address]?.firstIndex(where: { $0.canCarry(h, healthCheck: config.healthCheck) }),
                let old = carried[h.address]?.remove(at: i)
            {
                old.setWeight(h.weight)
                // Without outlier detection now, nothing would ever tick an ejection it carries over.
                if config.outlierDetection == nil && old.health.isEjected { old.health.unEject() }
                host = old
            } else {
                host = try Host(config: h, healthCheck: config.healthCheck)
            }
            host.applyControlPlaneState(h.controlPlaneState)
            hs.append(host)
        }
        self.hosts = hs
        self.loadBalancer = makeLoadBalancer(config.lbType, hosts: hs)
        self.outlier = config.outlierDetection.map { OutlierDetector(config: $0, hosts: hs) }
    }

    deinit { logName.deallocate() }

    /// TLS for a new connection to `host`: the cluster's, unless the host has `tls_disable`.
    public func upstreamTLS(for host: Host) -> TLSClientEndpoint? { host.config.tlsDisable ? nil : tls }

    /// Picks an available host (READY and healthy) for a new connection or request, skipping `tried` (hosts already
    /// tried) when others exist. nil when no host is available: the caller fails fast ("no healthy upstream");
    /// there is no panic routing to unavailable hosts.
    public func pickHost(excluding tried: [Host] = []) -> Host? {
        if allAvailable { return loadBalancer.pick(excluding: tried) }
        return pickAvailable(tried) { loadBalancer.pick(excluding: $0) }
    }

    /// Picks with a hash key: consistent for `LB_MAGLEV` (an unavailable host's keys move to the next in its
    /// table), ignored by the other balancers.
    public func pickHost(hash: UInt64, excluding tried: [Host] = []) -> Host? {
        if let m = loadBalancer as? MaglevBalancer {
            if allAvailable { return m.pick(hash: hash, excluding: tried) }
            return pickAvailable(tried) { m.pick(hash: hash, excluding: $0) }
        }
        return pickHost(excluding: tried)
    }

    /// True when every host may take traffic (the common case, checked without allocating).
    @inline(__always) var allAvailable: Bool {
        for h in hosts where !h.isAvailable { return false }
        return true
    }

    private func pickAvailable(_ tried: [Host], _ pick: ([Host]) -> Host?) -> Host? {
        // Most picks land on an available host anyway (one host of several drained, down or at weight 0): taken
        // without building the exclusion list, so a long drain or a weight of 0 does not allocate on every pick.
        if let h = pick(tried), h.isAvailable { return h }
        let unavailable = hosts.filter { !$0.isAvailable }
        if unavailable.count == hosts.count { return nil }
        if let h = pick(tried + unavailable), h.isAvailable { return h }
        // Every available host was tried already: a retry goes to one of them rather than nowhere.
        return hosts.first { $0.isAvailable }
    }

    public func host(at address: String) -> Host? { hosts.first { $0.description == address } }

    /// Sets a host's weight at run time (an operator's `weight` command) and has the balancer take it for the picks
    /// that follow: the weighted round robin rebuilds its cycle, the least-request balancers read weights live. From
    /// any thread; callers check the range (`Host.runtimeWeightRange`).
    public func setWeight(_ weight: Int, of host: Host) {
        host.setWeight(weight)
        loadBalancer.weightsChanged()
    }

    /// Takes one unit of `gauge` unless that would pass `limit` (0 = unlimited); counts the refusal in `refused`.
    @inline(__always)
    private func admit(
        _ gauge: borrowing Atomic<Int>, limit: Int, refused: borrowing Atomic<UInt64>, _ overflow: Overflow
    ) -> Overflow? {
        let now = gauge.wrappingAdd(1, ordering: .relaxed).newValue
        if limit > 0 && now > limit {
            gauge.wrappingSubtract(1, ordering: .relaxed)
            refused.wrappingAdd(1, ordering: .relaxed)
            return overflow
        }
        return nil
    }

    /// Admits a new request against `max_requests`; on success the caller must call `requestFinished()`.
    @inline(__always)
    public func admitRequest() -> Overflow? {
        let o = admit(
            stats.requestActive, limit: config.circuitBreakers.maxRequests, refused: stats.overflowRequests, .maxRequests)
        if o == nil { stats.requestTotal.wrappingAdd(1, ordering: .relaxed) }
        return o
    }

    @inline(__always) public func requestFinished() {
        stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Admits a new upstream connection against `max_connections`; on success call `connectionClosed()` later.
    public func admitConnection() -> Overflow? {
        admit(
            stats.connectionActive, limit: config.circuitBreakers.maxConnections, refused: stats.overflowConnections,
            .maxConnections)
    }

    public func connectionClosed() { stats.connectionActive.wrappingSubtract(1, ordering: .relaxed) }

    /// Admits a request that must wait for a new connection against `max_pending_requests`; on success call
    /// `pendingFinished()` once the connection is up or has failed.
    public func admitPending() -> Overflow? {
        admit(
            stats.requestPending, limit: config.circuitBreakers.maxPendingRequests, refused: stats.overflowPending,
            .maxPendingRequests)
    }

    public func pendingFinished() { stats.requestPending.wrappingSubtract(1, ordering: .relaxed) }

    /// Admits a retry against `max_retries`; on success call `retryFinished()`.
    public func admitRetry() -> Overflow? {
        let o = admit(stats.retriesActive, limit: config.circuitBreakers.maxRetries, refused: stats.overflowRetries, .maxRetries)
        if o == nil { stats.retryTotal.wrappingAdd(1, ordering: .relaxed) }
        return o
    }

    public func retryFinished() { stats.retriesActive.wrappingSubtract(1, ordering: .relaxed) }
}

/// All clusters by name.
public final class ClusterManager: Sendable {
    public let clusters: [String: Cluster]

    /// - Parameter previous: the clusters being replaced by a reload (see `Cluster.init(config:previous:)`).
    /// - Parameter tls: client endpoints by cluster name (clusters with `tls_context`).
    public init(
        configs: [ClusterConfig], previous: ClusterManager? = nil, tls: [String: TLSClientEndpoint] = [:]
    ) throws(SystemError) {
        var m: [String: Cluster] = [:]
        for c in configs { m[c.name] = try Cluster(config: c, previous: previous?[c.name], tls: tls[c.name]) }
        clusters = m
    }

    /// Every host object of this manager, by identity.
    public var allHosts: [Host] { clusters.values.flatMap(\.hosts) }

    public subscript(name: String) -> Cluster? { clusters[name] }
}
