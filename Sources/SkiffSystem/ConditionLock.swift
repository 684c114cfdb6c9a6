import CSkiffLinux
import Glibc
import Synchronization

/// A mutex with a condition variable on the monotonic clock: the one blocking wait every layer uses (rwloop writers and
/// worker queues, the health checker, the rings' subscribers, the engine's stoppable sleeps), and the lock every
/// connection's write queue takes (several times per request).
///
/// Built on futexes rather than pthread objects: an uncontended lock is one compare-and-swap and an unlock one
/// exchange, inlined at the call site (a pthread mutex costs a call, its type checks and its owner bookkeeping: about
/// 45 instructions a lock and unlock, on a path that takes a dozen per request). The mutex is Drepper's three-state
/// futex mutex ("Futexes Are Tricky", mutex 2): 0 free, 1 held, 2 held and someone may sleep on it. The condition is a
/// sequence number: a waiter reads it under the mutex, counts itself among the waiters, unlocks and sleeps while the
/// number has not moved; `signal` and `broadcast` move it and wake sleepers, and make no system call while nobody
/// waits. Waits may end spuriously (as pthread's may): callers wait in a loop on their own condition.
///
/// Thread-safe: three atomic words at a fixed heap address from `init` to `deinit` (which is what the futex calls
/// need, and what makes `@unchecked Sendable` true).
public final class ConditionLock: @unchecked Sendable {
    /// [0] the mutex, [1] the condition's sequence, [2] threads waiting on the condition.
    @usableFromInline let words: UnsafeMutablePointer<Atomic<UInt32>>

    public init() {
        words = .allocate(capacity: 3)
        for i in 0..<3 { (words + i).initialize(to: Atomic(0)) }
    }

    deinit {
        words.deinitialize(count: 3)
        words.deallocate()
    }

    /// The address the kernel sleeps on for word `i`.
    @usableFromInline func address(_ i: Int) -> UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(words + i).assumingMemoryBound(to: UInt32.self)
    }

    @inlinable @inline(__always) public func lock() {
        if !words[0].compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged { lockContended() }
    }

    @inlinable @inline(__always) public func unlock() {
        if words[0].exchange(0, ordering: .releasing) == 2 { wakeLocker() }
    }

    /// The lock was held: mark it contended and sleep until it is free, taking it marked contended (another thread
    /// may sleep on it too, so the unlock must wake one).
    @usableFromInline func lockContended() {
        while words[0].exchange(2, ordering: .acquiring) != 0 {
            _ = cskiff_futex_wait(address(0), 2, nil)
        }
    }

    @usableFromInline func wakeLocker() { _ = cskiff_futex_wake(address(0), 1) }

    /// Runs `body` holding the lock.
    @inlinable @inline(__always) public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits (lock held) until signalled (or woken spuriously).
    public func wait() { _ = sleep(until: nil) }

    /// Waits (lock held) until signalled or until `deadlineNs` on the monotonic clock (`MonotonicClock.now()`);
    /// false on timeout.
    public func wait(untilMonotonicNs deadlineNs: UInt64) -> Bool {
        var ts = timespec(tv_sec: Int(deadlineNs / 1_000_000_000), tv_nsec: Int(deadlineNs % 1_000_000_000))
        return sleep(until: &ts)
    }

    /// The condition's wait: the lock is given up while asleep and held again on return. False on timeout.
    private func sleep(until deadline: UnsafePointer<timespec>?) -> Bool {
        let sequence = words[1].load(ordering: .relaxed)
        words[2].wrappingAdd(1, ordering: .relaxed)
        unlock()
        let error = cskiff_futex_wait(address(1), sequence, deadline)
        words[2].wrappingSubtract(1, ordering: .relaxed)
        lockContended()
        return error != ETIMEDOUT
    }

    /// The monotonic deadline `timeoutNs` from now, capped at about 30 years so adding cannot overflow.
    public static func deadline(afterNs timeoutNs: UInt64) -> UInt64 {
        MonotonicClock.now() + min(timeoutNs, 1_000_000_000 * 1_000_000_000)
    }

    /// Wakes one waiter, if any.
    @inlinable public func signal() {
        if words[2].load(ordering: .relaxed) > 0 { advance(waking: 1) }
    }

    /// Wakes every waiter, if any.
    @inlinable public func broadcast() {
        if words[2].load(ordering: .relaxed) > 0 { advance(waking: Int32.max) }
    }

    @usableFromInline func advance(waking count: Int32) {
        words[1].wrappingAdd(1, ordering: .releasing)
        _ = cskiff_futex_wake(address(1), count)
    }
}
