/// One value an access-log line can carry (`%name%` in a `log_format`). MOSN's names (`pkg/types/variable.go`,
/// `pkg/proxy/var.go`), MOSN 0.x's CamelCase names, Envoy's upper-case ones Skiff also offers, and Skiff's RPC
/// variables all map onto these; docs/access-logs.md says what each one prints.
public enum AccessLogVariable: Sendable, Hashable {
    /// Request arrival, local time, `2006/01/02 15:04:05.000`.
    case startTime
    /// The SOFA trace id (docs/tracing.md); `-` when the listener does not trace.
    case traceID
    /// Skiff: the SOFA rpc id sent upstream (the span id).
    case rpcID
    /// Skiff: the W3C `traceparent` sent upstream (HTTP).
    case traceparent
    /// Skiff: when the line is written, SOFATracer's `2006-01-02 15:04:05.000` (local time).
    case spanEndTime
    /// Skiff: SOFATracer's result code: `00` for 200, `03` for 504, `04` for 404 and 502, else `02`.
    case traceResultCode
    case connectionID
    case upstreamConnectionID
    /// Arrival until the request was sent upstream (Go duration text).
    case requestReceivedDuration
    /// Arrival until the upstream's response head (Go duration text).
    case responseReceivedDuration
    /// Arrival until the request (head and body) was read in full (Go duration text).
    case requestFinishedDuration
    /// Arrival until the line is written (Go duration text).
    case duration
    /// Body bytes written to the client.
    case bytesSent
    /// Body bytes read from the client.
    case bytesReceived
    /// The downstream protocol: `Http1`, `bolt`, `boltv2`, `dubbo`, `tcp`.
    case protocolName
    /// The HTTP status (an RPC status mapped to HTTP), 0 when nothing was answered.
    case responseCode
    /// MOSN's `true`/`false`: whether any response flag is set.
    case responseFlag
    /// MOSN's response-flag bitmask in hex (`0x0` when none).
    case upstreamTransportFailureReason
    /// MOSN's `upstream_local_address`: the chosen upstream host's address (`ip:port`), `-` when none.
    case upstreamLocalAddress
    case downstreamLocalAddress
    case downstreamRemoteAddress
    /// MOSN's `upstream_host`: the chosen host's configured `hostname`, `-` when it has none.
    case upstreamHost
    /// Envoy's `%UPSTREAM_HOST%`: the chosen host's `ip:port`.
    case upstreamHostAddress
    /// Envoy's `%RESPONSE_FLAGS%`: short codes (`UH`, `UF`, ...) joined by `,`, `-` when none.
    case responseFlags
    case upstreamCluster
    /// Skiff: the RPC request's service (Bolt `service` header, Dubbo service path or `interface`).
    case rpcService
    /// Skiff: the RPC request's method.
    case rpcMethod
    /// Skiff: the RPC response's status as the protocol writes it (Bolt respStatus, Dubbo status byte).
    case rpcStatus

    /// Every name accepted in `%name%`, and what it means. Names are case-sensitive, as in MOSN and Envoy.
    public static let names: [String: AccessLogVariable] = [
        // MOSN
        "start_time": .startTime, "trace_id": .traceID, "connection_id": .connectionID,
        "upstream_connection_id": .upstreamConnectionID, "request_received_duration": .requestReceivedDuration,
        "response_received_duration": .responseReceivedDuration,
        "request_finished_duration": .requestFinishedDuration, "duration": .duration, "bytes_sent": .bytesSent,
        "bytes_received": .bytesReceived, "protocol": .protocolName, "response_code": .responseCode,
        "response_flag": .responseFlag, "response_flags": .responseFlag,
        "upstream_transport_failure_reason": .upstreamTransportFailureReason,
        "upstream_local_address": .upstreamLocalAddress, "downstream_local_address": .downstreamLocalAddress,
        "downstream_remote_address": .downstreamRemoteAddress, "upstream_host": .upstreamHost,
        "upstream_cluster": .upstreamCluster,
        // MOSN 0.x (its `%StartTime% ...` formats, as in configs/mosn_old_form.json)
        "StartTime": .startTime, "RequestReceivedDuration": .requestReceivedDuration,
        "ResponseReceivedDuration": .responseReceivedDuration, "BytesSent": .bytesSent,
        "BytesReceived": .bytesReceived, "Protocol": .protocolName, "ResponseCode": .responseCode,
        "Duration": .duration, "ResponseFlag": .responseFlag, "UpstreamLocalAddress": .upstreamLocalAddress,
        "DownstreamLocalAddress": .downstreamLocalAddress, "DownstreamRemoteAddress": .downstreamRemoteAddress,
        "UpstreamHostSelected": .upstreamHost,
        // Envoy
        "UPSTREAM_HOST": .upstreamHostAddress, "RESPONSE_FLAGS": .responseFlags,
        // Skiff
        "rpc_service": .rpcService, "rpc_method": .rpcMethod, "rpc_status": .rpcStatus, "rpc_id": .rpcID,
        "traceparent": .traceparent, "span_end_time": .spanEndTime, "trace_result_code": .traceResultCode,
    ]

    /// True for variables whose value is a number (written as a JSON number in `json_format`).
    public var isNumeric: Bool {
        switch self {
        case .connectionID, .upstreamConnectionID, .bytesSent, .bytesReceived, .responseCode, .rpcStatus: true
        default: false
        }
    }
}

/// A header an access-log line prints: the first of `names` present (Envoy's `%REQ(a?b)%` alternative), cut to
/// `maxLength` bytes when set.
public struct AccessLogHeader: Sendable, Hashable {
    /// Lower-cased header names, in order of preference. `:method`, `:path` and `:authority` name the HTTP request
    /// line's parts (Envoy's pseudo-headers).
    public var names: [String]
    public var maxLength: Int?

    public init(names: [String], maxLength: Int? = nil) {
        self.names = names
        self.maxLength = maxLength
    }
}

/// One piece of a parsed `log_format`.
public enum AccessLogToken: Sendable, Equatable {
    case literal(String)
    case variable(AccessLogVariable)
    /// Envoy's `%REQ(name)%`, MOSN's `%request_header_<name>%` (and 0.x's `%REQ.name%`).
    case requestHeader(AccessLogHeader)
    /// Envoy's `%RESP(name)%`, MOSN's `%response_header_<name>%` (and 0.x's `%RESP.name%`).
    case responseHeader(AccessLogHeader)
}

/// A `log_format` parsed at config time: literal text and variables. Parsing refuses what MOSN would silently print
/// as `-` (an unknown variable) and an unclosed `%`; `%%` is a literal `%`.
public struct AccessLogFormat: Sendable, Equatable {
    public var tokens: [AccessLogToken]

    public init(tokens: [AccessLogToken]) { self.tokens = tokens }

    /// MOSN's default format when `log_format` is absent or empty, as MOSN ships it (two spaces after `trace_id`,
    /// `response_code` twice).
    public static let mosnDefaultText =
        "%start_time% %trace_id%  %connection_id% %upstream_connection_id% %request_received_duration% "
        + "%response_received_duration% %bytes_sent% %bytes_received% %protocol% %response_code% %duration% "
        + "%response_flag% %response_code% %upstream_local_address% %downstream_local_address% "
        + "%downstream_remote_address% %upstream_host%"

    /// The longest `log_format` (or `json_format` value) accepted.
    public static let maxTextBytes = 8192

    public static var mosnDefault: AccessLogFormat {
        // The default text is known to parse.
        if case .success(let f) = parse(mosnDefaultText) { return f }
        return AccessLogFormat(tokens: [])
    }

    /// Parses `text`; the failure is a message without a config path.
    public static func parse(_ text: String) -> Result<AccessLogFormat, AccessLogFormatError> {
        let bytes = Array(text.utf8)
        if bytes.count > maxTextBytes {
            return .failure(AccessLogFormatError("longer than \(maxTextBytes) bytes"))
        }
        var tokens: [AccessLogToken] = []
        var literal: [UInt8] = []
        var i = 0
        func flush() {
            if !literal.isEmpty { tokens.append(.literal(String(decoding: literal, as: UTF8.self))) }
            literal.removeAll()
        }
        while i < bytes.count {
            let b = bytes[i]
            guard b == UInt8(ascii: "%") else {
                literal.append(b)
                i += 1
                continue
            }
            guard let close = bytes[(i + 1)...].firstIndex(of: UInt8(ascii: "%")) else {
                let rest = String(decoding: bytes[i...].prefix(24), as: UTF8.self)
                return .failure(
                    AccessLogFormatError(
                        "unclosed % at byte \(i) (\(quoted(rest))): variables are written %name%, a literal % as %%"))
            }
            if close == i + 1 {
                literal.append(UInt8(ascii: "%"))
                i += 2
                continue
            }
            let name = String(decoding: bytes[(i + 1)..<close], as: UTF8.self)
            switch token(name) {
            case .failure(let e): return .failure(e)
            case .success(let t):
                flush()
                tokens.append(t)
            }
            i = close + 1
        }
        flush()
        return .success(AccessLogFormat(tokens: tokens))
    }

    /// The token `%name%` stands for.
    static func token(_ name: String) -> Result<AccessLogToken, AccessLogFormatError> {
        if let v = AccessLogVariable.names[name] { return .success(.variable(v)) }
        for (prefix, request) in [("REQ(", true), ("RESP(", false)] where name.hasPrefix(prefix) {
            return envoyHeader(name, prefix: prefix).map { request ? .requestHeader($0) : .responseHeader($0) }
        }
        for (prefix, request) in [
            ("request_header_", true), ("response_header_", false), ("REQ.", true), ("RESP.", false),
        ] where name.hasPrefix(prefix) {
            let header = String(name.dropFirst(prefix.count))
            guard isHeaderName(header) else {
                return .failure(AccessLogFormatError("%\(name)%: \(quoted(header)) is not a header name"))
            }
            let h = AccessLogHeader(names: [header.lowercased()])
            return .success(request ? .requestHeader(h) : .responseHeader(h))
        }
        // Today's lower-case names first: a tie goes to them, not to MOSN 0.x's CamelCase spelling.
        let all = AccessLogVariable.names.keys.sorted()
        let candidates = all.filter { $0.first?.isLowercase == true } + all.filter { $0.first?.isLowercase != true }
        let hint = Suggestion.closest(to: name, among: candidates).map {
            " (did you mean %\($0)%?)"
        }
        return .failure(AccessLogFormatError("unknown variable %\(name)%\(hint ?? "")"))
    }

    /// Envoy's `REQ(name?alternative):max`.
    private static func envoyHeader(_ name: String, prefix: String) -> Result<AccessLogHeader, AccessLogFormatError> {
        let body = name.dropFirst(prefix.count)
        guard let closeParen = body.firstIndex(of: ")") else {
            return .failure(AccessLogFormatError("%\(name)%: missing ) after the header name"))
        }
        let inner = body[..<closeParen]
        let after = body[body.index(after: closeParen)...]
        var maxLength: Int?
        if !after.isEmpty {
            guard after.first == ":", let n = Int(after.dropFirst()), n > 0, n <= 65536 else {
                return .failure(
                    AccessLogFormatError("%\(name)%: after ) only :N (a maximum length, 1-65536) may follow"))
            }
            maxLength = n
        }
        let names = inner.split(separator: "?", omittingEmptySubsequences: false).map(String.init)
        guard names.count <= 2 else {
            return .failure(AccessLogFormatError("%\(name)%: at most one alternative (name?alternative)"))
        }
        for n in names where !(isHeaderName(n) || isPseudoHeader(n)) {
            return .failure(AccessLogFormatError("%\(name)%: \(quoted(n)) is not a header name"))
        }
        return .success(AccessLogHeader(names: names.map { $0.lowercased() }, maxLength: maxLength))
    }

    /// RFC 9110 token characters.
    static func isHeaderName(_ s: String) -> Bool {
        !s.isEmpty
            && s.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
                    || "!#$&'*+-.^_`|~".utf8.contains(b)
            }
    }

    /// Envoy's pseudo-headers Skiff prints for HTTP requests.
    static func isPseudoHeader(_ s: String) -> Bool {
        [":method", ":path", ":authority"].contains(s.lowercased())
    }
}

/// Why a `log_format` was refused.
public struct AccessLogFormatError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// A `json_format` member: the key and the format of its value.
public struct AccessLogJSONField: Sendable, Equatable {
    public var key: String
    public var value: AccessLogFormat

    public init(key: String, value: AccessLogFormat) {
        self.key = key
        self.value = value
    }
}

/// What an access log writes per line: MOSN's text form or Skiff's JSON-lines form (Envoy's `json_format` shape).
public enum AccessLogLayout: Sendable, Equatable {
    case text(AccessLogFormat)
    case json([AccessLogJSONField])

    /// Every token the layout prints, in order.
    public var tokens: [AccessLogToken] {
        switch self {
        case .text(let f): return f.tokens
        case .json(let fields): return fields.flatMap(\.value.tokens)
        }
    }
}
