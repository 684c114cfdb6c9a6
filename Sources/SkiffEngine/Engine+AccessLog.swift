import Logging
import SkiffAccessLog
import SkiffConfig

/// Access logs as the engine runs them (docs/access-logs.md): one `AccessLogService` for the engine's life, a
/// `ListenerAccessLog` per listener built at start and rebuilt by a reload that changes its `access_logs`.
extension Engine {
    /// The service, its notices logged once per burst; problems (write failures, drops, a failed reopen) are also
    /// counted and recorded as `engine.error` events.
    static func makeAccessLogs(logger: Logger, errors: BackgroundErrors) -> AccessLogService {
        AccessLogService { notice in
            if notice.isProblem {
                errors.record("access log", message: notice.message)
            } else {
                logger.notice("\(notice.message)")
            }
        }
    }

    /// The running form of `lc`'s `access_logs` (files opened, the writer started); nil when it has none. `path` is
    /// the listener's config path, for errors.
    func accessLog(_ lc: ListenerConfig, path: String) throws(EngineError) -> ListenerAccessLog? {
        do {
            return try accessLogs.listenerLog(
                lc.accessLogs, tracing: lc.tracing, listener: lc.name, configPath: configPath, path: path)
        } catch {
            throw EngineError(error.message)
        }
    }

    /// SIGUSR1: reopens every access-log file (logrotate renamed them); failures are recorded, the lines going on to
    /// the old files. Returns how many files were reopened.
    @discardableResult
    public func reopenAccessLogs() -> Int {
        let failures = accessLogs.reopen()
        for f in failures { errors.record("SIGUSR1: reopening an access log", message: f) }
        return accessLogs.stats.filter { $0.path != "stdout" && $0.path != "stderr" }.count - failures.count
    }
}
