import Synchronization

/// One precomputed smooth weighted round-robin cycle: host indices in the nginx sequence, sum(weights) long.
final class WeightCycle: Sendable {
    let order: [Int]

    /// The nginx smooth sequence for `weights` (a weight of 0 never appears).
    init(weights: [Int]) {
        var current = [Int](repeating: 0, count: weights.count)
        let total = weights.reduce(0) { $0 + max(0, $1) }
        var seq: [Int] = []
        seq.reserveCapacity(total)
        for _ in 0..<total {
            var best = 0
            for i in weights.indices {
                current[i] += max(0, weights[i])
                if current[i] > current[best] { best = i }
            }
            current[best] -= total
            seq.append(best)
        }
        order = seq
    }
}

/// Smooth weighted round robin over a precomputed cycle (the nginx sequence): exact weights over each cycle of
/// sum(weights) picks, interleaved rather than bunched, and lock-free (an atomic index into the cycle).
///
/// A run-time weight change (`weightsChanged`) builds a new cycle and publishes it with one atomic store; pickers
/// read whichever cycle is current with one acquiring load and no reference counting. A cycle once published is
/// never freed before the balancer itself (a picker may still be reading it): each weight change keeps
/// sum(weights) integers alive until the next reload replaces the balancer.
final class WeightedRoundRobinBalancer: LoadBalancer, @unchecked Sendable {
    let hosts: [Host]
    let next = Atomic<Int>(0)
    /// The current cycle (retained by `built`).
    private let current: Atomic<Unmanaged<WeightCycle>>
    /// Every cycle published, in order; serialises rebuilds. Not touched by `pick`.
    private let built: Mutex<[WeightCycle]>

    init(hosts: [Host]) {
        self.hosts = hosts
        let first = WeightCycle(weights: hosts.map(\.weight))
        current = Atomic(Unmanaged.passUnretained(first))
        built = Mutex([first])
    }

    /// The cycle as pickers see it now.
    var cycle: [Int] { current.load(ordering: .acquiring)._withUnsafeGuaranteedRef { $0.order } }

    func weightsChanged() {
        built.withLock { all in
            let c = WeightCycle(weights: hosts.map(\.weight))
            all.append(c)
            current.store(Unmanaged.passUnretained(c), ordering: .releasing)
        }
    }

    func pick(excluding tried: [Host]) -> Host? {
        current.load(ordering: .acquiring)._withUnsafeGuaranteedRef { c in
            let cycle = c.order
            guard !cycle.isEmpty else { return nil }
            for _ in 0..<cycle.count {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                let h = hosts[cycle[Int(UInt(bitPattern: i) % UInt(cycle.count))]]
                if !tried.containsHost(h) { return h }
            }
            return hosts[cycle[0]]
        }
    }
}
