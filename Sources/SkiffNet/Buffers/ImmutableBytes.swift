/// Bytes allocated once and never changed, read without reference counting: text a hot path copies as it is (a
/// host's address as access logs print it). Whoever holds them frees them (`deallocate`) when it goes, after the
/// last reader.
public struct ImmutableBytes: @unchecked Sendable {  // never written after init
    public let buffer: UnsafeRawBufferPointer

    /// `text`'s UTF-8, cut to `maxBytes`.
    public init(_ text: String, maxBytes: Int = Int.max) {
        let utf8 = Array(text.utf8.prefix(maxBytes))
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, utf8.count), alignment: 1)
        utf8.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: $0.count) } }
        buffer = UnsafeRawBufferPointer(start: p, count: utf8.count)
    }

    /// A copy of `bytes`.
    public init(_ bytes: UnsafeRawBufferPointer) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        if let b = bytes.baseAddress { p.copyMemory(from: b, byteCount: bytes.count) }
        buffer = UnsafeRawBufferPointer(start: p, count: bytes.count)
    }

    public func deallocate() { buffer.baseAddress.map { UnsafeMutableRawPointer(mutating: $0).deallocate() } }
}
