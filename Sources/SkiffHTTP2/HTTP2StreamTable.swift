/// Objects by HTTP/2 stream id: open addressing over a power-of-two table, the id itself as the hash (ids of one
/// side are odd or even and increase, so `id >> 1` spreads them). What a session and a proxy look up several times
/// per request, without a dictionary's SipHash or its copy-on-write checks.
///
/// Confined to its owner's thread.
public final class HTTP2StreamTable<Value: AnyObject> {
    private static var empty: Int32 { 0 }
    private static var removed: Int32 { -1 }
    private var keys: UnsafeMutablePointer<Int32>
    private var values: UnsafeMutablePointer<Unmanaged<Value>?>
    private var mask: Int
    /// Live entries, and live plus removed markers (what the probe lengths depend on).
    public private(set) var count = 0
    private var used = 0

    public init(capacity: Int = 64) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        mask = size - 1
        keys = .allocate(capacity: size)
        keys.initialize(repeating: Self.empty, count: size)
        values = .allocate(capacity: size)
        values.initialize(repeating: nil, count: size)
    }

    deinit {
        removeAll()
        keys.deallocate()
        values.deallocate()
    }

    public var isEmpty: Bool { count == 0 }

    @inline(__always) private func slot(of id: Int32) -> Int? {
        var i = Int(id >> 1) & mask
        while true {
            let k = keys[i]
            if k == id { return i }
            if k == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }

    public subscript(id: Int32) -> Value? {
        get {
            guard let i = slot(of: id) else { return nil }
            return values[i]?.takeUnretainedValue()
        }
        set {
            if let newValue {
                insert(id, newValue)
            } else {
                _ = remove(id)
            }
        }
    }

    private func insert(_ id: Int32, _ value: Value) {
        if let i = slot(of: id) {
            values[i]?.release()
            values[i] = .passRetained(value)
            return
        }
        if (used + 1) * 2 > mask + 1 { grow() }
        var i = Int(id >> 1) & mask
        while keys[i] != Self.empty && keys[i] != Self.removed { i = (i + 1) & mask }
        if keys[i] == Self.empty { used += 1 }
        keys[i] = id
        values[i] = .passRetained(value)
        count += 1
    }

    /// Removes and returns the object for `id`.
    @discardableResult
    public func remove(_ id: Int32) -> Value? {
        guard let i = slot(of: id), let v = values[i] else { return nil }
        keys[i] = Self.removed
        values[i] = nil
        count -= 1
        return v.takeRetainedValue()
    }

    /// Every object, in no particular order (a copy: the table may change while they are visited).
    public var all: [Value] {
        var out: [Value] = []
        out.reserveCapacity(count)
        for i in 0...mask where keys[i] > 0 { out.append(values[i]!.takeUnretainedValue()) }
        return out
    }

    public func removeAll() {
        for i in 0...mask {
            if keys[i] > 0 { values[i]?.release() }
            keys[i] = Self.empty
            values[i] = nil
        }
        count = 0
        used = 0
    }

    /// Twice the size (or the same size, to clear removed markers, when they are most of what is used).
    private func grow() {
        let oldKeys = keys
        let oldValues = values
        let oldSize = mask + 1
        let size = count * 4 > oldSize ? oldSize * 2 : oldSize
        keys = .allocate(capacity: size)
        keys.initialize(repeating: Self.empty, count: size)
        values = .allocate(capacity: size)
        values.initialize(repeating: nil, count: size)
        mask = size - 1
        used = 0
        for i in 0..<oldSize where oldKeys[i] > 0 {
            var j = Int(oldKeys[i] >> 1) & mask
            while keys[j] != Self.empty { j = (j + 1) & mask }
            keys[j] = oldKeys[i]
            values[j] = oldValues[i]
            used += 1
        }
        oldKeys.deallocate()
        oldValues.deallocate()
    }
}
