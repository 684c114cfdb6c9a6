import Glibc
import Logging
import Synchronization

/// Why a log file could not be opened.
public struct LogFileError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// `--log-file`: log lines appended to a file that SIGUSR1 reopens (logrotate renames it, then signals).
///
/// Thread-safe: any thread may write; `reopen` swaps the descriptor under the same lock, so no line is split
/// between two files.
public final class LogFile: @unchecked Sendable {  // fd guarded by `lock`
    public let path: String
    private let lock = Mutex<Int32>(-1)

    public init(path: String) throws(LogFileError) {
        self.path = path
        try reopen()
    }

    deinit { lock.withLock { if $0 >= 0 { close($0) } } }

    /// Opens the path afresh (creating it) and closes the previous descriptor.
    public func reopen() throws(LogFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LogFileError(message: "log file \(path): \(String(cString: strerror(errno)))") }
        lock.withLock { old in
            if old >= 0 { close(old) }
            old = fd
        }
    }

    /// Appends `line` and a newline.
    public func write(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        lock.withLock { fd in _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, bytes.count) } }
    }
}

/// A swift-log handler that hands each line (level, label, message) to `sink`: a `LogFile`, or the console's
/// `ConsoleLogCapture` while a console owns the terminal. Metadata is kept for swift-log but not written.
public struct LineLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let sink: @Sendable (Logger.Level, String, String) -> Void

    public init(label: String, sink: @escaping @Sendable (Logger.Level, String, String) -> Void) {
        self.label = label
        self.sink = sink
    }

    /// Lines into `file`: `2025-01-31T12:00:00+0000 info skiff: message` (local time).
    public init(file: LogFile, label: String) {
        self.init(label: label) { level, label, message in
            var t = time(nil)
            var tm = tm()
            localtime_r(&t, &tm)
            var buf = [CChar](repeating: 0, count: 32)
            strftime(&buf, 32, "%Y-%m-%dT%H:%M:%S%z", &tm)
            let stamp = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            file.write("\(stamp) \(level) \(label): \(message)")
        }
    }

    /// Lines held by `capture` while the console is open.
    public init(capture: ConsoleLogCapture, label: String) {
        self.init(label: label) { level, label, message in capture.log(level: level, label: label, message: message) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        sink(level, label, "\(message)")
    }
}
