/// The bucket layout shared by ``LatencyHistogram`` and ``HistogramSnapshot``: log-linear over nanoseconds.
///
/// Values below 128 ns get one bucket each. Above that, every power of two `[2^k, 2^(k+1))` is split into 64
/// equal sub-buckets of width `2^(k-6)`, so a bucket is never wider than 1/64 of its lower bound and the bucket's
/// midpoint is within 1/128 (0.78 %) of any value in it. The last octave is `[2^36, 2^37)` ns (68.7 s .. 137 s);
/// larger values land in the last bucket (the exact maximum is still kept by the histogram).
///
/// 2048 buckets, 16 KiB of counters per histogram, whatever the traffic.
enum HistogramLayout {
    /// log2 of the linear sub-buckets per octave.
    static let subBucketBits = 6
    /// Linear sub-buckets per octave.
    static let subBuckets = 1 << subBucketBits
    /// The highest octave is `[2^highestOctave, 2^(highestOctave+1))` ns.
    static let highestOctave = 36
    /// Total number of buckets: the exact region `[0, 128)` plus 64 per octave from 2^7 to 2^36.
    static let bucketCount = (highestOctave - subBucketBits + 1) * subBuckets + subBuckets

    /// The bucket index of a value in nanoseconds; a handful of branch-free instructions.
    @inline(__always)
    static func index(of value: UInt64) -> Int {
        let log2 = 63 - (value | 1).leadingZeroBitCount
        let shift = max(log2 - subBucketBits, 0)
        let index = (shift << subBucketBits) + Int(truncatingIfNeeded: value >> UInt64(shift))
        return min(index, bucketCount - 1)
    }

    /// The smallest value that lands in bucket `index`.
    @inline(__always)
    static func lowerBound(of index: Int) -> UInt64 {
        if index < 2 * subBuckets { return UInt64(index) }
        let shift = (index >> subBucketBits) - 1
        let mantissa = index - (shift << subBucketBits)
        return UInt64(mantissa) << UInt64(shift)
    }

    /// How many distinct values bucket `index` holds.
    @inline(__always)
    static func width(of index: Int) -> UInt64 {
        if index < 2 * subBuckets { return 1 }
        return 1 << UInt64((index >> subBucketBits) - 1)
    }

    /// The largest value that lands in bucket `index` (the last bucket also takes everything above it).
    @inline(__always)
    static func upperBound(of index: Int) -> UInt64 {
        lowerBound(of: index) + width(of: index) - 1
    }

    /// The value reported for a bucket: its midpoint, which bounds the relative error by half a bucket.
    @inline(__always)
    static func representative(of index: Int) -> UInt64 {
        lowerBound(of: index) + (width(of: index) - 1) / 2
    }
}
