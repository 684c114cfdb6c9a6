import Glibc
import Synchronization

/// Why an access-log file could not be opened.
public struct AccessLogError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What `/metrics` shows of one file.
public struct AccessLogFileStats: Sendable, Equatable {
    public var path: String
    /// Lines written (their newline reached the file).
    public var lines: UInt64
    public var bytes: UInt64
    /// Lines dropped because the file's writer was behind and an executor's buffers were all full.
    public var droppedBufferFull: UInt64
    /// Lines lost to failed writes (EFBIG, ENOSPC, EIO ...).
    public var droppedWriteError: UInt64
}

/// One access-log destination (a file, or standard output or error) and every executor's lane into it. Entries
/// naming the same path share one of these, across listeners and reloads.
///
/// Threads: `lane(executorIndex:)` on that executor only; `writeShared` from any thread (under the file's shared
/// lock: threads that are no executor, such as rwloop's tcp_proxy threads); the descriptor and the counters'
/// updates belong to the writer thread.
public final class AccessLogFile: @unchecked Sendable {  // see Threads
    /// As configured (`stdout` for `/dev/stdout` too).
    public let path: String
    /// What `open` takes; nil for the standard streams (never reopened nor closed).
    let openPath: String?
    /// Writer thread only (after init).
    var fd: Int32
    unowned let writer: AccessLogWriter

    /// Slot i is written once, by executor i; the writer walks `lanesLock`'s list (which owns the lanes).
    private let slots: UnsafeMutablePointer<Unmanaged<AccessLogLane>?>
    private let lanesLock = Mutex<[AccessLogLane]>([])
    /// For threads that are no executor.
    private let sharedLock = Mutex(())
    private let sharedLane: AccessLogLane

    let linesWritten = Atomic<UInt64>(0)
    let bytesWritten = Atomic<UInt64>(0)
    let droppedWriteError = Atomic<UInt64>(0)

    // The writer's bookkeeping of drop and failure bursts (one notice when they start, one when they end).
    var lastDroppedFull: UInt64 = 0
    var droppingSinceNs: UInt64 = 0
    var droppedInBurst: UInt64 = 0
    var lastDropNs: UInt64 = 0
    var failing: Int32 = 0
    var lostInFailure: UInt64 = 0

    /// Executor indices are below this (`ExecutorLocal.capacity`).
    static let maxExecutors = 1024

    init(path: String, writer: AccessLogWriter) throws(AccessLogError) {
        self.writer = writer
        switch path {
        case "stdout", "/dev/stdout":
            self.path = "stdout"
            openPath = nil
            fd = 1
        case "stderr", "/dev/stderr":
            self.path = "stderr"
            openPath = nil
            fd = 2
        default:
            self.path = path
            openPath = path
            fd = try Self.open(path)
        }
        slots = .allocate(capacity: Self.maxExecutors)
        slots.initialize(repeating: nil, count: Self.maxExecutors)
        sharedLane = AccessLogLane(writer: writer)
        lanesLock.withLock { $0.append(sharedLane) }
    }

    deinit {
        slots.deinitialize(count: Self.maxExecutors)
        slots.deallocate()
        if openPath != nil && fd >= 0 { close(fd) }
    }

    /// Opens `path` for appending (0644), creating missing parent directories (0755).
    static func open(_ path: String) throws(AccessLogError) -> Int32 {
        try makeParentDirectories(path)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AccessLogError("cannot open \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    static func makeParentDirectories(_ path: String) throws(AccessLogError) {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast()
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in parts where !part.isEmpty {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw AccessLogError("cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The calling executor's lane, made on its first line. Call only on executor `i`'s own thread.
    @inline(__always)
    func lane(executorIndex i: Int) -> Unmanaged<AccessLogLane> {
        slots[i] ?? makeLane(i)
    }

    @inline(never)
    private func makeLane(_ i: Int) -> Unmanaged<AccessLogLane> {
        precondition(i >= 0 && i < Self.maxExecutors, "executor index \(i) out of range")
        let l = AccessLogLane(writer: writer)
        lanesLock.withLock { $0.append(l) }
        let u = Unmanaged.passUnretained(l)
        slots[i] = u
        return u
    }

    /// Appends a line from a thread that is no executor.
    func writeShared(_ format: CompiledAccessLogFormat, _ r: AccessLogRecord) {
        sharedLock.withLock { _ in sharedLane.append(Unmanaged.passUnretained(format), r) }
    }

    var lanes: [AccessLogLane] { lanesLock.withLock { $0 } }

    var droppedFull: UInt64 { lanes.reduce(0) { $0 &+ $1.droppedFull.load(ordering: .relaxed) } }

    public var stats: AccessLogFileStats {
        AccessLogFileStats(
            path: path, lines: linesWritten.load(ordering: .relaxed), bytes: bytesWritten.load(ordering: .relaxed),
            droppedBufferFull: droppedFull, droppedWriteError: droppedWriteError.load(ordering: .relaxed))
    }
}
