import SkiffControl
import SkiffJSON
import SkiffTelemetry
import SkiffUpstream

extension EngineControl {
    /// Sets a host's load-balancing weight at run time and records who did it (a `host.weight` event). Shared by the
    /// control socket (`host.set_weight`), the admin API and the console. The cluster's balancer takes the weight for
    /// the picks that follow (`Cluster.setWeight`); 0 takes the host out of new picks. A reload sets the config's
    /// weights again.
    public func setHostWeight(cluster: String, host: String, weight: Int, uid: UInt32, via: String) -> ControlResult {
        guard let c = engine.clusters[cluster] else { return .error("no cluster \"\(cluster)\"") }
        guard let h = c.host(at: host) else { return .error("no host \(host) in cluster \(cluster)") }
        let range = Host.runtimeWeightRange
        guard range.contains(weight) else {
            return .error("weight must be an integer from \(range.lowerBound) to \(range.upperBound), not \(weight)")
        }
        let before = h.weight
        c.setWeight(weight, of: h)
        engine.hub.event(
            .hostWeight(.init(cluster: cluster, host: host, from: before, to: weight, uid: UInt64(uid), via: via)))
        engine.logger.notice("\("host \(cluster)/\(host): weight \(before) -> \(weight) by uid \(uid) via \(via)")")
        return .ok([
            JSONMember(key: "cluster", value: .string(cluster)), JSONMember(key: "host", value: .string(host)),
            JSONMember(key: "from", value: .number(String(before))),
            JSONMember(key: "weight", value: .number(String(weight))),
        ])
    }
}
