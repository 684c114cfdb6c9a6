import Glibc
import SkiffTestSupport
import Testing

@testable import SkiffTelemetry

@Suite("LatencyHistogram")
struct LatencyHistogramTests {
    enum Distribution: String, CaseIterable, Sendable {
        case uniform, exponential, bimodal, logNormal
    }

    /// 100k samples in nanoseconds, between 1 µs and ~100 s.
    static func samples(_ distribution: Distribution, count: Int = 100_000) -> [UInt64] {
        var random = SplitMix64(seed: 0x5EED + UInt64(distribution.rawValue.utf8.count))
        func unit() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        return (0..<count).map { _ in
            let value: Double
            switch distribution {
            case .uniform:
                value = 1_000 + unit() * 100_000_000
            case .exponential:
                value = 1_000 - 2_000_000 * log(1 - unit())
            case .bimodal:
                // 90 % fast responses around 300 µs, 10 % slow ones around 80 ms.
                let spread = (unit() + unit() + unit() - 1.5)
                value = unit() < 0.9 ? 300_000 + spread * 60_000 : 80_000_000 + spread * 20_000_000
            case .logNormal:
                let normal = sqrt(-2 * log(1 - unit())) * cos(2 * Double.pi * unit())
                value = exp(log(5_000_000) + 1.5 * normal)
            }
            return UInt64(min(max(value, 1_000), 100_000_000_000))
        }
    }

    static let quantiles: [Double] = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1]

    /// The exact nearest-rank quantile.
    static func exactQuantile(_ sorted: [UInt64], _ q: Double) -> UInt64 {
        let rank = max(1, Int((q * Double(sorted.count)).rounded(.up)))
        return sorted[min(rank, sorted.count) - 1]
    }

    @Test("quantiles are within 1% of the exact ones", arguments: Distribution.allCases)
    func quantileAccuracy(_ distribution: Distribution) {
        let values = Self.samples(distribution)
        let histogram = LatencyHistogram()
        for value in values { histogram.record(ns: value) }
        let sorted = values.sorted()
        let snapshot = histogram.snapshot()

        #expect(snapshot.count == UInt64(values.count))
        #expect(histogram.count == UInt64(values.count))
        #expect(snapshot.max == sorted.last)
        #expect(snapshot.sum == values.reduce(0, +))
        let exactMean = Double(values.reduce(0, +)) / Double(values.count)
        #expect(abs(snapshot.mean - exactMean) <= exactMean * 1e-12)

        let batch = snapshot.quantiles(Self.quantiles)
        for (q, fromBatch) in zip(Self.quantiles, batch) {
            let exact = Self.exactQuantile(sorted, q)
            let reported = snapshot.quantile(q)
            let error = abs(Double(reported) - Double(exact)) / Double(exact)
            #expect(error <= 0.01, "q=\(q): reported \(reported), exact \(exact), error \(error)")
            #expect(fromBatch == reported)
        }
        #expect(snapshot.quantiles(Self.quantiles.reversed()) == batch.reversed())
    }

    @Test("every bucket is contiguous with the next and bounds its values to 1/64")
    func layout() {
        for index in 0..<(HistogramLayout.bucketCount - 1) {
            #expect(HistogramLayout.upperBound(of: index) + 1 == HistogramLayout.lowerBound(of: index + 1))
            #expect(HistogramLayout.index(of: HistogramLayout.lowerBound(of: index)) == index)
            #expect(HistogramLayout.index(of: HistogramLayout.upperBound(of: index)) == index)
            if index >= 128 {
                #expect(HistogramLayout.width(of: index) * 64 <= HistogramLayout.lowerBound(of: index))
            }
        }
        #expect(HistogramLayout.bucketCount == 2048)
        #expect(HistogramLayout.lowerBound(of: 2047) == 127 << 30)
        #expect(HistogramLayout.index(of: 0) == 0)
        #expect(HistogramLayout.index(of: 200_000_000_000) == 2047)
        #expect(HistogramLayout.index(of: .max) == 2047)
    }

    @Test("values beyond the last bucket still report the exact max")
    func overflow() {
        let histogram = LatencyHistogram()
        histogram.record(ns: 5_000)
        histogram.record(ns: 300_000_000_000)
        let snapshot = histogram.snapshot()
        #expect(snapshot.quantile(1) == 300_000_000_000)
        #expect(snapshot.quantile(0.5) == HistogramLayout.representative(of: HistogramLayout.index(of: 5_000)))
    }

    @Test("an empty snapshot reports zeros")
    func empty() {
        let snapshot = LatencyHistogram().snapshot()
        #expect(snapshot.count == 0)
        #expect(snapshot.quantile(0.99) == 0)
        #expect(snapshot.mean == 0)
        #expect(snapshot.cumulativeBuckets(bounds: [1_000, .max]) == [0, 0])
        #expect(snapshot == HistogramSnapshot())
    }

    @Test("merging and subtracting snapshots")
    func mergeAndSubtract() {
        let first = Self.samples(.exponential, count: 20_000)
        let second = Self.samples(.bimodal, count: 30_000)
        let whole = LatencyHistogram()
        let onlyFirst = LatencyHistogram()
        let onlySecond = LatencyHistogram()
        for value in first {
            whole.record(ns: value)
            onlyFirst.record(ns: value)
        }
        let before = whole.snapshot()
        for value in second {
            whole.record(ns: value)
            onlySecond.record(ns: value)
        }
        let after = whole.snapshot()

        let merged = onlyFirst.snapshot().merging(onlySecond.snapshot())
        #expect(merged == after)

        let interval = after.subtracting(before)
        let expected = onlySecond.snapshot()
        #expect(interval.counts == expected.counts)
        #expect(interval.count == 30_000)
        #expect(interval.sum == second.reduce(0, +))
        // A delta's max is bucket-precise: at or above the true max, within one bucket width.
        let trueMax = second.max()!
        #expect(interval.max >= trueMax)
        #expect(Double(interval.max - trueMax) <= Double(trueMax) / 64)
        for q in [0.5, 0.9, 0.99] {
            let sorted = second.sorted()
            let error = abs(Double(interval.quantile(q)) - Double(Self.exactQuantile(sorted, q)))
            #expect(error <= Double(Self.exactQuantile(sorted, q)) * 0.01)
        }

        #expect(before.subtracting(after).count == 0)
        #expect(after.subtracting(after).max == 0)
        #expect(before.merging(HistogramSnapshot()) == before)
    }

    @Test("cumulative buckets are monotone, end at count, and match exact counts to a bucket")
    func cumulativeBuckets() {
        let values = Self.samples(.logNormal)
        let histogram = LatencyHistogram()
        for value in values { histogram.record(ns: value) }
        let snapshot = histogram.snapshot()
        let bounds: [UInt64] = [
            1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000, 5_000_000, 10_000_000, 50_000_000,
            100_000_000, 500_000_000, 1_000_000_000, 10_000_000_000, .max,
        ]
        let cumulative = snapshot.cumulativeBuckets(bounds: bounds)
        #expect(cumulative.count == bounds.count)
        #expect(zip(cumulative, cumulative.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(cumulative.last == snapshot.count)
        for (bound, reported) in zip(bounds.dropLast(), cumulative) {
            let exact = values.lazy.filter { $0 <= bound }.count
            // Only values in the bucket straddling the bound may be attributed to the other side.
            let slack = values.lazy.filter { Double($0) >= Double(bound) * 0.98 && Double($0) <= Double(bound) * 1.02 }
                .count
            #expect(abs(Int(reported) - exact) <= slack, "le=\(bound): \(reported) vs exact \(exact)")
        }
    }

    @Test("four threads recording concurrently lose nothing")
    func concurrentRecord() {
        let histogram = LatencyHistogram()
        let perThread = 100_000
        @Sendable func value(_ thread: Int, _ index: Int) -> UInt64 {
            UInt64((index &* 7919 &+ thread &* 104_729) % 50_000_000 + 1_000)
        }
        runThreads(4) { thread in
            for index in 0..<perThread { histogram.record(ns: value(thread, index)) }
        }
        let reference = LatencyHistogram()
        var sum: UInt64 = 0
        var largest: UInt64 = 0
        for thread in 0..<4 {
            for index in 0..<perThread {
                reference.record(ns: value(thread, index))
                sum += value(thread, index)
                largest = max(largest, value(thread, index))
            }
        }
        let snapshot = histogram.snapshot()
        #expect(snapshot.count == 400_000)
        #expect(snapshot.sum == sum)
        #expect(snapshot.max == largest)
        #expect(snapshot == reference.snapshot())
    }
}
