import CSkiffLinux
import Glibc

/// Starts OS threads with a chosen stack size and name.
///
/// The body is `@Sendable` so it never inherits `@MainActor` isolation from the caller (a Swift 6 trap: the runtime
/// isolation check would crash on the new thread).
public enum NetThread {
    private final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Default stack for I/O threads: they run shallow loops, and rwloop spawns two per connection.
    public static let smallStack = 256 * 1024

    /// Starts a detached thread. Throws when the system refuses (EAGAIN: thread or memory limit).
    public static func start(name: String, stackSize: Int = smallStack, _ body: @escaping @Sendable () -> Void)
        throws(SystemError)
    {
        let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        var tid = pthread_t()
        let rc = cskiff_thread_start(
            { arg in
                let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
                box.name.withCString { cskiff_thread_set_name($0) }
                box.body()
                return nil
            }, box, stackSize, &tid)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SystemError("pthread_create(\(name))", errno: rc)
        }
    }
}

/// A pthread mutex with a condition variable, for the blocking waits of the rwloop model and worker queues.
/// Thread-safe by construction.
public final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        // One plain malloc for both (every connection has one: typed allocate goes through posix_memalign, twice).
        let mutexBytes = (MemoryLayout<pthread_mutex_t>.stride + 15) & ~15
        let raw = malloc(mutexBytes + MemoryLayout<pthread_cond_t>.stride)!
        mutex = raw.bindMemory(to: pthread_mutex_t.self, capacity: 1)
        cond = (raw + mutexBytes).bindMemory(to: pthread_cond_t.self, capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        free(UnsafeMutableRawPointer(mutex))
    }

    @inline(__always) public func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) public func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` holding the lock.
    @inline(__always) public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (lock held) until signalled.
    public func wait() { pthread_cond_wait(cond, mutex) }

    /// Waits (lock held) until signalled or until `deadlineNs` on the monotonic clock; false on timeout.
    public func wait(untilMonotonicNs deadlineNs: UInt64) -> Bool {
        var ts = timespec(tv_sec: Int(deadlineNs / 1_000_000_000), tv_nsec: Int(deadlineNs % 1_000_000_000))
        return pthread_cond_timedwait(cond, mutex, &ts) == 0
    }

    public func signal() { pthread_cond_signal(cond) }
    public func broadcast() { pthread_cond_broadcast(cond) }
}

/// The Linux thread id of the caller, as /proc/self/task/TID names it.
public func currentThreadID() -> Int32 { cskiff_gettid() }
