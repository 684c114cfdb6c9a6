/// Big-endian field access and name comparison shared by the RPC codecs.
///
/// Every read is bounds-checked by the caller (the codecs check lengths before reading fields); the loads are
/// unaligned because wire fields sit at arbitrary offsets.
enum RPCWire {
    @inline(__always)
    static func u16(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt16 {
        UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    static func u32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    static func u64(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    static func store(_ value: UInt16, to out: UnsafeMutableRawPointer, at offset: Int) {
        out.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    @inline(__always)
    static func store(_ value: UInt32, to out: UnsafeMutableRawPointer, at offset: Int) {
        out.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    @inline(__always)
    static func store(_ value: UInt64, to out: UnsafeMutableRawPointer, at offset: Int) {
        out.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
    }

    /// Whether the bytes at `range` of `bytes` are exactly `name` (ASCII, case-sensitive, as both protocols are).
    static func equals(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        var i = 0
        while i < range.count {
            if bytes[range.lowerBound + i] != expected[i] { return false }
            i += 1
        }
        return true
    }

    /// A decimal number of at most 18 digits (no sign, no spaces), or nil.
    static func decimal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var value = 0
        for i in range {
            let d = bytes[i] &- UInt8(ascii: "0")
            guard d <= 9 else { return nil }
            value = value * 10 + Int(d)
        }
        return value
    }
}
