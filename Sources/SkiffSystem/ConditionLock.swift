import Glibc

/// A pthread mutex with a condition variable on the monotonic clock: the one blocking wait every layer uses (rwloop
/// writers and worker queues, the health checker, the rings' subscribers, the engine's stoppable sleeps).
///
/// Thread-safe by construction. The pthread objects live at fixed heap addresses from `init` to `deinit`, which is
/// what makes the `@unchecked Sendable` true. Locking, waiting and signalling are inlinable: rwloop takes this lock
/// and signals its writer on every write, and SkiffNet compiles these calls as it did when the type was its own.
public final class ConditionLock: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline let cond: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        // One plain malloc for both (every connection has one: typed allocate goes through posix_memalign, twice).
        let mutexBytes = (MemoryLayout<pthread_mutex_t>.stride + 15) & ~15
        let raw = malloc(mutexBytes + MemoryLayout<pthread_cond_t>.stride)!
        mutex = raw.bindMemory(to: pthread_mutex_t.self, capacity: 1)
        cond = (raw + mutexBytes).bindMemory(to: pthread_cond_t.self, capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        // Timeouts must not jump with the wall clock (NTP steps, an operator's `date -s`).
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        free(UnsafeMutableRawPointer(mutex))
    }

    @inlinable @inline(__always) public func lock() { pthread_mutex_lock(mutex) }
    @inlinable @inline(__always) public func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` holding the lock.
    @inlinable @inline(__always) public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (lock held) until signalled.
    @inlinable public func wait() { pthread_cond_wait(cond, mutex) }

    /// Waits (lock held) until signalled or until `deadlineNs` on the monotonic clock (`MonotonicClock.now()`);
    /// false on timeout.
    @inlinable public func wait(untilMonotonicNs deadlineNs: UInt64) -> Bool {
        var ts = timespec(tv_sec: Int(deadlineNs / 1_000_000_000), tv_nsec: Int(deadlineNs % 1_000_000_000))
        return pthread_cond_timedwait(cond, mutex, &ts) == 0
    }

    /// The monotonic deadline `timeoutNs` from now, capped at about 30 years so adding cannot overflow.
    public static func deadline(afterNs timeoutNs: UInt64) -> UInt64 {
        MonotonicClock.now() + min(timeoutNs, 1_000_000_000 * 1_000_000_000)
    }

    @inlinable public func signal() { pthread_cond_signal(cond) }
    @inlinable public func broadcast() { pthread_cond_broadcast(cond) }
}
