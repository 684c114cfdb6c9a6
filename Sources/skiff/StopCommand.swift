import ArgumentParser
import Glibc

/// `skiff stop`: a graceful stop over the control socket (as SIGTERM), or `--now`.
struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop a running skiff: stop accepting, finish in-flight work up to graceful_timeout, exit.")
    @OptionGroup var socket: SocketOption
    @Flag(help: "Do not wait for in-flight requests.") var now = false
    @Flag(help: "Return only when the process has exited.") var wait = false

    func run() throws {
        let path = socket.socket ?? defaultControlSocket()
        let c = try socket.client()
        do {
            _ = try c.request("{\"id\":1,\"cmd\":\"stop\",\"now\":\(now)}")
        } catch let e as CLIError {
            printError("error: \(e)")
            throw ExitCode(1)
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
