import SkiffNet
import Synchronization

/// A sleep another thread can cut short, and a way to wait until the sleeper's loop has left. `EngineLoopThread`
/// sleeps here between ticks, and its `stop` returns only once the loop no longer runs.
///
/// Thread-safe. `began`, `sleep` and `finished` are called by the one looping thread (`began` just before it
/// starts); `stopAndWait` by any other.
final class StoppableSleep: Sendable {
    private let condition = ConditionLock()
    private let stopped = Atomic<Bool>(false)
    private let done = Atomic<Bool>(true)

    init() {}

    /// True once `stop` was called.
    var isStopped: Bool { stopped.load(ordering: .sequentiallyConsistent) }

    /// Whether the loop has finished.
    var isFinished: Bool { done.load(ordering: .sequentiallyConsistent) }

    /// The looping thread is about to start.
    func began() {
        stopped.store(false, ordering: .sequentiallyConsistent)
        done.store(false, ordering: .sequentiallyConsistent)
    }

    /// The looping thread has left its loop (or never started).
    func finished() {
        condition.withLock {
            done.store(true, ordering: .sequentiallyConsistent)
            condition.broadcast()
        }
    }

    /// Sleeps up to `ms` milliseconds; returns early (false) once stopped.
    @discardableResult
    func sleep(ms: Int) -> Bool {
        let deadline = ConditionLock.deadline(afterNs: UInt64(max(0, ms)) * 1_000_000)
        return condition.withLock {
            while !isStopped {
                if !condition.wait(untilMonotonicNs: deadline) { break }
            }
            return !isStopped
        }
    }

    /// Waits until the loop has left (without asking it to), at most `timeoutMs` when given; returns whether it has.
    @discardableResult
    func waitUntilFinished(timeoutMs: Int? = nil) -> Bool {
        let deadline = timeoutMs.map { ConditionLock.deadline(afterNs: UInt64(max(0, $0)) * 1_000_000) }
        return condition.withLock {
            while !isFinished {
                if let d = deadline {
                    if !condition.wait(untilMonotonicNs: d) { break }
                } else {
                    condition.wait()
                }
            }
            return isFinished
        }
    }

    /// Wakes the sleeper and waits (up to `timeoutMs`) until it has left its loop. Called from the looping thread
    /// itself it only sets the flag.
    func stopAndWait(timeoutMs: Int = 5000, fromLoopThread: Bool = false) {
        let deadline = ConditionLock.deadline(afterNs: UInt64(max(0, timeoutMs)) * 1_000_000)
        condition.withLock {
            stopped.store(true, ordering: .sequentiallyConsistent)
            condition.broadcast()
            if fromLoopThread { return }
            while !isFinished {
                if !condition.wait(untilMonotonicNs: deadline) { break }
            }
        }
    }
}
