import ArgumentParser
import Glibc

/// `skiff top`: the console attached to a running skiff over its control socket.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach the live console to a running skiff (over its control socket).")
    @OptionGroup var socket: SocketOption
    @Flag(name: .customLong("read-only"), help: "Refuse host actions (drain, maint, ready).") var readOnly = false
    @Option(help: "Show latency and write rates over this recent span (e.g. 10s, 1m).") var window = "10s"

    func run() throws {
        let windowMs = try parseWindow(window)
        let stop = try SignalStop()  // before any thread: SIGINT/SIGTERM end the console and restore the terminal
        let source = SocketSource(path: socket.path, answerTimeoutNs: try socket.answerTimeoutNs())
        if let p = source.problem, isatty(1) == 0 {
            printError("error: \(p)")
            throw ExitCode(1)
        }
        runConsole(source: source, readOnly: readOnly, inProcess: false, windowMs: windowMs, shouldStop: { stop.isRaised })
    }
}
