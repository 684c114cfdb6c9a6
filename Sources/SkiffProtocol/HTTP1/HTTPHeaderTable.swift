/// The header lines of one parsed head, as offsets into the buffer the head was parsed from.
///
/// One table per connection side, allocated once with a fixed capacity and reused for every message: parsing a head
/// only writes integers into it. One `Int32` allocation holds the count, then five `Int32`s per entry: name start,
/// name length, value start, value length (the value trimmed of OWS), and a word holding the recognised-name id and
/// flags (hop-by-hop). Keeping even the count in that memory, rather than in a `var` property, spares every access
/// the runtime exclusivity check a class's stored `var` costs.
///
/// Ownership: confined to the thread that owns the connection; handing the connection over hands the table over.
/// That is why it is `@unchecked Sendable`.
public final class HTTPHeaderTable: @unchecked Sendable {
    /// Most entries this table holds; the parser refuses more with 431.
    public let capacity: Int
    /// `base[0]` is the count; entries start at `storage`, right after it.
    private let base: UnsafeMutablePointer<Int32>
    private let storage: UnsafeMutablePointer<Int32>
    private static let stride = 5
    static let hopByHopFlag: Int32 = 0x100

    public init(capacity: Int = 100) {
        precondition(capacity > 0 && capacity < Int(Int32.max) / 8, "HTTPHeaderTable capacity out of range")
        self.capacity = capacity
        base = UnsafeMutablePointer<Int32>.allocate(capacity: 1 + capacity * HTTPHeaderTable.stride)
        base.initialize(to: 0)
        storage = base + 1
    }

    deinit { base.deallocate() }

    /// Entries in use.
    @inline(__always)
    public var count: Int { Int(base[0]) }

    /// Forgets all entries (no deallocation).
    @inline(__always)
    public func removeAll() { base[0] = 0 }

    /// Adds an entry; false when full.
    @inline(__always)
    func append(nameStart: Int, nameLength: Int, valueStart: Int, valueLength: Int, name: HTTPHeaderName) -> Bool {
        let count = self.count
        if count == capacity { return false }
        let p = storage + count &* HTTPHeaderTable.stride
        p[0] = Int32(truncatingIfNeeded: nameStart)
        p[1] = Int32(truncatingIfNeeded: nameLength)
        p[2] = Int32(truncatingIfNeeded: valueStart)
        p[3] = Int32(truncatingIfNeeded: valueLength)
        p[4] = Int32(name.rawValue)
        base[0] = Int32(truncatingIfNeeded: count &+ 1)
        return true
    }

    // MARK: Entry fields

    @inline(__always)
    public func nameRange(at i: Int) -> HTTPByteRange {
        precondition(i >= 0 && i < count, "header index out of range")
        let p = storage + i &* HTTPHeaderTable.stride
        return HTTPByteRange(start: Int(p[0]), count: Int(p[1]))
    }

    @inline(__always)
    public func valueRange(at i: Int) -> HTTPByteRange {
        precondition(i >= 0 && i < count, "header index out of range")
        let p = storage + i &* HTTPHeaderTable.stride
        return HTTPByteRange(start: Int(p[2]), count: Int(p[3]))
    }

    /// The name's bytes as sent (original case).
    @inline(__always)
    public func name(at i: Int, in source: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        nameRange(at: i).bytes(in: source)
    }

    /// The value's bytes, without leading or trailing OWS.
    @inline(__always)
    public func value(at i: Int, in source: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        valueRange(at: i).bytes(in: source)
    }

    /// Which well-known header entry `i` is (`.other` for the rest).
    @inline(__always)
    public func knownName(at i: Int) -> HTTPHeaderName {
        precondition(i >= 0 && i < count, "header index out of range")
        return HTTPHeaderName(rawValue: UInt8(truncatingIfNeeded: storage[i &* HTTPHeaderTable.stride + 4])) ?? .other
    }

    /// True when entry `i` is hop-by-hop (a hop-by-hop name, or named by a Connection token) and is not forwarded.
    @inline(__always)
    public func isHopByHop(at i: Int) -> Bool {
        precondition(i >= 0 && i < count, "header index out of range")
        return storage[i &* HTTPHeaderTable.stride + 4] & HTTPHeaderTable.hopByHopFlag != 0
    }

    @inline(__always)
    func markHopByHop(at i: Int) {
        storage[i &* HTTPHeaderTable.stride + 4] |= HTTPHeaderTable.hopByHopFlag
    }

    /// Keeps every header named `lowercaseName` from being forwarded (the proxy sends its own value instead), as
    /// hop-by-hop headers are kept. Call after routing and captures, which still see them.
    public func withhold(named lowercaseName: StaticString, in source: UnsafeRawBufferPointer) {
        let name = UnsafeRawBufferPointer(start: lowercaseName.utf8Start, count: lowercaseName.utf8CodeUnitCount)
        var from = 0
        while let i = index(named: name, in: source, from: from) {
            markHopByHop(at: i)
            from = i + 1
        }
    }

    // MARK: Lookup

    /// The first entry at or after `from` whose name equals `lowercaseName` ignoring ASCII case, or nil.
    ///
    /// - Parameter lowercaseName: the name in lowercase ASCII (`"x-request-id"`).
    public func index(named lowercaseName: UnsafeRawBufferPointer, in source: UnsafeRawBufferPointer, from: Int = 0)
        -> Int?
    {
        let want = lowercaseName.count
        var i = max(0, from)
        while i < count {
            let p = storage + i &* HTTPHeaderTable.stride
            if Int(p[1]) == want, HTTPHeaderTable.equalsIgnoringCase(source, Int(p[0]), lowercaseName) { return i }
            i &+= 1
        }
        return nil
    }

    /// The value of the first header named `lowercaseName` (ASCII case-insensitive), or nil.
    public func firstValue(named lowercaseName: StaticString, in source: UnsafeRawBufferPointer)
        -> UnsafeRawBufferPointer?
    {
        let name = UnsafeRawBufferPointer(start: lowercaseName.utf8Start, count: lowercaseName.utf8CodeUnitCount)
        return firstValue(named: name, in: source)
    }

    /// The value of the first header named `lowercaseName` (ASCII case-insensitive), or nil.
    public func firstValue(named lowercaseName: [UInt8], in source: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        lowercaseName.withUnsafeBytes { firstValue(named: $0, in: source) }
    }

    /// The value of the first header named `lowercaseName` (ASCII case-insensitive), or nil.
    public func firstValue(named lowercaseName: UnsafeRawBufferPointer, in source: UnsafeRawBufferPointer)
        -> UnsafeRawBufferPointer?
    {
        guard let i = index(named: lowercaseName, in: source) else { return nil }
        return value(at: i, in: source)
    }

    /// `source[start..<start+lower.count]` equals `lower` when its ASCII letters are lowercased. Only letters are
    /// folded, so names holding `_`, `^` or `~` compare exactly.
    @inline(__always)
    static func equalsIgnoringCase(_ source: UnsafeRawBufferPointer, _ start: Int, _ lower: UnsafeRawBufferPointer)
        -> Bool
    {
        for k in 0..<lower.count {
            let c = source[start &+ k]
            let folded = c &- 0x41 < 26 ? c | 0x20 : c
            if folded != lower[k] { return false }
        }
        return true
    }
}
