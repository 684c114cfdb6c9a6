import Glibc
import SkiffSystem
import Synchronization

/// Something the writer wants an operator to know; said once per burst, never per line.
public enum AccessLogNotice: Sendable, Equatable {
    /// Writes to `path` began failing (`errno`); lines are dropped and counted until they succeed again.
    case writeFailing(path: String, errno: Int32)
    /// Writes to `path` work again; `lost` lines were dropped meanwhile.
    case writeRecovered(path: String, lost: UInt64)
    /// Executors began dropping lines for `path`: their buffers were full (the disk is slower than the traffic).
    case droppingLines(path: String)
    /// No line was dropped for a second; `dropped` in the burst.
    case droppingEnded(path: String, dropped: UInt64)
    /// SIGUSR1 could not reopen `path`: lines go on to the old file.
    case reopenFailed(path: String, message: String)

    /// The sentence an operator reads in the log.
    public var message: String {
        switch self {
        case .writeFailing(let p, let e):
            "access log \(p): write failed: \(String(cString: strerror(e))); lines are dropped and counted "
                + "(skiff_access_log_dropped_total{reason=\"write_error\"}) until writes succeed"
        case .writeRecovered(let p, let lost): "access log \(p): writes succeed again; \(lost) lines were lost"
        case .droppingLines(let p):
            "access log \(p): dropping lines, the writer is behind (skiff_access_log_dropped_total{reason=\"buffer_full\"})"
        case .droppingEnded(let p, let n): "access log \(p): no longer dropping; \(n) lines dropped"
        case .reopenFailed(let p, let m): "access log \(p): reopen failed (lines go on to the old file): \(m)"
        }
    }

    /// True for the notices that report a problem (logged as errors or warnings, not info).
    public var isProblem: Bool {
        switch self {
        case .writeFailing, .droppingLines, .reopenFailed: true
        case .writeRecovered, .droppingEnded: false
        }
    }
}

/// The process's one access-log writer thread (`skiff-accesslog`): every `flushIntervalNs` (100 ms), or at once when
/// an executor fills a buffer, it writes what the lanes of every file hold, one `write(2)` per run of whole lines.
/// It reopens the files on request (SIGUSR1), counts what it writes and what it loses, and reports failures and
/// drops once per burst through `report`.
///
/// Threads: `nudge` from any thread (executors, when a buffer fills); `add`, `reopen` and `stop` from the engine's
/// threads; everything else on the writer thread.
public final class AccessLogWriter: @unchecked Sendable {  // see Threads
    public static let flushIntervalNs: UInt64 = 100_000_000

    private let report: @Sendable (AccessLogNotice) -> Void
    private let files = Mutex<[AccessLogFile]>([])
    private let wake = ConditionLock()
    /// Guarded by `wake`.
    private var nudged = false
    private var stopping = false
    private var finished = false
    private var started = false
    private var reopenRequested: UInt64 = 0
    private var reopenDone: UInt64 = 0
    private var reopenFailures: [String] = []

    public init(report: @escaping @Sendable (AccessLogNotice) -> Void) {
        self.report = report
    }

    /// Starts the thread (once; later calls do nothing).
    func startIfNeeded() throws(AccessLogError) {
        let first = wake.withLock { () -> Bool in
            defer { started = true }
            return !started
        }
        guard first else { return }
        // A file size limit (RLIMIT_FSIZE) must end a write with EFBIG, not end the process with SIGXFSZ.
        signal(SIGXFSZ, SIG_IGN)
        do {
            try NetThread.start(name: "skiff-accesslog", stackSize: 256 * 1024) { [self] in run() }
        } catch {
            wake.withLock { started = false }
            throw AccessLogError("access log writer thread: \(error)")
        }
    }

    func add(_ file: AccessLogFile) { files.withLock { $0.append(file) } }

    var allFiles: [AccessLogFile] { files.withLock { $0 } }

    /// Asks for a write round now (an executor sealed a full buffer: once per 64 KiB of lines, never per line).
    /// The lock is the writer's own, uncontended but for the writer; no system call unless the writer sleeps.
    @inline(never)
    func nudge() {
        wake.withLock {
            nudged = true
            wake.signal()
        }
    }

    /// Reopens every file (SIGUSR1, after logrotate renamed them) on the writer thread, between two writes, and
    /// waits for it (at most `timeoutMs`). Returns the failures ("path: reason").
    public func reopen(timeoutMs: Int = 5000) -> [String] {
        let deadline = ConditionLock.deadline(afterNs: UInt64(timeoutMs) * 1_000_000)
        return wake.withLock {
            guard started && !finished else {
                reopenNow()
                return reopenFailures
            }
            reopenRequested += 1
            let wanted = reopenRequested
            nudged = true
            wake.broadcast()
            while reopenDone < wanted && !finished {
                if !wake.wait(untilMonotonicNs: deadline) { return ["access log writer: reopen timed out"] }
            }
            return reopenFailures
        }
    }

    /// Writes what is left and stops the thread; the files stay open until released. Call after the executors
    /// stopped logging (the engine's pollers and workers are shut down).
    public func stop() {
        wake.withLock {
            stopping = true
            wake.broadcast()
            guard started else { return }
            while !finished { wake.wait() }
        }
        if !wake.withLock({ started }) { writeRound() }
    }

    // MARK: - The thread

    private func run() {
        while true {
            let (stop, reopen) = wake.withLock { () -> (Bool, UInt64) in
                if !nudged && !stopping && reopenRequested == reopenDone {
                    _ = wake.wait(untilMonotonicNs: ConditionLock.deadline(afterNs: Self.flushIntervalNs))
                }
                nudged = false
                return (stopping, reopenRequested)
            }
            writeRound()
            if reopen != wake.withLock({ reopenDone }) {
                // What the lanes held before the signal went to the old file; from here on, the new one.
                reopenNow()
                wake.withLock {
                    reopenDone = reopen
                    wake.broadcast()
                }
            }
            watchDrops()
            if stop {
                writeRound()
                wake.withLock {
                    finished = true
                    wake.broadcast()
                }
                return
            }
        }
    }

    /// One pass over every lane of every file.
    private func writeRound() {
        for file in allFiles {
            for lane in file.lanes {
                lane.drain { bytes, lines in write(bytes, lines: lines, to: file) }
            }
        }
    }

    /// Writes `bytes` (`lines` whole lines) to `file`; what cannot be written is counted lost, by line.
    private func write(_ bytes: UnsafeRawBufferPointer, lines: UInt64, to file: AccessLogFile) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(file.fd, bytes.baseAddress! + done, bytes.count - done)
            if n > 0 {
                done += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            let e = n < 0 ? errno : ENOSPC
            let lost = Self.lines(in: UnsafeRawBufferPointer(rebasing: bytes[done...]))
            file.droppedWriteError.wrappingAdd(lost, ordering: .relaxed)
            let written = UnsafeRawBufferPointer(rebasing: bytes[..<done])
            file.linesWritten.wrappingAdd(Self.lines(in: written), ordering: .relaxed)
            file.bytesWritten.wrappingAdd(UInt64(done), ordering: .relaxed)
            file.lostInFailure &+= lost
            if file.failing == 0 {
                file.failing = e
                report(.writeFailing(path: file.path, errno: e))
            }
            return
        }
        file.linesWritten.wrappingAdd(lines, ordering: .relaxed)
        file.bytesWritten.wrappingAdd(UInt64(bytes.count), ordering: .relaxed)
        if file.failing != 0 {
            file.failing = 0
            report(.writeRecovered(path: file.path, lost: file.lostInFailure))
            file.lostInFailure = 0
        }
    }

    /// Newlines in `b`: one per line (values never carry a raw newline; they are escaped). Only for a write that
    /// failed part-way; otherwise the lanes say how many lines a run holds.
    static func lines(in b: UnsafeRawBufferPointer) -> UInt64 {
        guard var p = b.baseAddress else { return 0 }
        let end = p + b.count
        var n: UInt64 = 0
        while p < end, let hit = memchr(p, 0x0a, end - p) {
            n += 1
            p = UnsafeRawPointer(hit) + 1
        }
        return n
    }

    /// A notice when executors start dropping lines for a file, another once none was dropped for a second.
    private func watchDrops() {
        let now = MonotonicClock.now()
        for file in allFiles {
            let total = file.droppedFull
            if total > file.lastDroppedFull {
                if file.droppingSinceNs == 0 {
                    file.droppingSinceNs = now
                    file.droppedInBurst = 0
                    report(.droppingLines(path: file.path))
                }
                file.droppedInBurst &+= total - file.lastDroppedFull
                file.lastDroppedFull = total
                file.lastDropNs = now
            } else if file.droppingSinceNs != 0 && now - file.lastDropNs > 1_000_000_000 {
                file.droppingSinceNs = 0
                report(.droppingEnded(path: file.path, dropped: file.droppedInBurst))
            }
        }
    }

    /// Reopens every file that has a path; a failure keeps the old descriptor. Writer thread (or no thread yet).
    private func reopenNow() {
        var failures: [String] = []
        for file in allFiles {
            guard let path = file.openPath else { continue }
            do {
                let fd = try AccessLogFile.open(path)
                let old = file.fd
                file.fd = fd
                close(old)
            } catch {
                failures.append("\(file.path): \(error.message)")
                report(.reopenFailed(path: file.path, message: error.message))
            }
        }
        reopenFailures = failures
    }
}
