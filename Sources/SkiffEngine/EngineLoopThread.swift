import Glibc
import SkiffNet
import Synchronization

/// One of the engine's own threads that does a piece of work every interval until stopped: the frame publisher's
/// and the drain watcher's. Owns the thread's running flag and the `StoppableSleep` it waits in between ticks.
///
/// `stop` returns only once the thread has left its loop: both loops read the engine, which may be torn down next.
/// Called from the loop thread itself (a tick that stops the engine), `stop` only asks it to leave.
///
/// Thread-safe: `start` and `stop` may be called from any thread; a second `start` while running does nothing.
final class EngineLoopThread: Sendable {
    let name: String
    let stackSize: Int
    private let running = Atomic<Bool>(false)
    private let pause = StoppableSleep()
    /// The looping thread while it runs, so a `stop` from that thread does not wait for itself.
    private let thread = Mutex<pthread_t?>(nil)

    init(name: String, stackSize: Int = NetThread.smallStack) {
        self.name = name
        self.stackSize = stackSize
    }

    /// Whether the thread has left its loop (or never started).
    var isFinished: Bool { pause.isFinished }

    /// Starts the thread: `tick`, then a sleep of `intervalMs()` milliseconds, again until `stop`. Throws when the
    /// system refuses a thread.
    func start(intervalMs: @escaping @Sendable () -> Int, tick: @escaping @Sendable () -> Void) throws(SystemError) {
        guard !running.exchange(true, ordering: .relaxed) else { return }
        pause.began()
        do {
            try NetThread.start(name: name, stackSize: stackSize) { [self] in
                thread.withLock { $0 = pthread_self() }
                while running.load(ordering: .relaxed) && !pause.isStopped {
                    tick()
                    pause.sleep(ms: intervalMs())
                }
                thread.withLock { $0 = nil }
                pause.finished()
            }
        } catch {
            pause.finished()
            running.store(false, ordering: .relaxed)
            throw error
        }
    }

    /// Whether `stop` was called: a long tick checks it to give up early.
    var isStopping: Bool { !running.load(ordering: .relaxed) }

    /// Stops the thread and returns once it has left its loop (up to 5 s).
    func stop() {
        running.store(false, ordering: .relaxed)
        let me = pthread_self()
        let onLoopThread = thread.withLock { $0.map { pthread_equal($0, me) != 0 } ?? false }
        pause.stopAndWait(fromLoopThread: onLoopThread)
    }
}
