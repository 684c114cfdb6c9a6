import SkiffNet
import Synchronization

/// An upstream pool that can give up its host: close idle connections now, and in-use ones once they are done.
/// Called on the pool's own executor.
public protocol DrainablePool: AnyObject {
    func drain()
}

/// Where pools of type `Pool` live in every host's per-executor store. The protocol layers that own pool types
/// (SkiffProxy's HTTP pool, one RPC connection per codec) claim a slot once, outside the hot path; the same type
/// always gets the same slot, so listeners of one protocol share a host's pool and different protocols never
/// displace each other's. Only `Pool` values can be stored under a `PoolSlot<Pool>`, which is what makes reading
/// them back without a checked cast sound.
public struct PoolSlot<Pool: DrainablePool>: Sendable {
    @usableFromInline let index: Int

    /// The slot of `Pool` (allocated on first use; takes a lock: call at setup, not per request).
    public init() { index = PoolSlotRegistry.index(for: ObjectIdentifier(Pool.self)) }
}

/// Hands out slot numbers, one per pool type, process-wide.
enum PoolSlotRegistry {
    private static let slots = Mutex<[ObjectIdentifier: Int]>([:])

    static func index(for type: ObjectIdentifier) -> Int {
        slots.withLock { slots in
            if let i = slots[type] { return i }
            let i = slots.count
            slots[type] = i
            return i
        }
    }
}

/// A host's pools on one executor (a poller or a worker shard), one per claimed `PoolSlot`. Touched only on its
/// executor, so it takes no lock.
public final class HostExecutorState: @unchecked Sendable {  // executor-confined
    @usableFromInline var pools: ContiguousArray<(any DrainablePool)?> = []
    /// The executor this state belongs to (to run a drain there).
    public let executor: any EventExecutor

    public init(executor: any EventExecutor) { self.executor = executor }

    /// The pool stored under `slot`, made by `make` and stored there on first use.
    @inlinable
    public func pool<Pool>(_ slot: PoolSlot<Pool>, orMake make: () -> Pool) -> Pool {
        if let p = self[slot: slot] { return p }
        let p = make()
        self[slot: slot] = p
        return p
    }

    /// The pool stored under `slot`, if any. Inlinable: it is on every request's path.
    @inlinable
    public subscript<Pool>(slot slot: PoolSlot<Pool>) -> Pool? {
        get {
            guard slot.index < pools.count, let p = pools[slot.index] else { return nil }
            // Only `set` below stores under a slot, and only values of the slot's type.
            return unsafeDowncast(p, to: Pool.self)
        }
        set {
            if slot.index >= pools.count {
                pools.append(contentsOf: repeatElement(nil, count: slot.index + 1 - pools.count))
            }
            pools[slot.index] = newValue
        }
    }

    /// Asks every pool here to let go of the host.
    func drainAll() {
        for p in pools { p?.drain() }
    }
}
