/// A histogram's non-empty buckets in the compact form a frame carries them, so that a reader holding two frames
/// can subtract them and get the quantiles of the values recorded in between (the console's sliding window).
///
/// The wire form is a flat array of pairs `[gap, count, gap, count, ...]`: the first bucket's index is its gap
/// from 0, every later one's is the previous index plus its gap (so gaps after the first are at least 1), in
/// ``HistogramLayout`` order. A host that saw 10 000 requests between 1 ms and 3 ms carries about 130 numbers.
///
/// A pure value; built by the publisher thread, read by the console's.
public enum SparseBuckets {
    /// The wire pairs of a snapshot's non-empty buckets.
    public static func encode(_ snapshot: HistogramSnapshot) -> [UInt64] {
        var out: [UInt64] = []
        var previous = 0
        snapshot.counts.withUnsafeBufferPointer { counts in
            for index in 0..<counts.count where counts[index] != 0 {
                out.append(UInt64(index - previous))
                out.append(counts[index])
                previous = index
            }
        }
        return out
    }

    /// Why a wire array does not describe a histogram.
    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        /// An odd number of elements: a gap without its count.
        case oddLength(Int)
        /// A later gap of 0 (a bucket listed twice) or an index past the last bucket.
        case badIndex(position: Int)

        public var description: String {
            switch self {
            case .oddLength(let n): return "latency buckets: \(n) numbers, expected gap/count pairs"
            case .badIndex(let p): return "latency buckets: pair \(p) names no bucket after the one before it"
            }
        }
    }

    /// The snapshot the pairs describe, with `max` (nanoseconds) as its largest value; `sum` is not carried.
    public static func decode(_ wire: [UInt64], maxNs: UInt64) throws(DecodeError) -> HistogramSnapshot {
        guard wire.count % 2 == 0 else { throw .oddLength(wire.count) }
        var snapshot = HistogramSnapshot()
        var problem: DecodeError?
        snapshot.load { counts in
            var index = 0
            var count: UInt64 = 0
            var pair = 0
            while pair * 2 < wire.count {
                let gap = wire[pair * 2]
                guard (pair == 0 || gap > 0), gap < UInt64(HistogramLayout.bucketCount),
                    index + Int(gap) < HistogramLayout.bucketCount
                else {
                    problem = .badIndex(position: pair)
                    break
                }
                index += Int(gap)
                counts[index] = wire[pair * 2 + 1]
                count &+= wire[pair * 2 + 1]
                pair += 1
            }
            return (count, 0, count == 0 ? 0 : maxNs)
        }
        if let problem { throw problem }
        return snapshot
    }
}
