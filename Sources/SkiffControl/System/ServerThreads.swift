import Glibc
import SkiffSystem
import Synchronization

/// The control plane's threads, started through `NetThread`, and which of them still run, so `stop()` can wait
/// for them.
///
/// Thread-safe: any thread may start, and `waitForOthers` may wait from any thread, including one of the group's own
/// (it then does not wait for itself).
final class ServerThreads: Sendable {
    /// Handlers may encode a large config dump; the stack is only reserved, not committed.
    static let stackSize = 1024 * 1024

    /// Running threads, by pthread id (compared with `pthread_equal`).
    private let running = Mutex<[pthread_t]>([])
    /// Started but not yet in `running`, so a wait right after a start does not miss the new thread.
    private let starting = Atomic<Int>(0)

    init() {}

    /// Starts a detached thread; false when the system refuses (thread or memory limit).
    func start(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        starting.add(1, ordering: .sequentiallyConsistent)
        do {
            try NetThread.start(name: name, stackSize: Self.stackSize) { [self] in
                let me = pthread_self()
                running.withLock { $0.append(me) }
                starting.subtract(1, ordering: .sequentiallyConsistent)
                body()
                running.withLock { list in
                    if let i = list.firstIndex(where: { pthread_equal($0, me) != 0 }) { list.remove(at: i) }
                }
            }
            return true
        } catch {
            starting.subtract(1, ordering: .sequentiallyConsistent)
            return false
        }
    }

    /// Waits until every thread of the group but the caller has finished, or `timeoutNs` passed; true when all did.
    @discardableResult
    func waitForOthers(timeoutNs: UInt64) -> Bool {
        let me = pthread_self()
        let deadline = MonotonicClock.now() + timeoutNs
        while true {
            let others = running.withLock { list in list.filter { pthread_equal($0, me) == 0 }.count }
            if others == 0 && starting.load(ordering: .sequentiallyConsistent) == 0 { return true }
            if MonotonicClock.now() >= deadline { return false }
            MonotonicClock.sleep(ns: 2_000_000)
        }
    }
}
