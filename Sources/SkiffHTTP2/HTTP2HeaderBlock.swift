import CNGHTTP2

/// A list of header fields (pseudo-headers first, as HTTP/2 requires): names and values copied into one byte store,
/// reused block after block, so building or reading headers allocates only while the store grows. A session fills
/// one with each header block it reads; a caller fills one to send (`HTTP2Session.submitRequest`, `submitResponse`,
/// `submitTrailers`), and libnghttp2 copies the fields while submitting.
///
/// Confined to its owner's thread; a block read from a session is valid until the session reads the next one.
public final class HTTP2HeaderBlock {
    private var bytes: [UInt8] = []
    /// name start, name length, value start, value length.
    private var entries: [(Int, Int, Int, Int)] = []

    /// The `nghttp2_nv` array `withNV` fills, kept for the next block.
    private var nva: UnsafeMutablePointer<nghttp2_nv>
    private var nvaCapacity = 24

    public init() {
        bytes.reserveCapacity(2048)
        entries.reserveCapacity(24)
        nva = .allocate(capacity: nvaCapacity)
    }

    deinit { nva.deallocate() }

    public var count: Int { entries.count }

    public func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }

    public func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let n = bytes.count
        bytes.append(contentsOf: name)
        bytes.append(contentsOf: value)
        entries.append((n, name.count, n + name.count, value.count))
    }

    public func append(_ name: StaticString, _ value: StaticString) {
        append(name: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount),
            value: UnsafeRawBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
    }

    public func append(_ name: StaticString, value: UnsafeRawBufferPointer) {
        append(name: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), value: value)
    }

    /// A decimal value (`:status`, `content-length`), written without a String.
    public func append(_ name: StaticString, decimal: Int) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { d in
            var v = max(0, decimal)
            var at = d.count
            repeat {
                at -= 1
                d[at] = UInt8(48 + v % 10)
                v /= 10
            } while v > 0
            append(name, value: UnsafeRawBufferPointer(rebasing: d[at...]))
        }
    }

    public func append(_ name: String, _ value: String) {
        var name = name
        var value = value
        name.withUTF8 { n in value.withUTF8 { v in append(name: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v)) } }
    }

    /// Field `i`'s name and value bytes, valid until the block changes.
    public func withField<R>(_ i: Int, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) -> R {
        let (ns, nl, vs, vl) = entries[i]
        return bytes.withUnsafeBytes { all in
            body(UnsafeRawBufferPointer(rebasing: all[ns..<(ns + nl)]), UnsafeRawBufferPointer(rebasing: all[vs..<(vs + vl)]))
        }
    }

    /// The index of the first field named `name` (lower case), or nil.
    public func index(of name: StaticString) -> Int? {
        let want = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        for (i, (ns, nl, _, _)) in entries.enumerated() where nl == want.count {
            if bytes[ns..<(ns + nl)].elementsEqual(want) { return i }
        }
        return nil
    }

    /// Field `i`'s name and value as text.
    public func field(_ i: Int) -> (name: String, value: String) {
        withField(i) { n, v in (String(decoding: n, as: UTF8.self), String(decoding: v, as: UTF8.self)) }
    }

    /// The first value of `name` (a pseudo-header such as `:path`, or a lower-case header name), nil when absent.
    public func value(_ name: String) -> String? {
        let want = Array(name.utf8)
        for (ns, nl, vs, vl) in entries where nl == want.count && bytes[ns..<(ns + nl)].elementsEqual(want) {
            return String(decoding: bytes[vs..<(vs + vl)], as: UTF8.self)
        }
        return nil
    }

    /// Every field, in order.
    public var fields: [(name: String, value: String)] { (0..<count).map(field) }

    /// The fields as libnghttp2's `nghttp2_nv` array, valid only during `body` (libnghttp2 copies while submitting).
    func withNV<R>(_ body: (UnsafePointer<nghttp2_nv>?, Int) -> R) -> R {
        if entries.count > nvaCapacity {
            nva.deallocate()
            nvaCapacity = entries.count
            nva = .allocate(capacity: nvaCapacity)
        }
        let nva = self.nva
        return bytes.withUnsafeMutableBytes { all in
            let base = all.baseAddress?.assumingMemoryBound(to: UInt8.self)
            for (i, (ns, nl, vs, vl)) in entries.enumerated() {
                (nva + i).initialize(
                    to: nghttp2_nv(
                        name: base! + ns, value: base! + vs, namelen: nl, valuelen: vl,
                        flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
            }
            return body(entries.isEmpty ? nil : UnsafePointer(nva), entries.count)
        }
    }
}
