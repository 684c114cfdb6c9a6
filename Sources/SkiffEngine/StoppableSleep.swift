import Glibc
import Synchronization

/// A sleep another thread can cut short, and a way to wait until the sleeper's loop has left: the publisher and the
/// drain watcher sleep here between ticks, and `Engine.stop` returns only once their threads no longer run (after
/// it, the engine may be torn down, and both read the engine).
///
/// Thread-safe. `sleep` and `finished` are called by the one looping thread; `stop` and `waitUntilFinished` by any
/// other. The pthread objects live at fixed heap addresses from `init` to `deinit`.
final class StoppableSleep: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let stopped = Atomic<Bool>(false)
    private let done = Atomic<Bool>(true)

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// True once `stop` was called.
    var isStopped: Bool { stopped.load(ordering: .sequentiallyConsistent) }

    /// The looping thread is about to start.
    func began() {
        stopped.store(false, ordering: .sequentiallyConsistent)
        done.store(false, ordering: .sequentiallyConsistent)
    }

    /// The looping thread has left its loop (or never started).
    func finished() {
        pthread_mutex_lock(mutex)
        done.store(true, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Sleeps up to `ms` milliseconds; returns early (false) once stopped.
    @discardableResult
    func sleep(ms: Int) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = Int(deadline.tv_nsec) + (ms % 1000) * 1_000_000
        deadline.tv_sec += ms / 1000 + total / 1_000_000_000
        deadline.tv_nsec = total % 1_000_000_000
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !isStopped {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
        }
        return !isStopped
    }

    /// Wakes the sleeper and waits (up to `timeoutMs`) until it has left its loop. Called from the looping thread
    /// itself it only sets the flag.
    func stopAndWait(timeoutMs: Int = 5000, fromLoopThread: Bool = false) {
        pthread_mutex_lock(mutex)
        stopped.store(true, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(condition)
        if fromLoopThread {
            pthread_mutex_unlock(mutex)
            return
        }
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        deadline.tv_sec += timeoutMs / 1000
        while !done.load(ordering: .sequentiallyConsistent) {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
        }
        pthread_mutex_unlock(mutex)
    }

    /// Waits until the loop has left (without asking it to), at most `timeoutMs` when given; returns whether it has.
    @discardableResult
    func waitUntilFinished(timeoutMs: Int? = nil) -> Bool {
        var deadline = timespec()
        if let ms = timeoutMs {
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let total = Int(deadline.tv_nsec) + (ms % 1000) * 1_000_000
            deadline.tv_sec += ms / 1000 + total / 1_000_000_000
            deadline.tv_nsec = total % 1_000_000_000
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !done.load(ordering: .sequentiallyConsistent) {
            if timeoutMs == nil {
                pthread_cond_wait(condition, mutex)
            } else if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT {
                break
            }
        }
        return done.load(ordering: .sequentiallyConsistent)
    }

    /// Whether the loop has finished.
    var isFinished: Bool { done.load(ordering: .sequentiallyConsistent) }
}
