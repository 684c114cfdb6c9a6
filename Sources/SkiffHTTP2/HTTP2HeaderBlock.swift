import CNGHTTP2
import Glibc

/// A list of header fields (pseudo-headers first, as HTTP/2 requires): names and values copied into one byte store,
/// reused block after block, so building or reading headers allocates only while the store grows. A session fills
/// one with each header block it reads; a caller fills one to send (`HTTP2Session.submitRequest`, `submitResponse`,
/// `sendTrailers`), and libnghttp2 copies the fields while submitting.
///
/// Confined to its owner's thread. Bytes it hands out (`name(_:)`, `value(_:)`, `first(_:)`) stay valid until the
/// block changes; a block read from a session changes when the session reads the next one.
public final class HTTP2HeaderBlock {
    private var store: UnsafeMutableRawPointer
    private var storeCapacity = 2048
    private var used = 0
    /// name start, name length, value start, value length.
    private var entries: [(Int, Int, Int, Int)] = []
    /// The `nghttp2_nv` array `withNV` fills, kept for the next block.
    private var nva: UnsafeMutablePointer<nghttp2_nv>
    private var nvaCapacity = 24

    public init() {
        store = .allocate(byteCount: storeCapacity, alignment: 8)
        entries.reserveCapacity(24)
        nva = .allocate(capacity: nvaCapacity)
    }

    deinit {
        store.deallocate()
        nva.deallocate()
    }

    public var count: Int { entries.count }

    public func removeAll() {
        used = 0
        entries.removeAll(keepingCapacity: true)
    }

    /// Room for `need` bytes in all.
    private func reserve(_ need: Int) {
        guard need > storeCapacity else { return }
        var capacity = storeCapacity * 2
        while capacity < need { capacity *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        bigger.copyMemory(from: store, byteCount: used)
        store.deallocate()
        store = bigger
        storeCapacity = capacity
    }

    public func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let need = used + name.count + value.count
        reserve(need)
        let n = used
        if let b = name.baseAddress { (store + n).copyMemory(from: b, byteCount: name.count) }
        if let b = value.baseAddress { (store + n + name.count).copyMemory(from: b, byteCount: value.count) }
        used = need
        entries.append((n, name.count, n + name.count, value.count))
    }

    public func append(_ name: StaticString, _ value: StaticString) {
        append(name: Self.bytes(name), value: Self.bytes(value))
    }

    public func append(_ name: StaticString, value: UnsafeRawBufferPointer) {
        append(name: Self.bytes(name), value: value)
    }

    /// A decimal value (`:status`, `grpc-status`), written without a String.
    public func append(_ name: StaticString, decimal: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
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
        name.withUTF8 { n in
            value.withUTF8 { v in append(name: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v)) }
        }
    }

    /// Every field named `name` (lower case) dropped, then `name: value` appended (their bytes stay unused in the
    /// store until the block is cleared). `value` must not point into this block.
    public func replace(_ name: StaticString, value: UnsafeRawBufferPointer) {
        remove(name)
        append(name, value: value)
    }

    /// Every field named `name` (lower case) dropped.
    public func remove(_ name: StaticString) {
        let n = Self.bytes(name)
        let base = UnsafeRawPointer(store)
        entries.removeAll { e in
            e.1 == n.count && UnsafeRawBufferPointer(start: base + e.0, count: e.1).elementsEqual(n)
        }
    }

    /// `name: value` after the last pseudo-header (a pseudo-header added late stays before the regular fields).
    public func insertPseudoHeader(_ name: StaticString, value: UnsafeRawBufferPointer) {
        append(name, value: value)
        let added = entries.removeLast()
        let base = UnsafeRawPointer(store)
        let at =
            entries.firstIndex { e in e.1 == 0 || base.load(fromByteOffset: e.0, as: UInt8.self) != 0x3a }
            ?? entries.count
        entries.insert(added, at: at)
    }

    /// Field `i`'s value set to `value` in place (the field keeps its position: a pseudo-header stays first). `value`
    /// may point into this block.
    public func setValue(at i: Int, _ value: UnsafeRawBufferPointer) {
        let (ns, nl, _, _) = entries[i]
        let count = value.count
        // A value inside the store is found again by its offset once the store may have moved.
        let inside =
            value.baseAddress.map { UnsafeRawPointer(store) <= $0 && $0 < UnsafeRawPointer(store + used) } ?? false
        let offset = inside ? value.baseAddress! - UnsafeRawPointer(store) : 0
        reserve(used + count)
        let from = inside ? UnsafeRawPointer(store + offset) : value.baseAddress
        if let from { (store + used).copyMemory(from: from, byteCount: count) }
        entries[i] = (ns, nl, used, count)
        used += count
    }

    /// Field `i`'s name.
    public func name(_ i: Int) -> UnsafeRawBufferPointer {
        let (ns, nl, _, _) = entries[i]
        return UnsafeRawBufferPointer(start: store + ns, count: nl)
    }

    /// Field `i`'s value.
    public func value(_ i: Int) -> UnsafeRawBufferPointer {
        let (_, _, vs, vl) = entries[i]
        return UnsafeRawBufferPointer(start: store + vs, count: vl)
    }

    /// The index of the first field named `name` (lower case), or nil.
    public func index(of name: UnsafeRawBufferPointer) -> Int? {
        for (i, (ns, nl, _, _)) in entries.enumerated() where nl == name.count {
            if nl == 0 || memcmp(store + ns, name.baseAddress!, nl) == 0 { return i }
        }
        return nil
    }

    public func index(of name: StaticString) -> Int? { index(of: Self.bytes(name)) }

    /// The first value of `name` (lower case), or nil.
    public func first(_ name: StaticString) -> UnsafeRawBufferPointer? { index(of: name).map(value) }

    /// Field `i`'s name and value as text.
    public func field(_ i: Int) -> (name: String, value: String) {
        (String(decoding: name(i), as: UTF8.self), String(decoding: value(i), as: UTF8.self))
    }

    /// The first value of `name` (a pseudo-header such as `:path`, or a lower-case header name) as text.
    public func value(_ name: String) -> String? {
        var name = name
        return name.withUTF8 { n in
            index(of: UnsafeRawBufferPointer(n)).map { String(decoding: value($0), as: UTF8.self) }
        }
    }

    /// Every field, in order.
    public var fields: [(name: String, value: String)] { (0..<count).map(field) }

    static func bytes(_ s: StaticString) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
    }

    /// The fields as libnghttp2's `nghttp2_nv` array, valid only during `body` (libnghttp2 copies while submitting).
    func withNV<R>(_ body: (UnsafePointer<nghttp2_nv>?, Int) -> R) -> R {
        if entries.count > nvaCapacity {
            nva.deallocate()
            nvaCapacity = entries.count
            nva = .allocate(capacity: nvaCapacity)
        }
        let base = store.assumingMemoryBound(to: UInt8.self)
        for (i, (ns, nl, vs, vl)) in entries.enumerated() {
            (nva + i).initialize(
                to: nghttp2_nv(
                    name: base + ns, value: base + vs, namelen: nl, valuelen: vl,
                    flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
        }
        return body(entries.isEmpty ? nil : UnsafePointer(nva), entries.count)
    }
}
