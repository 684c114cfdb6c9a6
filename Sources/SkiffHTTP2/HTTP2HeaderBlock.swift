/// One header block as received (pseudo-headers first, as HTTP/2 requires): names and values copied into one byte
/// store, reused block after block, so reading headers allocates only while the store grows.
///
/// Confined to its session's thread; valid until the next block is read.
public final class HTTP2HeaderBlock {
    private var bytes: [UInt8] = []
    /// name start, name length, value start, value length.
    private var entries: [(Int, Int, Int, Int)] = []

    init() {
        bytes.reserveCapacity(4096)
        entries.reserveCapacity(32)
    }

    public var count: Int { entries.count }

    func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }

    func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let n = bytes.count
        bytes.append(contentsOf: name)
        bytes.append(contentsOf: value)
        entries.append((n, name.count, n + name.count, value.count))
    }

    /// Field `i`'s name (lower case: HTTP/2 requires it) and value as text.
    public func field(_ i: Int) -> (name: String, value: String) {
        let (ns, nl, vs, vl) = entries[i]
        return (String(decoding: bytes[ns..<(ns + nl)], as: UTF8.self), String(decoding: bytes[vs..<(vs + vl)], as: UTF8.self))
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
}
