import SkiffConfig
import SkiffNet
import Synchronization

/// A cluster's `slow_start` as a balancer applies it: a host eligible for less than the ramp's duration (new to the
/// cluster, or back up after failing checks or an ejection: `Host.eligibleSinceNs`) counts with a fraction of its
/// weight (`SlowStartConfig.factor`). While no host ramps, balancers pick as they do without slow start; whether one
/// does is rescanned at most every 100 ms, so the common pick costs one clock read and one load.
///
/// Lock-free; every picking thread.
final class SlowStartRamp: Sendable {
    let config: SlowStartConfig
    private let anyRamping = Atomic<Bool>(false)
    private let nextScanNs = Atomic<UInt64>(0)
    static let scanEveryNs: UInt64 = 100_000_000

    init(_ config: SlowStartConfig) { self.config = config }

    /// The share of its weight `host` gets at `now` (1 when it is not ramping).
    @inline(__always)
    func factor(_ host: Host, now: UInt64) -> Double { config.factor(eligibleSinceNs: host.eligibleSinceNs, now: now) }

    /// Whether any of `hosts` ramps at `now` (from a scan at most `scanEveryNs` old).
    @inline(__always)
    func isRamping(_ hosts: [Host], now: UInt64) -> Bool {
        if now < nextScanNs.load(ordering: .relaxed) { return anyRamping.load(ordering: .relaxed) }
        nextScanNs.store(now &+ Self.scanEveryNs, ordering: .relaxed)
        let ramping = hosts.contains { factor($0, now: now) < 1 }
        anyRamping.store(ramping, ordering: .relaxed)
        return ramping
    }

    /// A host not in `tried`, at random with probability proportional to weight × factor; nil when none has weight.
    func pickWeighted(_ hosts: [Host], excluding tried: [Host], now: UInt64) -> Host? {
        var total = 0.0
        for h in hosts where !tried.containsHost(h) { total += Double(h.weight) * factor(h, now: now) }
        guard total > 0 else { return nil }
        var r = Double(FastRandom.next() >> 11) / Double(UInt64(1) << 53) * total
        var last: Host?
        for h in hosts where !tried.containsHost(h) {
            let w = Double(h.weight) * factor(h, now: now)
            guard w > 0 else { continue }
            r -= w
            last = h
            if r < 0 { return h }
        }
        return last
    }
}
