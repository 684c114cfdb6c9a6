import ArgumentParser
import SkiffJSON

/// `skiff ctl log-level [LEVEL]`: the running skiff's log level, or set it (swift-log's names or MOSN's).
struct CtlLogLevel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log-level", abstract: "Show or set the log level at run time (trace ... critical; MOSN's WARN, FATAL).")
    @OptionGroup var socket: SocketOption
    @Flag(help: "Print the raw JSON reply.") var json = false
    @Argument(help: "The new level; without it, the current one is printed.") var level: String?

    func run() throws {
        let arg = level.map { ",\"level\":\"\($0.filter { $0 != "\"" && $0 != "\\" })\"" } ?? ""
        try runRequest(socket, "{\"id\":1,\"cmd\":\"log.level\"\(arg)}", json: json) { reply in
            let now = reply["level"]?.stringValue ?? "?"
            if let before = reply["previous"]?.stringValue {
                print("log level \(before) -> \(now)")
            } else {
                print("log level \(now)")
            }
        }
    }
}
