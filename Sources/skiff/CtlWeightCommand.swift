import ArgumentParser
import SkiffControl
import SkiffJSON

/// `skiff ctl weight CLUSTER HOST N`: sets a host's load-balancing weight at run time (`host.set_weight`).
struct CtlWeight: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weight",
        abstract: "Set a host's load-balancing weight now (0 to 128; 0: no new traffic). A reload restores the config's.")
    @OptionGroup var socket: SocketOption
    @Argument(help: "Cluster name.") var cluster: String
    @Argument(help: "Host address as in the config (127.0.0.1:8080).") var host: String
    @Argument(help: "The new weight, 0 to 128.") var weight: String

    func run() throws {
        let range = ControlServer.hostWeights
        guard let n = Int(weight), range.contains(n) else {
            printError("error: weight must be an integer from \(range.lowerBound) to \(range.upperBound), got \"\(weight)\"")
            throw ExitCode(1)
        }
        let line =
            "{\"id\":1,\"cmd\":\"host.set_weight\",\"cluster\":\(quoted(cluster)),\"host\":\(quoted(host)),\"weight\":\(n)}"
        try runRequest(socket, line, json: false) { reply in
            let from = reply["from"].map { "\($0.int)" } ?? "?"
            print("\(cluster)/\(host): weight \(from) -> \(n)\(n == 0 ? " (no new traffic)" : "")")
        }
    }
}
