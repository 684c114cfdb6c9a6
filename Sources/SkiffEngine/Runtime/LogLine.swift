import Glibc
import Logging
import SkiffJSON
import Synchronization

/// `--log-format`: `text` (`2025-01-31T12:00:00+0000 info skiff: message key=value`) or `json` (one object per line:
/// `time`, `level`, `logger`, `message`, then every metadata field), for log shippers.
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json

    /// One line (no newline) for a log record; metadata in key order.
    public func line(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var t = time(nil)
        var tm = tm()
        localtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 32)
        strftime(&buf, 32, "%Y-%m-%dT%H:%M:%S%z", &tm)
        let stamp = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let keys = metadata.keys.sorted()
        switch self {
        case .text:
            var out = "\(stamp) \(level) \(label): \(message)"
            for k in keys { out += " \(k)=\(metadata[k]!)" }
            return out
        case .json:
            var members = [
                JSONMember(key: "time", value: .string(stamp)), JSONMember(key: "level", value: .string("\(level)")),
                JSONMember(key: "logger", value: .string(label)), JSONMember(key: "message", value: .string(message)),
            ]
            for k in keys { members.append(JSONMember(key: k, value: Self.json(metadata[k]!))) }
            return String(decoding: JSONWriter.encode(.object(members)), as: UTF8.self)
        }
    }

    private static func json(_ v: Logger.MetadataValue) -> JSONValue {
        switch v {
        case .string(let s): return .string(s)
        case .stringConvertible(let c): return .string(c.description)
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d): return .object(d.keys.sorted().map { JSONMember(key: $0, value: json(d[$0]!)) })
        }
    }
}

/// The log level every handler of the process reads on each line, changeable at run time (`skiff ctl log-level`,
/// MOSN's `POST /api/v1/update_loglevel`). Any thread.
public final class RuntimeLogLevel: Sendable {
    private let value: Atomic<UInt8>

    public init(_ level: Logger.Level) { value = Atomic(Self.code(level)) }

    public var level: Logger.Level {
        get { Logger.Level.allCases[Int(value.load(ordering: .relaxed))] }
        set { value.store(Self.code(newValue), ordering: .relaxed) }
    }

    private static func code(_ l: Logger.Level) -> UInt8 { UInt8(Logger.Level.allCases.firstIndex(of: l)!) }
}
