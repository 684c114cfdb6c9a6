import SkiffConfig
import SkiffNet
import Synchronization

/// Chooses a host. Implementations are thread-safe (atomics, no locks) because every poller picks.
public protocol LoadBalancer: Sendable {
    /// A host not in `tried`, or any host if all were tried; nil only for an empty cluster.
    func pick(excluding tried: [Host]) -> Host?
    /// A host's weight changed at run time: take it for the picks that follow. From any thread, never on the hot
    /// path. Balancers that ignore weights or read them live do nothing.
    func weightsChanged()
}

extension LoadBalancer {
    func weightsChanged() {}
}

/// Builds the balancer for a configured `lb_type`; `slowStart` for the weighted ones (the config refuses it on others).
func makeLoadBalancer(_ type: LoadBalancerType, hosts: [Host], slowStart: SlowStartRamp? = nil) -> any LoadBalancer {
    switch type {
    case .roundRobin: return RoundRobinBalancer(hosts: hosts)
    case .random: return RandomBalancer(hosts: hosts)
    case .weightedRoundRobin: return WeightedRoundRobinBalancer(hosts: hosts, slowStart: slowStart)
    case .leastRequest: return LeastActiveBalancer(hosts: hosts, byRequests: true, slowStart: slowStart)
    case .leastConnection: return LeastActiveBalancer(hosts: hosts, byRequests: false, slowStart: slowStart)
    case .maglev: return MaglevBalancer(hosts: hosts)
    }
}

extension Array where Element == Host {
    @inline(__always) func containsHost(_ h: Host) -> Bool { contains { $0 === h } }
}

/// Plain rotation.
final class RoundRobinBalancer: LoadBalancer {
    let hosts: [Host]
    let next = Atomic<Int>(0)
    init(hosts: [Host]) { self.hosts = hosts }

    func pick(excluding tried: [Host]) -> Host? {
        guard !hosts.isEmpty else { return nil }
        for _ in 0..<hosts.count {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            let h = hosts[Int(UInt(bitPattern: i) % UInt(hosts.count))]
            if !tried.containsHost(h) { return h }
        }
        return hosts[Int(UInt(bitPattern: next.load(ordering: .relaxed)) % UInt(hosts.count))]
    }
}

/// Uniform random choice.
final class RandomBalancer: LoadBalancer {
    let hosts: [Host]
    init(hosts: [Host]) { self.hosts = hosts }

    func pick(excluding tried: [Host]) -> Host? {
        guard !hosts.isEmpty else { return nil }
        if tried.isEmpty { return hosts[FastRandom.below(hosts.count)] }
        let fresh = hosts.filter { !tried.containsHost($0) }
        let from = fresh.isEmpty ? hosts : fresh
        return from[FastRandom.below(from.count)]
    }
}

/// Power of two choices on active requests (LB_LEAST_REQUEST) or connections (LB_LEAST_CONNECTION), weighted
/// (active / weight): of two random hosts the less loaded wins, so an idle host is preferred without a global scan.
final class LeastActiveBalancer: LoadBalancer {
    let hosts: [Host]
    let byRequests: Bool
    /// Divides a ramping host's weight (`slow_start`); nil without.
    let slowStart: SlowStartRamp?
    init(hosts: [Host], byRequests: Bool, slowStart: SlowStartRamp? = nil) {
        self.hosts = hosts
        self.byRequests = byRequests
        self.slowStart = slowStart
    }

    func pick(excluding tried: [Host]) -> Host? {
        let pool = tried.isEmpty ? hosts : hosts.filter { !tried.containsHost($0) }
        let candidates = pool.isEmpty ? hosts : pool
        guard !candidates.isEmpty else { return nil }
        let ia = FastRandom.below(candidates.count)
        let a = candidates[ia]
        guard candidates.count > 1 else { return a }
        let b = candidates[(ia + 1 + FastRandom.below(candidates.count - 1)) % candidates.count]
        var now: UInt64 = 0
        if let ramp = slowStart {
            now = MonotonicClock.now()
            if !ramp.isRamping(hosts, now: now) { now = 0 }
        }
        func load(_ h: Host) -> Double {
            let active = byRequests ? h.stats.requestActive.load(ordering: .relaxed) : h.stats.connectionActive.load(ordering: .relaxed)
            guard now != 0 else { return Double(active) / Double(h.weight) }
            // (active + 1) while ramping: an idle ramping host still loses to an idle full-weight one.
            return Double(active + 1) / (Double(h.weight) * slowStart!.factor(h, now: now))
        }
        return load(b) < load(a) ? b : a
    }
}
