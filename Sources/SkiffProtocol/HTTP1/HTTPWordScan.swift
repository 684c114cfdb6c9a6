/// Tests eight bytes at once (SWAR) for the few bytes that end a run: an LF, a CTL, DEL.
///
/// Header values and request targets are mostly plain printable bytes; checking a whole word per step instead of
/// each byte through the class table is what keeps per-byte cost low on long values. The classic "has zero byte"
/// masks are exact for their lowest flagged byte (false positives only appear above a real one), so
/// `firstFlagged` gives the exact offset of the first interesting byte.
enum HTTPWordScan {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Eight bytes from `offset`, first byte in the low bits on any platform; the caller guarantees they exist.
    @inline(__always)
    static func load(_ b: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Flags (bit 7 of each byte) the bytes of `x` that are zero.
    @inline(__always)
    static func zeroBytes(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }

    /// Flags the bytes of `x` below `n` (`n` ≤ 0x80); bytes ≥ 0x80 are never flagged.
    @inline(__always)
    static func bytesBelow(_ x: UInt64, _ n: UInt8) -> UInt64 { (x &- ones &* UInt64(n)) & ~x & highs }

    /// Flags the bytes of `x` equal to `c`.
    @inline(__always)
    static func bytesEqual(_ x: UInt64, _ c: UInt8) -> UInt64 { zeroBytes(x ^ (ones &* UInt64(c))) }

    /// Offset of the first flagged byte of a non-zero mask.
    @inline(__always)
    static func firstFlagged(_ mask: UInt64) -> Int { mask.trailingZeroBitCount &>> 3 }
}
