import SkiffSystem
import Synchronization

/// Parks subscriber threads until a ring publishes, without costing the publisher anything while nobody waits.
///
/// Owned by one ``ByteRing``. Any number of threads may ``wait(timeoutNs:until:)``; producers call
/// ``notifyAll()`` after every publish. A publish with no waiter costs one atomic load; with waiters it takes the
/// lock only to broadcast (never while copying frames).
///
/// No lost wake-ups: the waiter increments `waiters` and then re-checks its condition under the lock; the producer
/// stores the new sequence number and then loads `waiters`, all sequentially consistent. Either the producer sees the
/// waiter (and broadcasts under the lock, which the waiter holds from its check until it sleeps) or the waiter sees
/// the new sequence number.
final class RingSignal: Sendable {
    /// Waits on the monotonic clock, so timeouts do not jump with the wall clock.
    private let condition = ConditionLock()
    private let waiters = Atomic<Int>(0)

    init() {}

    /// Wakes every waiter. Call after the sequentially consistent store that makes `ready` true.
    func notifyAll() {
        guard waiters.load(ordering: .sequentiallyConsistent) > 0 else { return }
        condition.withLock { condition.broadcast() }
    }

    /// Blocks until `ready()` returns true or `timeoutNs` elapse on the monotonic clock.
    ///
    /// - Parameters:
    ///   - timeoutNs: the longest to wait; 0 only checks.
    ///   - ready: evaluated under the lock; must read its state with sequentially consistent loads.
    /// - Returns: the last value of `ready()`.
    func wait(timeoutNs: UInt64, until ready: () -> Bool) -> Bool {
        waiters.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { waiters.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        let deadline = ConditionLock.deadline(afterNs: timeoutNs)
        return condition.withLock {
            while !ready() {
                if !condition.wait(untilMonotonicNs: deadline) { return ready() }
            }
            return true
        }
    }
}
