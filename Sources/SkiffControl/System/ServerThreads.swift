import CSkiffLinux
import Glibc
import Synchronization

/// Starts the control plane's OS threads and knows which are still running, so `stop()` can wait for them.
///
/// The thread body is `@Sendable` so it never inherits `@MainActor` isolation from the caller (a Swift 6 trap: the
/// runtime isolation check would crash on the new thread). Thread-safe: any thread may start, and `stop()` may wait
/// from any thread, including one of the group's own (it then does not wait for itself).
final class ServerThreads: Sendable {
    private final class Box {
        let name: String
        let body: @Sendable () -> Void
        let group: ServerThreads
        init(name: String, group: ServerThreads, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.group = group
            self.body = body
        }
    }

    /// Handlers may encode a large config dump; the stack is only reserved, not committed.
    static let stackSize = 1024 * 1024

    /// Running threads, by pthread id (compared with `pthread_equal`).
    private let running = Mutex<[pthread_t]>([])
    private let starting = Atomic<Int>(0)

    init() {}

    /// Starts a detached thread; false when the system refuses (thread or memory limit).
    func start(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        starting.add(1, ordering: .sequentiallyConsistent)
        let box = Unmanaged.passRetained(Box(name: name, group: self, body: body)).toOpaque()
        var tid = pthread_t()
        let rc = cskiff_thread_start(
            { arg in
                let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
                box.name.withCString { cskiff_thread_set_name($0) }
                let me = pthread_self()
                box.group.running.withLock { $0.append(me) }
                box.group.starting.subtract(1, ordering: .sequentiallyConsistent)
                box.body()
                box.group.running.withLock { list in
                    if let i = list.firstIndex(where: { pthread_equal($0, me) != 0 }) { list.remove(at: i) }
                }
                return nil
            }, box, ServerThreads.stackSize, &tid)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            starting.subtract(1, ordering: .sequentiallyConsistent)
            return false
        }
        return true
    }

    /// Waits until every thread of the group but the caller has finished, or `timeoutNs` passed; true when all did.
    @discardableResult
    func waitForOthers(timeoutNs: UInt64) -> Bool {
        let me = pthread_self()
        let deadline = Sys.monotonicNs() + timeoutNs
        while true {
            let others = running.withLock { list in list.filter { pthread_equal($0, me) == 0 }.count }
            if others == 0 && starting.load(ordering: .sequentiallyConsistent) == 0 { return true }
            if Sys.monotonicNs() >= deadline { return false }
            Sys.sleep(ns: 2_000_000)
        }
    }
}
