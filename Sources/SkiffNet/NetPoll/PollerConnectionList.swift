/// Connections a poller will get back to at the end of its turn (to flush them), each held by one reference the list
/// counts in when added and out when emptied, in memory of its own: scheduling a flush (twice per proxied request)
/// neither grows an array nor checks one for uniqueness.
///
/// Poller-confined; noncopyable (one owner of the storage, freed with it).
struct PollerConnectionList: ~Copyable {
    private var items: UnsafeMutablePointer<Unmanaged<Connection>>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 64) {
        self.capacity = max(1, capacity)
        items = .allocate(capacity: self.capacity)
    }

    deinit {
        for i in 0..<count { items[i].release() }
        items.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ c: Connection) {
        if count == capacity { grow() }
        (items + count).initialize(to: .passRetained(c))
        count += 1
    }

    /// Entry `i`, still held by the list.
    subscript(i: Int) -> Unmanaged<Connection> { items[i] }

    /// Lets go of every entry.
    mutating func removeAll() {
        for i in 0..<count { items[i].release() }
        count = 0
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<Unmanaged<Connection>>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: items, count: count)
        items.deallocate()
        items = bigger
        capacity *= 2
    }
}
