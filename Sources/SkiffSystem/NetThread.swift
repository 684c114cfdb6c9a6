import CSkiffLinux
import Glibc

/// The one way Skiff starts an OS thread: pollers, rwloop readers and writers, accept threads, workers, the engine's
/// loops, the control plane's connection threads. Detached, with a chosen stack size and a name `top -H` shows.
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

/// The Linux thread id of the caller, as /proc/self/task/TID names it.
public func currentThreadID() -> Int32 { cskiff_gettid() }
