/// A span of bytes inside a message head, as offsets from the start of the buffer the head was parsed from.
///
/// Heads are parsed in place, so every field is an offset pair instead of a copied `String`; the caller slices the
/// same buffer it parsed (`bytes(in:)`) for as long as that buffer holds the head.
public struct HTTPByteRange: Hashable, Sendable {
    public var start: Int
    public var count: Int

    @inline(__always)
    public init(start: Int, count: Int) {
        self.start = start
        self.count = count
    }

    @inline(__always)
    public init(start: Int, end: Int) {
        self.start = start
        self.count = end - start
    }

    public static let empty = HTTPByteRange(start: 0, count: 0)

    /// One past the last byte.
    @inline(__always) public var end: Int { start + count }

    /// The bytes of this range in `source`, which must be the buffer the head was parsed from.
    @inline(__always)
    public func bytes(in source: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: source[start..<start + count])
    }
}
