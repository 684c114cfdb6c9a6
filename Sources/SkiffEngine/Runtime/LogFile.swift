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

/// A swift-log handler that hands each record (level, label, message, metadata: the handler's and the call's) to
/// `sink`: a `LogFile`, standard error or output, or the console's `ConsoleLogCapture` while a console owns the
/// terminal. With a `RuntimeLogLevel` its level is read from there on every line (changed at run time).
public struct LineLogHandler: LogHandler {
    public let label: String
    public var metadata: Logger.Metadata = [:]
    let sink: @Sendable (Logger.Level, String, String, Logger.Metadata) -> Void
    let runtimeLevel: RuntimeLogLevel?
    private var fixedLevel: Logger.Level = .info

    public var logLevel: Logger.Level {
        get { runtimeLevel?.level ?? fixedLevel }
        set {
            if let runtimeLevel { runtimeLevel.level = newValue } else { fixedLevel = newValue }
        }
    }

    public init(
        label: String, runtimeLevel: RuntimeLogLevel? = nil,
        sink: @escaping @Sendable (Logger.Level, String, String, Logger.Metadata) -> Void
    ) {
        self.label = label
        self.sink = sink
        self.runtimeLevel = runtimeLevel
    }

    /// Lines into `file` in `format` (local time).
    public init(file: LogFile, label: String, format: LogFormat = .text, runtimeLevel: RuntimeLogLevel? = nil) {
        self.init(label: label, runtimeLevel: runtimeLevel) { level, label, message, metadata in
            file.write(format.line(level: level, label: label, message: message, metadata: metadata))
        }
    }

    /// Lines to a standard stream (`fd` 1 or 2) in `format`, each written with one write(2).
    public init(standardStream fd: Int32, label: String, format: LogFormat, runtimeLevel: RuntimeLogLevel? = nil) {
        self.init(label: label, runtimeLevel: runtimeLevel) { level, label, message, metadata in
            let bytes = Array((format.line(level: level, label: label, message: message, metadata: metadata) + "\n").utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, bytes.count) }
        }
    }

    /// Lines held by `capture` while the console is open.
    public init(capture: ConsoleLogCapture, label: String, runtimeLevel: RuntimeLogLevel? = nil) {
        self.init(label: label, runtimeLevel: runtimeLevel) { level, label, message, metadata in
            let text = metadata.isEmpty ? message : message + metadata.keys.sorted().map { " \($0)=\(metadata[$0]!)" }.joined()
            capture.log(level: level, label: label, message: text)
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        var all = self.metadata
        if let metadata { all.merge(metadata) { $1 } }
        sink(level, label, "\(message)", all)
    }
}
