import Synchronization

/// A constant-memory latency histogram that any thread may record into without a lock or an allocation.
///
/// Owned by a listener, cluster or host and shared by every poller thread that serves it: `record(ns:)` is a
/// `lzcnt`, a shift, two relaxed atomic adds (sum, bucket) and a load of the maximum (a compare-exchange only when a
/// new maximum is seen), so it can sit on the request path. The publisher thread (or anyone else) takes ``snapshot()`` copies and does the arithmetic there;
/// nothing is ever reset, intervals are computed by ``HistogramSnapshot/subtracting(_:)``.
///
/// Buckets are log-linear over nanoseconds (see `HistogramLayout`): exact below 128 ns, then 64 sub-buckets per
/// power of two up to 2^37 ns (137 s), 2048 buckets, 16 KiB. Quantiles reported from a snapshot are within 0.78 % of
/// the exact nearest-rank quantile.
///
/// There is no separate event counter: a snapshot's `count` is the sum of the bucket counts it copied, so a snapshot
/// is always self-consistent (its cumulative buckets end exactly at its count) even while threads keep recording.
///
/// ```swift
/// let latency = LatencyHistogram()
/// latency.record(ns: end - start)          // any poller thread
/// let now = latency.snapshot()             // publisher thread
/// let p99 = now.subtracting(previous).quantile(0.99)
/// ```
///
/// `@unchecked Sendable`: the only stored state is an atomic pointer to the bucket counters (each an `Atomic`,
/// allocated by the first record, never replaced, freed in `deinit`) and two `Atomic`s; every access is atomic.
public final class LatencyHistogram: @unchecked Sendable {
    /// The 16 KiB of bucket counters, allocated by the first `record` (a cluster of thousands of hosts, most of
    /// them never used by this sidecar, costs nothing until then); never replaced once set.
    private let storage = Atomic<UnsafeMutablePointer<Atomic<UInt64>>?>(nil)
    private let total = Atomic<UInt64>(0)
    private let largest = Atomic<UInt64>(0)

    /// Creates an empty histogram; its one allocation waits for the first value.
    public init() {}

    deinit {
        if let b = storage.load(ordering: .acquiring) {
            b.deinitialize(count: HistogramLayout.bucketCount)
            b.deallocate()
        }
    }

    /// Nothing was ever recorded (no storage yet).
    public var isUnused: Bool { storage.load(ordering: .acquiring) == nil }

    /// The counters, allocated on first use (a race is settled by one compare-exchange; the loser frees its own).
    @inline(__always)
    private var buckets: UnsafeMutablePointer<Atomic<UInt64>> {
        if let b = storage.load(ordering: .acquiring) { return b }
        return allocateBuckets()
    }

    @inline(never)
    private func allocateBuckets() -> UnsafeMutablePointer<Atomic<UInt64>> {
        let fresh = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: HistogramLayout.bucketCount)
        for index in 0..<HistogramLayout.bucketCount {
            (fresh + index).initialize(to: Atomic<UInt64>(0))
        }
        let (won, current) = storage.compareExchange(expected: nil, desired: fresh, ordering: .acquiringAndReleasing)
        if won { return fresh }
        fresh.deinitialize(count: HistogramLayout.bucketCount)
        fresh.deallocate()
        return current!
    }

    /// Records one duration. Any thread; no lock, no allocation.
    ///
    /// The maximum and the sum are updated before the bucket, and the bucket increment is a release (free on x86,
    /// which already orders read-modify-writes) paired with the acquiring loads in ``snapshot()``: a snapshot that
    /// counts a value also sees it in `max`, so quantiles clamped to `max` never undershoot.
    ///
    /// - Parameter ns: the duration in nanoseconds; values above 137 s share the last bucket.
    @inline(__always)
    public func record(ns: UInt64) {
        var current = largest.load(ordering: .relaxed)
        while ns > current {
            let (exchanged, original) = largest.weakCompareExchange(
                expected: current, desired: ns, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
        total.wrappingAdd(ns, ordering: .relaxed)
        buckets[HistogramLayout.index(of: ns)].wrappingAdd(1, ordering: .releasing)
    }

    /// The number of recorded values: the sum over all buckets (2048 loads; not for the request path).
    public var count: UInt64 {
        guard let buckets = storage.load(ordering: .acquiring) else { return 0 }
        var count: UInt64 = 0
        for index in 0..<HistogramLayout.bucketCount {
            count &+= buckets[index].load(ordering: .relaxed)
        }
        return count
    }

    /// The sum of all recorded values in nanoseconds (wraps after 584 years of accumulated latency).
    public var sum: UInt64 { total.load(ordering: .relaxed) }

    /// The largest value recorded, exact (not bucketed).
    public var max: UInt64 { largest.load(ordering: .relaxed) }

    /// Copies the counters into a new snapshot. Any thread; allocates the snapshot's 16 KiB.
    public func snapshot() -> HistogramSnapshot {
        var copy = HistogramSnapshot()
        snapshot(into: &copy)
        return copy
    }

    /// Copies the counters into `snapshot`, reusing its storage: a publisher that keeps one snapshot per histogram
    /// allocates nothing per tick.
    public func snapshot(into snapshot: inout HistogramSnapshot) {
        let stored = storage.load(ordering: .acquiring)
        snapshot.load { counts in
            guard let buckets = stored else {
                for index in 0..<HistogramLayout.bucketCount { counts[index] = 0 }
                return (0, total.load(ordering: .relaxed), largest.load(ordering: .relaxed))
            }
            var count: UInt64 = 0
            for index in 0..<HistogramLayout.bucketCount {
                let value = buckets[index].load(ordering: .acquiring)
                counts[index] = value
                count &+= value
            }
            return (count, total.load(ordering: .relaxed), largest.load(ordering: .relaxed))
        }
    }
}
