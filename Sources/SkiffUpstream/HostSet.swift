import SkiffConfig

/// Hosts of one cluster with their own balancer: the whole cluster (`Cluster.all`), or one of its subsets
/// (`ClusterSubsets`). Picking skips hosts that may not take traffic (drained, disabled, failing health checks,
/// ejected) and hosts already tried.
///
/// Immutable after `init`; every thread picks (the balancers are lock-free).
public final class HostSet: Sendable {
    public let hosts: [Host]
    public let loadBalancer: any LoadBalancer

    init(hosts: [Host], lbType: LoadBalancerType, slowStart: SlowStartConfig? = nil) {
        self.hosts = hosts
        self.loadBalancer = makeLoadBalancer(lbType, hosts: hosts, slowStart: slowStart.map(SlowStartRamp.init))
    }

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
}
