import Logging
import SkiffConfig
import SkiffEngine
import Testing

/// `--log-level`/`--log-file` over MOSN's `default_log_level`/`default_log_path`, MOSN's spellings accepted.
@Suite struct LogSettingsTests {
    static func config(level: String? = nil, path: String? = nil) throws -> SkiffConfiguration {
        var server = ""
        if let level { server += #","default_log_level":"\#(level)""# }
        if let path { server += #","default_log_path":"\#(path)""# }
        return try ConfigDecoder.decode(
            #"""
            {"servers":[{"listeners":[{"name":"t","address":"127.0.0.1:0",
              "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"c"}}]}]}]\#(server)}],
             "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:1"}]}]}}
            """#)
    }

    @Test(arguments: [
        ("WARN", Logger.Level.warning), ("warning", .warning), ("FATAL", .critical), ("DEBUG", .debug), ("Info", .info),
        ("critical", .critical),
    ])
    func levelNames(_ name: String, _ level: Logger.Level) {
        #expect(LogSettings.level(named: name) == level)
    }

    @Test func defaultsAreInfoOnStandardError() throws {
        let s = try LogSettings.resolve(levelFlag: nil, fileFlag: nil, config: Self.config())
        #expect(s == LogSettings(level: .info, destination: .standardError))
    }

    @Test func theConfigsKeysApplyWhenNoFlagIsGiven() throws {
        let c = try Self.config(level: "WARN", path: "/var/log/skiff/skiff.log")
        #expect(
            try LogSettings.resolve(levelFlag: nil, fileFlag: nil, config: c)
                == LogSettings(level: .warning, destination: .file("/var/log/skiff/skiff.log")))
        #expect(try LogSettings.resolve(levelFlag: nil, fileFlag: nil, config: Self.config(path: "stdout")).destination == .standardOutput)
        #expect(try LogSettings.resolve(levelFlag: nil, fileFlag: nil, config: Self.config(path: "/dev/stderr")).destination == .standardError)
    }

    @Test func flagsWin() throws {
        let c = try Self.config(level: "ERROR", path: "stdout")
        #expect(
            try LogSettings.resolve(levelFlag: "debug", fileFlag: "/tmp/x.log", config: c)
                == LogSettings(level: .debug, destination: .file("/tmp/x.log")))
        #expect(throws: LogSettingsError.self) { try LogSettings.resolve(levelFlag: "loud", fileFlag: nil, config: c) }
    }
}
