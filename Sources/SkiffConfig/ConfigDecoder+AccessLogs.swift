import SkiffJSON

/// A listener's `access_logs[]`: `log_path`, and MOSN's `log_format` or Skiff's `json_format`, parsed here so a bad
/// format is refused with its path at load (`skiff validate` too), never discovered per request.
extension ConfigDecoder {
    static let accessLogSchema = ObjectSchema(known: ["log_path", "log_format", "json_format"])

    /// Distinct headers (request and response, with their alternatives) one listener's access logs may print: each
    /// is copied per request into a fixed capture area (docs/access-logs.md, "Cost").
    public static let maxAccessLogHeaders = 32

    mutating func accessLogs(_ f: Fields) -> [AccessLogConfig] {
        var logs: [AccessLogConfig] = []
        guard let items = array(f, "access_logs") else { return logs }
        for item in items {
            guard let a = fields(item.value, at: item.path, Self.accessLogSchema) else { continue }
            let path = accessLogPath(a)
            let layout = accessLogLayout(a)
            if let path, let layout { logs.append(AccessLogConfig(path: path, layout: layout)) }
        }
        var headers = Set<AccessLogHeaderKey>()
        for log in logs {
            for t in log.layout.tokens {
                switch t {
                case .requestHeader(let h): headers.insert(AccessLogHeaderKey(request: true, names: h.names))
                case .responseHeader(let h): headers.insert(AccessLogHeaderKey(request: false, names: h.names))
                default: break
                }
            }
        }
        if headers.count > Self.maxAccessLogHeaders {
            fail(
                f.path("access_logs"),
                "\(headers.count) distinct headers printed; at most \(Self.maxAccessLogHeaders) per listener")
        }
        return logs
    }

    /// `log_path`: absent or "" means MOSN's default file; syslog outputs are refused.
    private mutating func accessLogPath(_ a: Fields) -> String? {
        guard a.has("log_path") else { return "" }
        guard let path = string(a, "log_path") else { return nil }
        if path.lowercased().hasPrefix("syslog") {
            fail(
                a.path("log_path"),
                "\(quoted(path)): syslog outputs are not supported by skiff (use a file, stdout or stderr)")
            return nil
        }
        if path.utf8.contains(0) {
            fail(a.path("log_path"), "contains a NUL byte")
            return nil
        }
        return path
    }

    private mutating func accessLogLayout(_ a: Fields) -> AccessLogLayout? {
        if a.has("log_format") && a.has("json_format") {
            fail(a.path("json_format"), "log_format and json_format are mutually exclusive: give one")
            return nil
        }
        if let v = a["json_format"] { return jsonLayout(v, at: a.path("json_format")) }
        guard let text = a.has("log_format") ? string(a, "log_format") : "" else { return nil }
        if text.isEmpty { return .text(.mosnDefault) }
        return accessLogFormat(text, at: a.path("log_format")).map { .text($0) }
    }

    private mutating func jsonLayout(_ v: JSONValue, at path: String) -> AccessLogLayout? {
        guard case .object(let members) = v else {
            fail(path, "expected an object (key: \"%variable%\" or text), got \(v.kindDescription)")
            return nil
        }
        guard !members.isEmpty else {
            fail(path, "must name at least one field")
            return nil
        }
        var fields: [AccessLogJSONField] = []
        var seen = Set<String>()
        var ok = true
        for m in members {
            let fieldPath = ConfigPath.field(path, m.key)
            guard seen.insert(m.key).inserted else {
                fail(fieldPath, "duplicate key \(quoted(m.key))")
                ok = false
                continue
            }
            guard case .string(let text) = m.value else {
                fail(fieldPath, "expected a string (\"%variable%\" or text), got \(m.value.kindDescription)")
                ok = false
                continue
            }
            guard let format = accessLogFormat(text, at: fieldPath) else {
                ok = false
                continue
            }
            fields.append(AccessLogJSONField(key: m.key, value: format))
        }
        return ok ? .json(fields) : nil
    }

    private mutating func accessLogFormat(_ text: String, at path: String) -> AccessLogFormat? {
        switch AccessLogFormat.parse(text) {
        case .success(let f): return f
        case .failure(let e):
            fail(path, e.message)
            return nil
        }
    }
}

/// A printed header as the capture area counts it: request or response side, with its alternatives.
struct AccessLogHeaderKey: Hashable {
    var request: Bool
    var names: [String]
}
