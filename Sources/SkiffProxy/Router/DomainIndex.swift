/// An open-addressing hash table from (lower-cased host or host suffix, port) to a virtual host index.
///
/// Built once, then read-only, so any thread may look up. Keys are hashed from their last byte to their first
/// (`DomainHash`), which lets the wildcard walk hash every dot suffix of a request host in one right-to-left pass.
/// A hit is confirmed by comparing bytes, folding the request's ASCII case.
struct DomainIndex: Sendable {
    /// Port of an entry that matches any port (`example.com`, `example.com:*`).
    static let anyPort: Int32 = -1

    private struct Entry: Sendable {
        var key: UInt64
        var host: [UInt8]
        var port: Int32
        var virtualHost: Int
    }

    private var entries: [Entry] = []
    /// Indices into `entries`; -1 is empty. Capacity is a power of two, at least twice the entry count.
    private var slots: [Int32] = []
    private var mask = 0

    var isEmpty: Bool { entries.isEmpty }

    /// Adds `host` (already lower-cased) on `port`; returns the virtual host already there, if the key is taken.
    mutating func insert(host: [UInt8], port: Int32, virtualHost: Int) -> Int? {
        let key = host.withUnsafeBytes { b in
            var h = DomainHash()
            var i = b.count
            while i > 0 {
                i -= 1
                h.feed(b[i])
            }
            return h.key(port: port)
        }
        if let existing = entries.first(where: { $0.key == key && $0.port == port && $0.host == host }) {
            return existing.virtualHost
        }
        entries.append(Entry(key: key, host: host, port: port, virtualHost: virtualHost))
        rebuildSlots()
        return nil
    }

    private mutating func rebuildSlots() {
        var capacity = 8
        while capacity < entries.count * 2 { capacity <<= 1 }
        mask = capacity - 1
        slots = [Int32](repeating: -1, count: capacity)
        for (i, e) in entries.enumerated() {
            var s = Int(truncatingIfNeeded: e.key) & mask
            while slots[s] >= 0 { s = (s + 1) & mask }
            slots[s] = Int32(i)
        }
    }

    /// The virtual host for `bytes[range]` (any case) on `port`, given `key` from `DomainHash.key(port:)`.
    @inline(__always)
    func find(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, key: UInt64, port: Int32) -> Int? {
        if entries.isEmpty { return nil }
        var s = Int(truncatingIfNeeded: key) & mask
        while true {
            let i = Int(slots[s])
            if i < 0 { return nil }
            // Field by field: binding the whole entry would retain its host array.
            if entries[i].key == key && entries[i].port == port
                && RouterBytes.equalsFolded(bytes, range, entries[i].host)
            {
                return entries[i].virtualHost
            }
            s = (s + 1) & mask
        }
    }
}

/// FNV-1a over ASCII-lower-cased bytes fed from the last to the first, then mixed with a port.
struct DomainHash {
    private(set) var state: UInt64 = 0xcbf2_9ce4_8422_2325

    @inline(__always)
    mutating func feed(_ byte: UInt8) {
        state = (state ^ UInt64(RouterBytes.lower(byte))) &* 0x0000_0100_0000_01b3
    }

    /// The table key of the bytes fed so far on `port` (a splitmix64 finaliser spreads it over the low bits).
    @inline(__always)
    func key(port: Int32) -> UInt64 {
        var h = state ^ (UInt64(UInt32(bitPattern: port)) &* 0x9e37_79b9_7f4a_7c15)
        h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }
}
