import Logging
import SkiffConfig

/// Where logs go and from what level, from the command line and MOSN's server keys: `--log-level` over
/// `servers[0].default_log_level`, `--log-file` over `servers[0].default_log_path`, else info on stderr.
///
/// MOSN's spellings are accepted wherever a level is given (`WARN` as well as `warning`, `FATAL` for critical), and
/// `default_log_path` takes MOSN's `stdout`, `stderr` (or `/dev/stdout`, `/dev/stderr`); any other value is a file,
/// reopened on SIGUSR1 like `--log-file`. MOSN logs to `<base>/mosn.log` when the path is empty; Skiff logs to
/// stderr, where journald takes it.
public struct LogSettings: Equatable, Sendable {
    public enum Destination: Equatable, Sendable {
        case standardError
        case standardOutput
        case file(String)
    }

    public var level: Logger.Level
    public var destination: Destination

    public init(level: Logger.Level, destination: Destination) {
        self.level = level
        self.destination = destination
    }

    /// A level from a flag or a config: swift-log's names, or MOSN's (`TRACE DEBUG INFO WARN ERROR FATAL`), any case.
    public static func level(named name: String) -> Logger.Level? {
        switch name.lowercased() {
        case "warn": return .warning
        case "fatal": return .critical
        default: return Logger.Level(rawValue: name.lowercased())
        }
    }

    /// The settings for `flags` (nil where not given) and `config`; the error names the bad flag.
    public static func resolve(levelFlag: String?, fileFlag: String?, config: SkiffConfiguration) throws(LogSettingsError)
        -> LogSettings
    {
        let server = config.servers.first
        var level = Logger.Level.info
        if let flag = levelFlag {
            guard let l = Self.level(named: flag) else {
                throw LogSettingsError("--log-level: unknown level \"\(flag)\" (trace, debug, info, notice, warning, error, critical; or MOSN's TRACE ... FATAL)")
            }
            level = l
        } else if let configured = server?.defaultLogLevel, let l = Self.level(named: configured) {
            level = l
        }
        let destination: Destination
        if let file = fileFlag {
            destination = .file(file)
        } else {
            switch server?.defaultLogPath {
            case nil, "", "stderr", "/dev/stderr": destination = .standardError
            case "stdout", "/dev/stdout": destination = .standardOutput
            case let path?: destination = .file(path)
            }
        }
        return LogSettings(level: level, destination: destination)
    }
}

/// A log setting that cannot be used, with the flag that gave it.
public struct LogSettingsError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
