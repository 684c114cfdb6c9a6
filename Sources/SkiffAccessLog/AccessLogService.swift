import Glibc
import SkiffConfig
import Synchronization

/// The process's access logs: the files by path (entries naming one path share it, across listeners and reloads)
/// and the one writer thread, started with the first file. The engine builds each listener's `ListenerAccessLog`
/// here, reopens the files on SIGUSR1 and stops the writer last.
///
/// Threads: any (`files` is behind a mutex); `listenerLog` from the engine's start and reload.
public final class AccessLogService: @unchecked Sendable {  // state behind `files`
    public let writer: AccessLogWriter
    private let files = Mutex<[String: AccessLogFile]>([:])

    /// `report` hears the writer's notices (write failures, drops, reopen failures), once per burst.
    public init(report: @escaping @Sendable (AccessLogNotice) -> Void) {
        writer = AccessLogWriter(report: report)
    }

    /// MOSN's file for an entry without `log_path`: `<parent of the config file's directory>/logs/<listener>_access.log`
    /// (`logs/<listener>_access.log` under the working directory when there is no config file).
    public static func defaultPath(listener: String, configPath: String) -> String {
        let name = "\(listener)_access.log"
        guard !configPath.isEmpty else { return "logs/\(name)" }
        let dir = Self.directory(of: configPath)
        var absolute = dir
        if let resolved = realpath(dir, nil) {
            absolute = String(cString: resolved)
            free(resolved)
        }
        return Self.directory(of: absolute) + "/logs/" + name
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }

    /// The running form of `configs` (one listener's `access_logs`) and of its `tracing` (the digest log, written as
    /// one more entry), opening files not open yet; nil when there is neither. `path` prefixes errors
    /// (`servers[0].listeners[0]`).
    public func listenerLog(
        _ configs: [AccessLogConfig], tracing: ListenerTracing? = nil, listener: String, configPath: String,
        path: String
    ) throws(AccessLogError) -> ListenerAccessLog? {
        guard !configs.isEmpty || tracing != nil else { return nil }
        var opened: [AccessLogFile] = []
        for (i, c) in configs.enumerated() {
            let p = c.path.isEmpty ? Self.defaultPath(listener: listener, configPath: configPath) : c.path
            do {
                opened.append(try file(p))
            } catch {
                throw AccessLogError("\(path).access_logs[\(i)].log_path: \(error.message)")
            }
        }
        var all = configs
        if let tracing {
            do {
                opened.append(try file(tracing.digestPath))
            } catch {
                throw AccessLogError("tracing.config.log_path: \(error.message)")
            }
            all.append(SOFADigestFormat.entry(tracing))
        }
        try writer.startIfNeeded()
        return ListenerAccessLog(configs: all, files: opened, tracing: tracing?.kind)
    }

    /// The file for `path`, opened on first use.
    private func file(_ path: String) throws(AccessLogError) -> AccessLogFile {
        let key = path == "/dev/stdout" ? "stdout" : path == "/dev/stderr" ? "stderr" : path
        return try files.withLock { (m: inout [String: AccessLogFile]) throws(AccessLogError) -> AccessLogFile in
            if let f = m[key] { return f }
            let f = try AccessLogFile(path: key, writer: writer)
            m[key] = f
            writer.add(f)
            return f
        }
    }

    /// Every file's counters, by path.
    public var stats: [AccessLogFileStats] {
        files.withLock { Array($0.values) }.map(\.stats).sorted { $0.path < $1.path }
    }

    /// Files open now.
    public var fileCount: Int { files.withLock { $0.count } }

    /// SIGUSR1: reopens every file (logrotate renamed them). Returns the failures.
    public func reopen() -> [String] { writer.reopen() }

    /// Writes what the lanes hold and stops the writer (after the executors stopped).
    public func stop() { writer.stop() }
}
