/// A plain copy of a ``LatencyHistogram``'s counters at one moment, and the arithmetic on it.
///
/// A value type owned by whoever took it (usually the publisher thread); nothing in it is shared. Quantiles use the
/// nearest-rank definition (the `⌈q·count⌉`-th smallest value) and report the midpoint of the bucket that value fell
/// in, clamped to `max`: within 0.78 % of the exact answer for values up to 137 s.
///
/// ```swift
/// let interval = now.subtracting(previous)      // the last tick only
/// let p99 = interval.quantile(0.99)             // nanoseconds
/// let le = interval.cumulativeBuckets(bounds: [1_000_000, 10_000_000, .max])
/// ```
public struct HistogramSnapshot: Sendable, Equatable {
    /// Per-bucket counts in `HistogramLayout` order (2048 of them).
    public private(set) var counts: [UInt64]
    /// Number of values: always the sum of `counts`.
    public private(set) var count: UInt64
    /// Sum of the values in nanoseconds. Taken next to the buckets, not atomically with them: while threads keep
    /// recording it may include a few values the buckets do not yet.
    public private(set) var sum: UInt64
    /// Largest value in nanoseconds: exact for a histogram's snapshot or a merge of them; for a ``subtracting(_:)``
    /// delta, the top of the highest non-empty bucket (clamped to the later snapshot's max), or 0 when empty.
    public private(set) var max: UInt64

    /// An empty snapshot (all buckets zero); the identity for ``merging(_:)``.
    public init() {
        counts = [UInt64](repeating: 0, count: HistogramLayout.bucketCount)
        count = 0
        sum = 0
        max = 0
    }

    /// Refills this snapshot in place; `fill` writes every bucket and returns (count, sum, max).
    mutating func load(_ fill: (inout [UInt64]) -> (UInt64, UInt64, UInt64)) {
        if counts.count != HistogramLayout.bucketCount {
            counts = [UInt64](repeating: 0, count: HistogramLayout.bucketCount)
        }
        (count, sum, max) = fill(&counts)
    }

    /// Mean in nanoseconds, 0 when empty.
    public var mean: Double {
        count == 0 ? 0 : Double(sum) / Double(count)
    }

    /// The value reported for bucket `index`: its midpoint, never above `max`; the overflow bucket reports `max`.
    @inline(__always)
    private func reported(_ index: Int) -> UInt64 {
        if index == HistogramLayout.bucketCount - 1 { return max }
        return Swift.min(HistogramLayout.representative(of: index), max)
    }

    /// The nearest-rank quantile in nanoseconds: the `⌈q·count⌉`-th smallest value (the smallest for `q = 0`).
    ///
    /// - Parameter q: in `0...1`; values outside are clamped. Returns 0 for an empty snapshot.
    public func quantile(_ q: Double) -> UInt64 {
        quantiles([q])[0]
    }

    /// Several quantiles in one pass over the buckets (p50, p90, p99, p999, ...), in the order given.
    public func quantiles(_ qs: [Double]) -> [UInt64] {
        var result = [UInt64](repeating: 0, count: qs.count)
        guard count > 0 else { return result }
        let ranks = qs.map(rank)
        let order = ranks.indices.sorted { ranks[$0] < ranks[$1] }
        var next = 0
        var cumulative: UInt64 = 0
        for index in 0..<counts.count where counts[index] != 0 {
            cumulative += counts[index]
            while next < order.count, ranks[order[next]] <= cumulative {
                result[order[next]] = reported(index)
                next += 1
            }
            if next == order.count { break }
        }
        return result
    }

    /// 1-based nearest rank of quantile `q` among `count` values.
    private func rank(_ q: Double) -> UInt64 {
        guard q == q else { return 1 }  // NaN
        let clamped = Swift.min(Swift.max(q, 0), 1)
        let rank = UInt64((clamped * Double(count)).rounded(.up))
        return Swift.min(Swift.max(rank, 1), count)
    }

    /// Both snapshots' values together: for totals across poller-local or per-host histograms.
    public func merging(_ other: HistogramSnapshot) -> HistogramSnapshot {
        var merged = self
        merged.counts.withUnsafeMutableBufferPointer { counts in
            other.counts.withUnsafeBufferPointer { others in
                for index in 0..<Swift.min(counts.count, others.count) {
                    counts[index] &+= others[index]
                }
            }
        }
        merged.count &+= other.count
        merged.sum &+= other.sum
        merged.max = Swift.max(max, other.max)
        return merged
    }

    /// The values recorded between `earlier` and this snapshot of the same histogram ("last interval" percentiles).
    ///
    /// Counts saturate at zero, so passing snapshots in the wrong order yields an empty delta rather than a trap.
    public func subtracting(_ earlier: HistogramSnapshot) -> HistogramSnapshot {
        var delta = self
        var count: UInt64 = 0
        var highest = -1
        delta.counts.withUnsafeMutableBufferPointer { counts in
            earlier.counts.withUnsafeBufferPointer { earlier in
                for index in 0..<Swift.min(counts.count, earlier.count) {
                    let value = counts[index] >= earlier[index] ? counts[index] - earlier[index] : 0
                    counts[index] = value
                    count += value
                    if value != 0 { highest = index }
                }
            }
        }
        delta.count = count
        delta.sum = sum >= earlier.sum ? sum - earlier.sum : 0
        if highest < 0 {
            delta.max = 0
        } else if highest < HistogramLayout.bucketCount - 1 {
            delta.max = Swift.min(HistogramLayout.upperBound(of: highest), max)
        }
        return delta
    }

    /// Cumulative counts at Prometheus `le` bounds (nanoseconds, ascending): element `i` counts the values at or
    /// below `bounds[i]`, judging each bucket by the same midpoint ``quantile(_:)`` reports for it.
    ///
    /// Pass `UInt64.max` as the last bound for `+Inf`; that element equals `count`.
    public func cumulativeBuckets(bounds: [UInt64]) -> [UInt64] {
        assert(zip(bounds, bounds.dropFirst()).allSatisfy { $0 <= $1 }, "le bounds must be ascending")
        var result = [UInt64](repeating: 0, count: bounds.count)
        var next = 0
        var cumulative: UInt64 = 0
        for index in 0..<counts.count where counts[index] != 0 {
            let value = reported(index)
            while next < bounds.count, bounds[next] < value {
                result[next] = cumulative
                next += 1
            }
            cumulative += counts[index]
        }
        while next < bounds.count {
            result[next] = cumulative
            next += 1
        }
        return result
    }
}
