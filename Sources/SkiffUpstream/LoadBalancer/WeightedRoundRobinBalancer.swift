import SkiffNet
import Synchronization

/// One precomputed smooth weighted round-robin cycle: host indices in the nginx sequence, sum(weights) long.
final class WeightCycle: Sendable {
    let order: [Int]
    /// The weights it was built from.
    let weights: [Int]

    /// Clusters larger than this get stride scheduling instead of nginx's sequence (which costs hosts × sum(weights)).
    static let nginxSequenceUpTo = 64

    /// The nginx smooth sequence for `weights` (a weight of 0 never appears); for a large cluster (an EDS cluster of
    /// thousands of hosts) the stride sequence, equally exact over a cycle and interleaved.
    init(weights: [Int]) {
        self.weights = weights
        if weights.count > Self.nginxSequenceUpTo {
            order = Self.strideSequence(weights)
            return
        }
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

    /// Each host's k-th pick (k = 0..<weight) is due at (2k+1)/(2·weight) of the cycle; the sequence is the picks in
    /// due order (ties by host index): exactly `weight` picks per host, spread evenly. Equal weights give plain round
    /// robin. O(sum · log sum).
    static func strideSequence(_ weights: [Int]) -> [Int] {
        let w = weights.map { max(0, $0) }
        if let first = w.first, first > 0, w.allSatisfy({ $0 == first }) {
            return (0..<first).flatMap { _ in Array(w.indices) }
        }
        var picks: [(host: Int, k: Int)] = []
        picks.reserveCapacity(w.reduce(0, +))
        for (host, weight) in w.enumerated() {
            for k in 0..<weight { picks.append((host, k)) }
        }
        // (2a+1)/(2wa) < (2b+1)/(2wb)  <=>  (2a+1)·wb < (2b+1)·wa
        picks.sort { x, y in
            let l = (2 * x.k + 1) * w[y.host]
            let r = (2 * y.k + 1) * w[x.host]
            return l != r ? l < r : x.host < y.host
        }
        return picks.map(\.host)
    }
}

/// Smooth weighted round robin over a precomputed cycle (the nginx sequence): exact weights over each cycle of
/// sum(weights) picks, interleaved rather than bunched, and lock-free (an atomic index into the cycle).
///
/// A run-time weight change (`weightsChanged`) builds a new cycle and publishes it with one atomic store; pickers
/// read whichever cycle is current with one acquiring load and no reference counting. A replaced cycle is kept
/// while a picker could still be reading it: freed only once it was replaced more than `retireAfterNs` ago and at
/// least `keepRetired` newer ones replaced it too (a pick takes nanoseconds), so repeated weight changes keep a
/// bounded number of cycles, not one per change. A change that leaves every weight as it was builds nothing.
final class WeightedRoundRobinBalancer: LoadBalancer, @unchecked Sendable {
    let hosts: [Host]
    let next = Atomic<Int>(0)
    /// The current cycle (retained by `built`).
    private let current: Atomic<Unmanaged<WeightCycle>>
    /// The current cycle and the replaced ones still kept, with when each was replaced (monotonic ns); serialises
    /// rebuilds. Not touched by `pick`.
    private let built: Mutex<(current: WeightCycle, retired: [(cycle: WeightCycle, at: UInt64)])>
    /// How long, at least, a replaced cycle stays readable (10 s; tests pass less).
    let retireAfterNs: UInt64
    static var keepRetired: Int { 16 }
    /// While a host ramps up (`slow_start`), picks are weighted at random by the ramped weights instead of the cycle.
    let slowStart: SlowStartRamp?

    init(hosts: [Host], retireAfterNs: UInt64 = 10_000_000_000, slowStart: SlowStartRamp? = nil) {
        self.hosts = hosts
        self.retireAfterNs = retireAfterNs
        self.slowStart = slowStart
        let first = WeightCycle(weights: hosts.map(\.weight))
        current = Atomic(Unmanaged.passUnretained(first))
        built = Mutex((first, []))
    }

    /// The cycle as pickers see it now.
    var cycle: [Int] { current.load(ordering: .acquiring)._withUnsafeGuaranteedRef { $0.order } }

    func weightsChanged() {
        let weights = hosts.map(\.weight)
        built.withLock { b in
            guard weights != b.current.weights else { return }
            let c = WeightCycle(weights: weights)
            let now = MonotonicClock.now()
            b.retired.append((b.current, now))
            b.current = c
            current.store(Unmanaged.passUnretained(c), ordering: .releasing)
            // Free what no picker can still be reading: replaced long ago, and many times over.
            let old = b.retired.count - Self.keepRetired
            if old > 0 {
                let expired = b.retired.prefix(old).prefix { now &- $0.at > retireAfterNs }.count
                b.retired.removeFirst(expired)
            }
        }
    }

    /// Cycles kept besides the current one (for tests).
    var retiredCycles: Int { built.withLock { $0.retired.count } }

    func pick(excluding tried: [Host]) -> Host? {
        if let ramp = slowStart {
            let now = MonotonicClock.now()
            if ramp.isRamping(hosts, now: now), let h = ramp.pickWeighted(hosts, excluding: tried, now: now) { return h }
        }
        return current.load(ordering: .acquiring)._withUnsafeGuaranteedRef { c in
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
