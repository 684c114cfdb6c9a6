import SkiffConfig

/// Where a route's requests to a cluster go, decided once when routes meet their clusters (at start, on every
/// reload and control-plane update), never per request.
public enum SubsetChoice: Sendable {
    /// These hosts: the whole cluster (no criteria), or the subset the criteria name.
    case hosts(HostSet)
    /// The criteria matched no subset and the cluster's policy sends them here (every host, or the default subset):
    /// each request counts one fallback (`upstream_lb_subsets_fallback`).
    case fallback(HostSet)
    /// The criteria matched no subset and the policy is NO_FALLBACK: no host (the request fails as "no healthy
    /// upstream", counted as a fallback too).
    case noHost
}

/// A cluster's subsets (MOSN's `lb_subset_config`): for each selector, one `HostSet` per combination of values the
/// cluster's hosts carry under `filter_metadata["mosn.lb"]` (a host belongs to a selector's subset only when it has
/// every one of its keys), each with its own balancer of the cluster's `lb_type`. Subsets include unavailable hosts,
/// as MOSN's do: a matched subset whose hosts are all down gives no host and does not fall back.
///
/// Built with the `Cluster` (its hosts are fixed for its life); immutable, any thread.
public final class ClusterSubsets: Sendable {
    public let config: LBSubsetConfig
    /// Subsets by their criteria in canonical form (`criteriaKey`).
    private let subsets: [String: HostSet]
    /// Where unmatched criteria go: nil for NO_FALLBACK.
    private let fallbackHosts: HostSet?

    /// How many subsets the hosts formed (`upstream_lb_subsets_created`).
    public var count: Int { subsets.count }

    init(config: LBSubsetConfig, all: HostSet, lbType: LoadBalancerType, slowStart: SlowStartConfig?) {
        self.config = config
        var members: [String: [Host]] = [:]
        for selector in config.selectors {
            for host in all.hosts {
                let metadata = host.config.subsetMetadata
                var pairs: [(String, String)] = []
                for key in selector {
                    guard let value = metadata[key] else { break }
                    pairs.append((key, value))
                }
                guard pairs.count == selector.count else { continue }
                members[Self.criteriaKey(pairs), default: []].append(host)
            }
        }
        subsets = members.mapValues { HostSet(hosts: $0, lbType: lbType, slowStart: slowStart) }
        switch config.fallBackPolicy {
        case .noFallback:
            fallbackHosts = nil
        case .anyEndpoint:
            fallbackHosts = all
        case .defaultSubset:
            let wanted = config.defaultSubset
            if wanted.isEmpty {
                fallbackHosts = all
            } else {
                let hosts = all.hosts.filter { host in
                    let metadata = host.config.subsetMetadata
                    return wanted.allSatisfy { metadata[$0.key] == $0.value }
                }
                fallbackHosts = HostSet(hosts: hosts, lbType: lbType, slowStart: slowStart)
            }
        }
    }

    /// The subset for `criteria` (their keys must be exactly one selector's, their values a combination some host
    /// has), or the fallback.
    public func choose(_ criteria: [String: String]) -> SubsetChoice {
        if config.hasSelector(forKeys: criteria.keys), let set = subsets[Self.criteriaKey(criteria.map { ($0, $1) })] {
            return .hosts(set)
        }
        return fallbackHosts.map { .fallback($0) } ?? .noHost
    }

    /// A host's weight changed: every subset's balancer takes it (a host may sit in several).
    func weightsChanged() {
        for set in subsets.values { set.loadBalancer.weightsChanged() }
        fallbackHosts?.loadBalancer.weightsChanged()
    }

    /// `key=value` pairs sorted by key, NUL-separated: one string per subset.
    static func criteriaKey(_ pairs: [(String, String)]) -> String {
        pairs.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "\u{0}")
    }
}
