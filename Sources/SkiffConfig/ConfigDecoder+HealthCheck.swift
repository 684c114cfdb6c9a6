import SkiffJSON

/// A cluster's `health_check`.
///
/// Two MOSN traps are closed here: MOSN silently turns any protocol other than exactly `Http1`, and `Http1` without
/// `http_check_config`, into a TCP dial (Skiff refuses unknown protocols, and for `Http1` without a path runs the TCP
/// check with a warning), and MOSN runs checks only when `service_name` is set (Skiff runs them whenever
/// `health_check` is present and warns when `service_name` is missing; the name labels the cluster's checks in
/// frames, `skiff ctl hosts` and the admin API).
extension ConfigDecoder {
    static let healthCheckProtocols: [(String, String)] = [
        ("Http1", "http1"), ("tcp", "tcp"), ("bolt", "bolt"), ("SofaRpc", "bolt"), ("dubbo", "dubbo"),
        ("grpc", "grpc"),
    ]

    mutating func decodeHealthCheck(_ v: JSONValue, at path: String) -> HealthCheckConfig? {
        let unsupported = ["event_log_path", "common_callbacks", "check_path"]
        let schema = ObjectSchema(
            known: [
                "protocol", "timeout", "interval", "interval_jitter", "initial_delay_seconds", "healthy_threshold",
                "unhealthy_threshold", "unhealthy_interval", "service_name", "check_config",
            ],
            unsupported: unsupported, emptyAllowed: Set(unsupported))
        guard let f = fields(v, at: path, schema) else { return nil }
        if !f.has("protocol") { fail(f.path("protocol"), "required") }
        let proto = choice(
            f, "protocol", what: "health check protocol", Self.healthCheckProtocols,
            listed: Self.healthCheckProtocols.map(\.0))
        var check = HealthCheckConfig(
            protocolName: proto ?? "tcp",
            timeout: duration(f, "timeout", positive: true) ?? .seconds(1),
            interval: duration(f, "interval", positive: true) ?? .seconds(15),
            healthyThreshold: int(f, "healthy_threshold", 1...Self.int32Max) ?? 1,
            unhealthyThreshold: int(f, "unhealthy_threshold", 1...Self.int32Max) ?? 1)
        if let j = f["interval_jitter"] {
            // MOSN's own configs write `"interval_jitter": 0`.
            if case .number("0") = j {
                check.intervalJitter = .zero
            } else {
                check.intervalJitter = duration(j, at: f.path("interval_jitter")) ?? .zero
            }
        }
        if let d = f["initial_delay_seconds"] {
            check.initialDelay = initialDelay(d, at: f.path("initial_delay_seconds"))
        }
        check.unhealthyInterval = duration(f, "unhealthy_interval", positive: true)
        check.serviceName = string(f, "service_name")
        if check.serviceName?.isEmpty ?? true {
            warn(
                f.path("service_name"),
                "missing: MOSN runs no health check without it (every host stays healthy); Skiff runs this one")
        }
        if let c = f["check_config"] { httpCheck(c, at: f.path("check_config"), into: &check) }
        if proto == "http1" && check.httpPath == nil && !errors.contains(where: { $0.path.hasPrefix(path) }) {
            // MOSN's own slow-start sample does this; MOSN then dials TCP. Skiff does the same, and says so.
            check.protocolName = "tcp"
            warn(
                ConfigPath.field(f.path("check_config"), "http_check_config"),
                "missing: protocol Http1 without a path checks with a TCP connect, as MOSN does; add "
                    + "http_check_config with a path for an HTTP check")
        }
        if let proto, proto != "grpc", check.grpcService != nil {
            fail(ConfigPath.field(f.path("check_config"), "grpc_check_config"), "only valid for protocol grpc")
        }
        if let proto, proto != "http1", check.httpPath != nil || check.httpMethod != nil {
            fail(ConfigPath.field(f.path("check_config"), "http_check_config"), "only valid for protocol Http1")
        }
        return check
    }

    /// `initial_delay_seconds`: a number of seconds (`5`, `0.5`) or a duration string (`"5s"`).
    private mutating func initialDelay(_ v: JSONValue, at path: String) -> Duration {
        if case .number(let text) = v {
            if let d = DurationText.parse(text + "s") { return d }
            fail(path, "bad delay \(text) (expected seconds >= 0 or a duration like \"5s\")")
            return .zero
        }
        return duration(v, at: path) ?? .zero
    }

    /// `check_config{http_check_config{path, method, codes[{start, end}]}}`, or
    /// `check_config{grpc_check_config{service_name}}` (Envoy's `grpc_health_check.service_name`).
    private mutating func httpCheck(_ v: JSONValue, at path: String, into check: inout HealthCheckConfig) {
        guard let c = fields(v, at: path, ObjectSchema(known: ["http_check_config", "grpc_check_config"])) else {
            return
        }
        if let gv = c["grpc_check_config"],
            let g = fields(gv, at: c.path("grpc_check_config"), ObjectSchema(known: ["service_name"], emptyAllowed: []))
        {
            check.grpcService = string(g, "service_name") ?? ""
        }
        guard let hv = c["http_check_config"] else { return }
        let schema = ObjectSchema(
            known: ["path", "method", "codes"], unsupported: ["port", "timeout", "scheme", "domain"],
            emptyAllowed: ["port", "timeout", "scheme", "domain"])
        guard let h = fields(hv, at: c.path("http_check_config"), schema) else { return }
        if let p = requiredString(h, "path") {
            if p.hasPrefix("/") { check.httpPath = p } else { fail(h.path("path"), "must start with \"/\"") }
        }
        if let m = string(h, "method") {
            let token = !m.isEmpty && m.allSatisfy { $0.isASCII && $0.isLetter }
            if token {
                check.httpMethod = m.uppercased()
            } else {
                fail(h.path("method"), "bad HTTP method \(quoted(m))")
            }
        }
        guard let list = array(h, "codes") else { return }
        var ranges: [ClosedRange<Int>] = []
        for item in list {
            guard let r = fields(item.value, at: item.path, ObjectSchema(known: ["start", "end"])) else { continue }
            if !r.has("start") { fail(r.path("start"), "required") }
            if !r.has("end") { fail(r.path("end"), "required") }
            let start = int(r, "start", 100...599)
            let end = int(r, "end", 100...599)
            guard let start, let end else { continue }
            if start > end {
                fail(item.path, "start \(start) is after end \(end)")
            } else {
                ranges.append(start...end)
            }
        }
        if !ranges.isEmpty { check.httpCodes = ranges }
    }
}
