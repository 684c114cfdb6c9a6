import Glibc
import SkiffNet

/// What an operator's signal asks of a running skiff.
public enum ServerSignal: Sendable, Equatable, CaseIterable {
    /// SIGINT: graceful stop (a second one stops at once).
    case interrupt
    /// SIGTERM: graceful stop (a second one stops at once).
    case terminate
    /// SIGHUP: reload the config file.
    case reload
    /// SIGUSR1: reopen the log file (logrotate).
    case reopenLogs
    /// SIGUSR2: binary upgrade: start the installed binary as this process's successor (`SkiffServer+Successor`).
    case upgrade

    /// The signal's name, for logs.
    public var name: String {
        switch self {
        case .interrupt: return "SIGINT"
        case .terminate: return "SIGTERM"
        case .reload: return "SIGHUP"
        case .reopenLogs: return "SIGUSR1"
        case .upgrade: return "SIGUSR2"
        }
    }

    /// The signal number.
    public var number: Int32 {
        switch self {
        case .interrupt: return SIGINT
        case .terminate: return SIGTERM
        case .reload: return SIGHUP
        case .reopenLogs: return SIGUSR1
        case .upgrade: return SIGUSR2
        }
    }

    /// A graceful stop (SIGINT or SIGTERM).
    public var stops: Bool { self == .interrupt || self == .terminate }
}

/// Where a server's signals come from. The real source is `ProcessSignals`; tests inject one that emits signals
/// on demand, since a signal sent to the test process would reach every test running in it.
public protocol SignalSource: AnyObject, Sendable {
    /// Starts delivering: `deliver` is called once per signal, from a thread of the source's own. Throws when that
    /// thread cannot start.
    func start(_ deliver: @escaping @Sendable (ServerSignal) -> Void) throws(SystemError)
    /// Stops delivering; returns once `deliver` is no longer called.
    func stop()
}

/// The process's own signals (SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, or a subset), read synchronously by one thread.
///
/// `init` blocks them in the calling thread, and so in every thread created after it: create this first thing in
/// `main`, before any thread exists, or a signal may reach a thread that does not block it and take its default
/// action (SIGHUP, SIGUSR1 and SIGUSR2 end the process). A signal that arrives before `start` waits, pending, and is
/// delivered once the thread runs.
///
/// Threads: `start` and `stop` from any one thread; the waiting thread (`skiff-signals`) calls `deliver`. It wakes
/// every `pollMs` to notice `stop`.
public final class ProcessSignals: SignalSource, @unchecked Sendable {  // `set` is written only in init
    public let kinds: [ServerSignal]
    private var set = sigset_t()
    private let thread = StoppableSleep()
    let pollMs: Int

    public init(_ kinds: [ServerSignal] = ServerSignal.allCases, pollMs: Int = 200) {
        self.kinds = kinds
        self.pollMs = pollMs
        sigemptyset(&set)
        for k in kinds { sigaddset(&set, k.number) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Lets the signals through to the calling thread again, with their usual actions (a launcher that must stay
    /// interruptible while it waits for its daemon).
    public func unblockInThisThread() {
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    public func start(_ deliver: @escaping @Sendable (ServerSignal) -> Void) throws(SystemError) {
        thread.began()
        do {
            try NetThread.start(name: "skiff-signals") { [self] in
                var waiting = set
                while !thread.isStopped {
                    var timeout = timespec(tv_sec: pollMs / 1000, tv_nsec: (pollMs % 1000) * 1_000_000)
                    var info = siginfo_t()
                    let sig = sigtimedwait(&waiting, &info, &timeout)
                    guard sig > 0, let kind = kinds.first(where: { $0.number == sig }) else { continue }
                    deliver(kind)
                }
                thread.finished()
            }
        } catch {
            thread.finished()
            throw error
        }
    }

    public func stop() {
        thread.stopAndWait(timeoutMs: 2 * pollMs + 1000)
    }
}
