import SkiffConfig
import SkiffNet

/// A named set of hosts with a load balancer and connection settings.
public final class Cluster: Sendable {
    public let config: ClusterConfig
    public let name: String
    public let hosts: [Host]
    public let loadBalancer: any LoadBalancer

    public init(config: ClusterConfig) throws(SystemError) {
        self.config = config
        self.name = config.name
        var hs: [Host] = []
        for h in config.hosts { hs.append(try Host(config: h)) }
        self.hosts = hs
        self.loadBalancer = makeLoadBalancer(config.lbType, hosts: hs)
    }

    /// Picks a host for a new connection or request, skipping `excluding` (hosts already tried) when others exist.
    public func pickHost(excluding tried: [Host] = []) -> Host? {
        loadBalancer.pick(excluding: tried)
    }

    /// Picks with a hash key: consistent for `LB_MAGLEV`, ignored by the other balancers.
    public func pickHost(hash: UInt64, excluding tried: [Host] = []) -> Host? {
        if let m = loadBalancer as? MaglevBalancer { return m.pick(hash: hash, excluding: tried) }
        return loadBalancer.pick(excluding: tried)
    }

    public func host(at address: String) -> Host? { hosts.first { $0.description == address } }
}

/// All clusters by name.
public final class ClusterManager: Sendable {
    public let clusters: [String: Cluster]

    public init(configs: [ClusterConfig]) throws(SystemError) {
        var m: [String: Cluster] = [:]
        for c in configs { m[c.name] = try Cluster(config: c) }
        clusters = m
    }

    public subscript(name: String) -> Cluster? { clusters[name] }
}
