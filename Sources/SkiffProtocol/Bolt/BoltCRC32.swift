/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), the checksum sofa-bolt's `CrcUtil` computes with
/// `java.util.zip.CRC32` over a Bolt v2 frame whose `ver1` is 2 and whose CRC switch is on.
///
/// The proxy recomputes it only after rewriting a request id in such a frame.
enum BoltCRC32 {
    /// One byte at a time through a 256-entry table, built once (immutable, so any thread may read it).
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? (0xEDB8_8320 ^ (c >> 1)) : (c >> 1) }
        return c
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            var crc: UInt32 = 0xFFFF_FFFF
            for b in bytes { crc = t[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
            return crc ^ 0xFFFF_FFFF
        }
    }
}
