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
    /// Requests whose `metadata_match` named no subset and went to the fallback (or to no host with NO_FALLBACK):
    /// MOSN's `upstream_lb_subsets_fallback`.
    public let subsetFallback = Atomic<UInt64>(0)
    /// STRICT_DNS / LOGICAL_DNS: names asked, and asked without an answer (the last answer was kept).
    public let dnsResolutions = Atomic<UInt64>(0)
    public let dnsFailures = Atomic<UInt64>(0)
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
    /// Every host, with the cluster's balancer.
    public let all: HostSet
    public var hosts: [Host] { all.hosts }
    public var loadBalancer: any LoadBalancer { all.loadBalancer }
    /// `lb_subset_config`'s subsets; nil without one.
    public let subsets: ClusterSubsets?
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
                if config.slowStart != nil { host.addedNs.store(MonotonicClock.now(), ordering: .relaxed) }
            }
            host.applyControlPlaneState(h.controlPlaneState)
            hs.append(host)
        }
        let all = HostSet(hosts: hs, lbType: config.lbType, slowStart: config.slowStart)
        self.all = all
        self.subsets = config.lbSubset.map {
            ClusterSubsets(config: $0, all: all, lbType: config.lbType, slowStart: config.slowStart)
        }
        self.outlier = config.outlierDetection.map { OutlierDetector(config: $0, hosts: hs) }
    }

    deinit { logName.deallocate() }

    /// TLS for a new connection to `host`: the cluster's, unless the host has `tls_disable`.
    public func upstreamTLS(for host: Host) -> TLSClientEndpoint? { host.config.tlsDisable ? nil : tls }

    /// Picks an available host of the whole cluster (see `HostSet.pickHost(excluding:)`).
    public func pickHost(excluding tried: [Host] = []) -> Host? { all.pickHost(excluding: tried) }

    /// Picks with a hash key (see `HostSet.pickHost(hash:excluding:)`).
    public func pickHost(hash: UInt64, excluding tried: [Host] = []) -> Host? {
        all.pickHost(hash: hash, excluding: tried)
    }

    /// The hosts a request routed with `choice` goes to, counting a fallback (`subsetFallback`); nil when the choice
    /// leaves none (NO_FALLBACK). Once per request: retries pick again from the same set.
    @inline(__always)
    public func hostSet(for choice: SubsetChoice) -> HostSet? {
        switch choice {
        case .hosts(let set):
            return set
        case .fallback(let set):
            stats.subsetFallback.wrappingAdd(1, ordering: .relaxed)
            return set
        case .noHost:
            stats.subsetFallback.wrappingAdd(1, ordering: .relaxed)
            return nil
        }
    }

    /// The share of its weight `host` gets now under `slow_start`: below 1 while it ramps up, 1 otherwise (and
    /// without slow start). For the console and frames.
    public func rampFactor(of host: Host) -> Double {
        config.slowStart?.factor(eligibleSinceNs: host.eligibleSinceNs, now: MonotonicClock.now()) ?? 1
    }

    /// Where requests with `metadata_match` `criteria` go (nil criteria, or a cluster without subsets: every host).
    /// For route resolution, not per request.
    public func choose(_ criteria: [String: String]?) -> SubsetChoice {
        guard let criteria, let subsets else { return .hosts(all) }
        return subsets.choose(criteria)
    }

    public func host(at address: String) -> Host? { hosts.first { $0.description == address } }

    /// Sets a host's weight at run time (an operator's `weight` command) and has the balancer take it for the picks
    /// that follow: the weighted round robin rebuilds its cycle, the least-request balancers read weights live. From
    /// any thread; callers check the range (`Host.runtimeWeightRange`).
    public func setWeight(_ weight: Int, of host: Host) {
        host.setWeight(weight)
        all.loadBalancer.weightsChanged()
        subsets?.weightsChanged()
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
