import Testing

@testable import SkiffConfig

private typealias F = Fixture
private let log0 = "servers[0].listeners[0].access_logs[0]"

/// A listener with `access_logs` set to `logs` (a JSON array's text).
private func withLogs(_ logs: String) -> String {
    F.config(listeners: [F.tcpListener(extra: #","access_logs":\#(logs)"#)])
}

/// `access_logs[]`: the format parsed at load, every refusal with its path.
@Suite struct AccessLogConfigTests {
    static let refusals: [BadConfig] = [
        BadConfig(
            "unknown variable", withLogs(#"[{"log_path":"/tmp/a.log","log_format":"%start_time% %foo%"}]"#),
            "\(log0).log_format: unknown variable %foo%"),
        BadConfig(
            "unknown variable with a hint",
            withLogs(#"[{"log_path":"/tmp/a.log","log_format":"%start_tme%"}]"#),
            "\(log0).log_format: unknown variable %start_tme% (did you mean %start_time%?)"),
        BadConfig(
            "unclosed percent", withLogs(#"[{"log_path":"/tmp/a.log","log_format":"%duration% %bytes_sent"}]"#),
            #"\#(log0).log_format: unclosed % at byte 11 ("%bytes_sent"): variables are written %name%, a literal % as %%"#),
        BadConfig(
            "REQ without its parenthesis", withLogs(#"[{"log_path":"/tmp/a.log","log_format":"%REQ(x-id%"}]"#),
            "\(log0).log_format: %REQ(x-id%: missing ) after the header name"),
        BadConfig(
            "REQ with a bad length", withLogs(#"[{"log_path":"/tmp/a.log","log_format":"%REQ(x-id):0%"}]"#),
            "\(log0).log_format: %REQ(x-id):0%: after ) only :N (a maximum length, 1-65536) may follow"),
        BadConfig(
            "REQ with two alternatives", withLogs(#"[{"log_path":"/tmp/a.log","log_format":"%REQ(a?b?c)%"}]"#),
            "\(log0).log_format: %REQ(a?b?c)%: at most one alternative (name?alternative)"),
        BadConfig(
            "REQ with an empty name", withLogs(#"[{"log_path":"/tmp/a.log","log_format":"%RESP()%"}]"#),
            #"\#(log0).log_format: %RESP()%: "" is not a header name"#),
        BadConfig(
            "request_header_ without a name",
            withLogs(#"[{"log_path":"/tmp/a.log","log_format":"%request_header_%"}]"#),
            #"\#(log0).log_format: %request_header_%: "" is not a header name"#),
        BadConfig(
            "syslog", withLogs(#"[{"log_path":"syslog:127.0.0.1:514"}]"#),
            #"\#(log0).log_path: "syslog:127.0.0.1:514": syslog outputs are not supported by skiff (use a file, stdout or stderr)"#),
        BadConfig(
            "log_path not a string", withLogs(#"[{"log_path":5}]"#),
            "\(log0).log_path: expected a string, got the number 5"),
        BadConfig(
            "both formats",
            withLogs(#"[{"log_path":"/tmp/a.log","log_format":"%duration%","json_format":{"d":"%duration%"}}]"#),
            "\(log0).json_format: log_format and json_format are mutually exclusive: give one"),
        BadConfig(
            "json_format not an object", withLogs(#"[{"log_path":"/tmp/a.log","json_format":"%duration%"}]"#),
            #"\#(log0).json_format: expected an object (key: "%variable%" or text), got the string "%duration%""#),
        BadConfig(
            "json_format empty", withLogs(#"[{"log_path":"/tmp/a.log","json_format":{}}]"#),
            "\(log0).json_format: must name at least one field"),
        BadConfig(
            "json_format value not a string", withLogs(#"[{"log_path":"/tmp/a.log","json_format":{"n":1}}]"#),
            #"\#(log0).json_format.n: expected a string ("%variable%" or text), got the number 1"#),
        BadConfig(
            "json_format duplicate key",
            withLogs(#"[{"log_path":"/tmp/a.log","json_format":{"d":"%duration%","d":"%bytes_sent%"}}]"#),
            #"\#(log0).json_format.d: duplicate key "d""#),
        BadConfig(
            "json_format bad variable",
            withLogs(#"[{"log_path":"/tmp/a.log","json_format":{"d":"%duraton%"}}]"#),
            "\(log0).json_format.d: unknown variable %duraton% (did you mean %duration%?)"),
        BadConfig(
            "unknown field", withLogs(#"[{"log_path":"/tmp/a.log","format":"x"}]"#),
            #"\#(log0): unknown field "format""#),
        BadConfig(
            "too many headers",
            withLogs(
                #"[{"log_path":"/tmp/a.log","log_format":""#
                    + (0..<33).map { "%REQ(h\($0))%" }.joined(separator: " ") + #""}]"#),
            "servers[0].listeners[0].access_logs: 33 distinct headers printed; at most 32 per listener"),
        BadConfig(
            "format too long",
            withLogs(#"[{"log_path":"/tmp/a.log","log_format":""# + String(repeating: "x", count: 8193) + #""}]"#),
            "\(log0).log_format: longer than 8192 bytes"),
    ]

    @Test(arguments: refusals)
    func refused(_ c: BadConfig) {
        #expect(errorLines(c.json) == c.errors)
    }

    @Test func defaultFormatWhenAbsentOrEmpty() throws {
        for entry in [#"{"log_path":"/tmp/a.log"}"#, #"{"log_path":"/tmp/a.log","log_format":""}"#] {
            let config = try #require(decodeValid(withLogs("[\(entry)]")))
            let log = try #require(config.allListeners.first?.accessLogs.first)
            #expect(log.path == "/tmp/a.log")
            #expect(log.layout == .text(.mosnDefault))
        }
        // MOSN ships its default with two spaces after trace_id and response_code twice.
        let tokens = AccessLogFormat.mosnDefault.tokens
        #expect(tokens.prefix(4) == [.variable(.startTime), .literal(" "), .variable(.traceID), .literal("  ")])
        #expect(tokens.filter { $0 == .variable(.responseCode) }.count == 2)
        #expect(tokens.last == .variable(.upstreamHost))
    }

    @Test func absentOrEmptyPathMeansTheDefaultFile() throws {
        let config = try #require(decodeValid(withLogs(#"[{"log_format":"%duration%"},{"log_path":""}]"#)))
        #expect(config.allListeners[0].accessLogs.map(\.path) == ["", ""])
    }

    @Test func parsesVariablesLiteralsAndHeaders() throws {
        let f = try AccessLogFormat.parse(
            "[%start_time%] 100%% %REQ(X-Request-ID?x-id):8% %RESP(content-type)% %request_header_User-Agent% "
                + "%UPSTREAM_HOST% %RESPONSE_FLAGS% %rpc_service%.%rpc_method% %REQ(:PATH)%"
        ).get()
        #expect(
            f.tokens == [
                .literal("["), .variable(.startTime), .literal("] 100% "),
                .requestHeader(AccessLogHeader(names: ["x-request-id", "x-id"], maxLength: 8)), .literal(" "),
                .responseHeader(AccessLogHeader(names: ["content-type"])), .literal(" "),
                .requestHeader(AccessLogHeader(names: ["user-agent"])), .literal(" "),
                .variable(.upstreamHostAddress), .literal(" "), .variable(.responseFlags), .literal(" "),
                .variable(.rpcService), .literal("."), .variable(.rpcMethod), .literal(" "),
                .requestHeader(AccessLogHeader(names: [":path"])),
            ])
    }

    @Test func mosnOldNamesAreAliases() throws {
        let f = try AccessLogFormat.parse("%StartTime% %UpstreamHostSelected% %REQ.service% %RESP.x%").get()
        #expect(
            f.tokens == [
                .variable(.startTime), .literal(" "), .variable(.upstreamHost), .literal(" "),
                .requestHeader(AccessLogHeader(names: ["service"])), .literal(" "),
                .responseHeader(AccessLogHeader(names: ["x"])),
            ])
    }

    @Test func jsonFormatKeepsKeyOrder() throws {
        let config = try #require(
            decodeValid(
                withLogs(
                    #"[{"log_path":"stdout","json_format":{"time":"%start_time%","code":"%response_code%","who":"x=%REQ(x)%"}}]"#
                )))
        guard case .json(let fields) = config.allListeners[0].accessLogs[0].layout else {
            Issue.record("not json")
            return
        }
        #expect(fields.map(\.key) == ["time", "code", "who"])
        #expect(fields[2].value.tokens == [.literal("x="), .requestHeader(AccessLogHeader(names: ["x"]))])
    }
}
