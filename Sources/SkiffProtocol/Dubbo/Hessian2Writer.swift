/// Writes the two hessian2 values the proxy sends itself: null (heartbeat bodies) and a string (error messages).
enum Hessian2Writer {
    /// The most UTF-16 units one `'S'` chunk holds; longer messages are cut at a character boundary.
    static let maxStringUnits = 0xffff

    static let null = UInt8(ascii: "N")

    /// Encodes `text` as one hessian2 string chunk: `x00-x1f` (up to 31 units), `x30-x33 b0` (up to 1023),
    /// else `'S' b1 b0`. Returns the bytes written, or nil if `capacity` is too small.
    static func writeString(_ text: StaticString, into out: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        text.withUTF8Buffer { utf8 in
            // Count UTF-16 units, stopping before a character that would pass the chunk limit.
            var units = 0
            var byteCount = 0
            while byteCount < utf8.count {
                let lead = utf8[byteCount]
                let width = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
                let charUnits = width == 4 ? 2 : 1
                guard units + charUnits <= maxStringUnits, byteCount + width <= utf8.count else { break }
                units += charUnits
                byteCount += width
            }
            let header = units <= 0x1f ? 1 : units <= 0x3ff ? 2 : 3
            guard capacity >= header + byteCount else { return nil }
            switch header {
            case 1:
                out.storeBytes(of: UInt8(units), as: UInt8.self)
            case 2:
                out.storeBytes(of: 0x30 + UInt8(units >> 8), as: UInt8.self)
                out.storeBytes(of: UInt8(units & 0xff), toByteOffset: 1, as: UInt8.self)
            default:
                out.storeBytes(of: UInt8(ascii: "S"), as: UInt8.self)
                RPCWire.store(UInt16(units), to: out, at: 1)
            }
            if let base = utf8.baseAddress, byteCount > 0 {
                (out + header).copyMemory(from: base, byteCount: byteCount)
            }
            return header + byteCount
        }
    }
}
