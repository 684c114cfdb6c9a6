import ArgumentParser
import Glibc
import SkiffConfig
import SkiffJSON

/// `skiff stop`: a graceful stop over the control socket (as SIGTERM), or `--now`.
struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop a running skiff: stop accepting, finish in-flight work up to graceful_timeout, exit.")
    @OptionGroup var socket: SocketOption
    @Flag(help: "Do not wait for in-flight requests.") var now = false
    @Flag(help: "Return only when the process has exited.") var wait = false

    func run() throws {
        let path = socket.path
        let c = try socket.client()
        do {
            _ = try c.request("{\"id\":1,\"cmd\":\"stop\",\"now\":\(now)}")
        } catch let e as CLIError {
            printError("error: \(e)")
            throw ExitCode(e.exitCode)
        }
        print("stopping")
        guard wait else { return }
        // The control socket disappears when the process exits.
        for _ in 0..<1200 {
            if (try? ControlClient(path: path)) == nil {
                print("stopped")
                return
            }
            usleep(100_000)
        }
        printError("error: still running after 120 s")
        throw ExitCode(2)
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-read the running skiff's config file and apply the difference without dropping connections.",
        discussion: """
            An invalid file is refused with every error and the running config stays (exit 1). Otherwise prints what \
            changed: listeners added, removed or re-routed, hosts added, removed (draining) or re-weighted.
            """)
    @OptionGroup var socket: SocketOption

    func run() throws {
        let c = try socket.client()
        let reply: JSONValue
        do {
            reply = try c.request("{\"id\":1,\"cmd\":\"reload\"}")
        } catch let e as CLIError {
            printError("error: \(e)")
            throw ExitCode(e.exitCode)
        }
        let changes = reply["changes"]?.arrayValue.compactMap(\.stringValue) ?? []
        let restart = reply["restart_needed"]?.arrayValue.compactMap(\.stringValue) ?? []
        print("reloaded")
        if changes.isEmpty && restart.isEmpty { print("  no changes") }
        for line in changes { print("  \(line)") }
        for r in restart { print("  \(r): changed, takes effect on restart") }
    }
}
