import Glibc
import Synchronization

/// Parks subscriber threads until a ring publishes, without costing the publisher anything while nobody waits.
///
/// Owned by one ``ByteRing``. Any number of threads may ``wait(timeoutNs:until:)``; producers call
/// ``notifyAll()`` after every publish. A publish with no waiter costs one atomic load; with waiters it takes the
/// pthread mutex only to broadcast (never while copying frames).
///
/// No lost wake-ups: the waiter increments `waiters` and then re-checks its condition under the mutex; the producer
/// stores the new sequence number and then loads `waiters`, all sequentially consistent. Either the producer sees the
/// waiter (and broadcasts under the mutex, which the waiter holds from its check until it sleeps) or the waiter sees
/// the new sequence number.
///
/// `@unchecked Sendable`: the pthread objects live at fixed heap addresses from `init` to `deinit` and are only used
/// through the pthread calls, which are thread-safe; `waiters` is atomic.
final class RingSignal: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let waiters = Atomic<Int>(0)

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Timeouts must not jump with the wall clock (NTP steps, an operator's `date -s`).
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        precondition(pthread_cond_init(condition, &attributes) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Wakes every waiter. Call after the sequentially consistent store that makes `ready` true.
    func notifyAll() {
        guard waiters.load(ordering: .sequentiallyConsistent) > 0 else { return }
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Blocks until `ready()` returns true or `timeoutNs` elapse on the monotonic clock.
    ///
    /// - Parameters:
    ///   - timeoutNs: the longest to wait; 0 only checks.
    ///   - ready: evaluated under the mutex; must read its state with sequentially consistent loads.
    /// - Returns: the last value of `ready()`.
    func wait(timeoutNs: UInt64, until ready: () -> Bool) -> Bool {
        waiters.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { waiters.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        var deadline = Self.deadline(after: timeoutNs)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ready() {
            let result = pthread_cond_timedwait(condition, mutex, &deadline)
            if result == ETIMEDOUT { return ready() }
        }
        return true
    }

    /// The absolute CLOCK_MONOTONIC deadline `timeoutNs` from now.
    private static func deadline(after timeoutNs: UInt64) -> timespec {
        // Cap at ~30 years so the seconds field cannot overflow.
        let timeout = min(timeoutNs, 1_000_000_000 * 1_000_000_000)
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        var seconds = now.tv_sec + Int(timeout / 1_000_000_000)
        var nanoseconds = now.tv_nsec + Int(timeout % 1_000_000_000)
        if nanoseconds >= 1_000_000_000 {
            seconds += 1
            nanoseconds -= 1_000_000_000
        }
        return timespec(tv_sec: seconds, tv_nsec: nanoseconds)
    }
}
