import Synchronization

/// Calls made inside a traced request, numbered: while a server span (an `ingress` request with trace id T and rpc
/// id R) is in flight, a client span of this process that carries the same T and R (the application passed the
/// context on without extending it) becomes a child, `R.2`, `R.3`, ... as MOSN numbers them (its first child is
/// `.2`). A fixed table of slots keyed by a hash of (T, R): registering, looking up and releasing are atomic
/// operations, no lock and no allocation. A server span that finds no free slot among the few it probes is not
/// registered (its calls keep R) and is counted.
///
/// Threads: any.
public final class TraceChildren: @unchecked Sendable {  // every field is atomic or immutable
    public static let shared = TraceChildren(slots: 1 << 13)

    private let keys: UnsafeMutablePointer<Atomic<UInt64>>
    /// The last child number handed out; 1 while free, so the first child is 2.
    private let counters: UnsafeMutablePointer<Atomic<UInt64>>
    private let mask: Int
    private static let probes = 16
    /// Server spans not registered for want of a slot.
    public let overflows = Atomic<UInt64>(0)

    init(slots: Int) {
        precondition(slots > 0 && slots & (slots - 1) == 0, "TraceChildren slots must be a power of two")
        mask = slots - 1
        keys = .allocate(capacity: slots)
        counters = .allocate(capacity: slots)
        for i in 0..<slots {
            (keys + i).initialize(to: Atomic(0))
            (counters + i).initialize(to: Atomic(1))
        }
    }

    deinit {
        keys.deinitialize(count: mask + 1)
        counters.deinitialize(count: mask + 1)
        keys.deallocate()
        counters.deallocate()
    }

    /// The key of (trace id, rpc id): FNV-1a, never 0 (0 marks a free slot).
    public static func key(traceID: UnsafeRawBufferPointer, rpcID: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in traceID { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h = (h ^ 0x2f) &* 0x100_0000_01b3
        for b in rpcID { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h == 0 ? 1 : h
    }

    /// Holds a slot for a server span; its index, or -1 when none was free.
    public func register(_ key: UInt64) -> Int32 {
        var p = 0
        while p < Self.probes {
            let i = (Int(truncatingIfNeeded: key) &+ p) & mask
            if keys[i].compareExchange(expected: 0, desired: key, ordering: .acquiringAndReleasing).exchanged {
                return Int32(i)
            }
            p += 1
        }
        overflows.wrappingAdd(1, ordering: .relaxed)
        return -1
    }

    /// Frees what `register` returned.
    public func release(_ slot: Int32) {
        guard slot >= 0 else { return }
        let i = Int(slot)
        counters[i].store(1, ordering: .relaxed)
        keys[i].store(0, ordering: .releasing)
    }

    /// The next child number of the server span registered under `key`; nil when there is none in flight.
    public func nextChild(_ key: UInt64) -> UInt64? {
        var p = 0
        while p < Self.probes {
            let i = (Int(truncatingIfNeeded: key) &+ p) & mask
            if keys[i].load(ordering: .acquiring) == key {
                return counters[i].wrappingAdd(1, ordering: .relaxed).newValue
            }
            p += 1
        }
        return nil
    }
}
