import ArgumentParser
import Glibc
import Logging
import SkiffConfig
import SkiffControl
import SkiffEngine
import SkiffNet

/// `skiff`: the sidecar's command line.
struct SkiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiff",
        abstract: "A service-mesh sidecar proxy (MOSN-compatible config) with a live terminal console.",
        discussion: manualDiscussion,
        version: SkiffVersion.string,
        subcommands: [Start.self, Stop.self, Reload.self, Demo.self, Top.self, Validate.self, Ctl.self]
    )
}

/// The root command's discussion: what `skiff --help` and the man page (scripts/install-cli-extras.sh) say beyond the
/// options — signals, the environment and where to read more.
private let manualDiscussion = """
    Signals: SIGTERM and SIGINT stop gracefully (no new connections; in-flight work finishes up to graceful_timeout); \
    SIGHUP re-reads the config file and applies it without dropping connections (an invalid file is refused and \
    nothing changes); SIGUSR1 reopens the log file and the access logs (for logrotate).

    Environment: NOTIFY_SOCKET and WATCHDOG_USEC (systemd's Type=notify: READY, RELOADING, STOPPING and watchdog \
    pings); SKIFF_CONTROL_SOCKET (the control socket skiff ctl, top, stop and reload use).

    Exit status: 0 on a clean stop, 1 on a refused config or a failed start.

    See README.md and docs/ in the source tree: architecture, TLS, xDS, the control protocol.
    """

enum SkiffVersion {
    static let string = "0.1.0"
}

/// Prints one line to stderr.
func printError(_ s: String) {
    var line = s
    if !line.hasSuffix("\n") { line += "\n" }
    _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
}

/// Loads and validates a config file, printing every problem on its own line; exits 1 on failure.
func loadConfigOrExit(_ path: String) throws -> SkiffConfiguration {
    try loadConfigWithTextOrExit(path).0
}

/// The config and the bytes it was decoded from, or every error printed and exit 1.
func loadConfigWithTextOrExit(_ path: String) throws -> (SkiffConfiguration, [UInt8]) {
    do {
        let loaded = try ConfigDecoder.loadWithText(path: path)
        return (loaded.config, loaded.text)
    } catch {
        for err in error.errors { printError("error: \(err)") }
        throw ExitCode(1)
    }
}

extension ThreadModel: ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a config file: prints \"ok\" and a summary, or every error with its path.")

    @Option(name: .shortAndLong, help: "Config file (MOSN JSON).")
    var config: String

    func run() throws {
        let c = try loadConfigOrExit(config)
        for w in c.warnings { printError("warning: \(w)") }
        // What only OpenSSL can check: PEM that parses, keys that match, ciphers and curves it knows.
        let tlsErrors = TLSRegistry.check(c)
        for e in tlsErrors { printError("error: \(e)") }
        if !tlsErrors.isEmpty { throw ExitCode(1) }
        print("ok: \(c.summary)")
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the proxy in the foreground until SIGINT or SIGTERM.")

    @Option(name: .shortAndLong, help: "Config file (MOSN JSON).")
    var config: String

    @Option(name: .customLong("thread-model"), help: "Override every listener's thread model: rwloop or netpoll.")
    var threadModel: ThreadModel?

    @Option(name: .customLong("service-node"), help: "xDS: this node's id (overrides the config's node.id), as MOSN's flag.")
    var serviceNode: String?

    @Option(
        name: .customLong("service-cluster"),
        help: "xDS: this node's cluster (overrides the config's node.cluster), as MOSN's flag.")
    var serviceCluster: String?

    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical (MOSN's WARN, FATAL too); default: the config's default_log_level, else info.")
    var logLevel: String?

    @Option(
        name: .customLong("log-format"),
        help: "text (default) or json: one JSON object per line with time, level, logger, message and metadata.")
    var logFormat: LogFormat = .text

    @Option(name: .customLong("control-socket"), help: "Control socket path (see `skiff ctl --help` for the default).")
    var controlSocket: String?

    @Option(name: .customLong("publish-interval"), help: "Telemetry frame interval in milliseconds.")
    var publishInterval: Int = 1000

    @Flag(help: "Run the console in-process on this terminal; on quit, choose to stop or keep running headless.")
    var tui = false

    @Option(help: "With --tui: show latency and write rates over this recent span (e.g. 10s, 1m).")
    var window = "10s"

    @Option(name: .customLong("pid-file"), help: "Write the pid here; refuse to start if a live skiff holds it.")
    var pidFile: String?

    @Option(
        name: .customLong("log-file"),
        help: "Log to this file (reopened on SIGUSR1); default: the config's default_log_path (stdout, stderr or a file), else stderr.")
    var logFile: String?

    @Flag(help: "Detach from the terminal and run in the background (needs --log-file; foreground is what systemd wants).")
    var daemonize = false

    @Flag(
        help: """
            Binary upgrade: take the listening sockets over from the skiff running on --control-socket (SCM_RIGHTS), \
            start, then ask the old process to stop accepting and drain. No connection is refused in between.
            """)
    var upgrade = false

    /// Parses, loads and checks the config, detaches when asked, and hands everything else to `SkiffServer`:
    /// signals, the pid file, reloads, the graceful stop and a binary upgrade's handover live there.
    func run() throws {
        // First of all, before any thread exists: SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 wait for the server's signal
        // thread. A SIGHUP (a reload racing a binary upgrade) or SIGUSR1 arriving while we start must not end the
        // process (their default action).
        let signals = ProcessSignals()
        if let flag = logLevel, LogSettings.level(named: flag) == nil {
            printError("error: --log-level: unknown level \"\(flag)\"")
            throw ExitCode(1)
        }
        let interval = FramePublisher.intervalRange
        guard interval.contains(publishInterval) else {
            printError(
                "error: --publish-interval: must be from \(interval.lowerBound) to \(interval.upperBound) "
                    + "(milliseconds), got \(publishInterval)")
            throw ExitCode(1)
        }
        let windowMs = try parseWindow(window)
        var (cfg, configText) = try loadConfigWithTextOrExit(config)
        if serviceNode != nil || serviceCluster != nil {
            guard cfg.xds != nil else {
                printError("error: --service-node and --service-cluster name this node to a control plane: the config has no dynamic_resources")
                throw ExitCode(1)
            }
            if let id = serviceNode { cfg.xds?.node.id = id }
            if let cluster = serviceCluster { cfg.xds?.node.cluster = cluster }
        }
        let logging: LogSettings
        do {
            logging = try LogSettings.resolve(levelFlag: logLevel, fileFlag: logFile, config: cfg)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let level = logging.level
        var logsToFile = false
        if case .file = logging.destination { logsToFile = true }
        if daemonize && !logsToFile {
            printError(
                "error: --daemonize needs --log-file or a file in default_log_path (a detached process has no terminal to log to)")
            throw ExitCode(1)
        }
        let socketPath = controlSocket ?? defaultControlSocket()
        // The control socket's directory, and (unless taking over) nobody serving the path: checked before anything
        // listens, so a second skiff on a served path prints one line and leaves nothing behind.
        do {
            try SocketDirectory.prepare(forSocket: socketPath)
            if !upgrade { try ControlServer.preflight(path: socketPath) }
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        // Before any thread exists: fork, new session, fork again, stdio to /dev/null. The launcher waits for the
        // daemon to say it started (exit 0) or why it could not (its error lines, exit 1).
        let launcher = daemonize ? try detach(signals: signals) : nil
        /// One error line, to stderr and to a launcher waiting for this daemon; exit 1.
        func fail(_ message: String) -> ExitCode {
            printError("error: \(message)")
            launcher?.report("error: \(message)")
            return ExitCode(1)
        }
        var logSink: LogFile?
        if case .file(let path) = logging.destination {
            do {
                logSink = try LogFile(path: path)
            } catch {
                throw fail("\(error)")
            }
        }
        let sink = logSink
        // `--tui` without a log file: the console owns the terminal, so lines are held in memory while it is open.
        let capture =
            tui && sink == nil
            ? ConsoleLogCapture(terminalFD: logging.destination == .standardOutput ? 1 : 2) : nil
        // One level for every handler, changeable at run time (`skiff ctl log-level`, the admin API).
        let runtimeLevel = RuntimeLogLevel(level)
        let format = logFormat
        LoggingSystem.bootstrap { label in
            if let f = sink { return LineLogHandler(file: f, label: label, format: format, runtimeLevel: runtimeLevel) }
            if let capture { return LineLogHandler(capture: capture, label: label, runtimeLevel: runtimeLevel) }
            let fd: Int32 = logging.destination == .standardOutput ? 1 : 2
            return LineLogHandler(standardStream: fd, label: label, format: format, runtimeLevel: runtimeLevel)
        }
        // A binary upgrade asks the old process for its sockets before anything here listens.
        var handover: Handover?
        if upgrade {
            do {
                handover = try Handover.receive(socketPath)
            } catch {
                throw fail("--upgrade: \(error)")
            }
        }
        var options = ServerOptions(
            config: cfg, configText: configText, configPath: config, controlSocketPath: socketPath)
        options.threadModelOverride = threadModel
        options.pidFilePath = pidFile
        options.publishIntervalMs = publishInterval
        options.logFile = logSink
        options.version = SkiffVersion.string
        options.readyAfterDynamicConfig = cfg.xds != nil
        options.logLevel = runtimeLevel
        // SIGUSR2: the binary now installed where this one was started from, with these arguments and --upgrade.
        options.successor = SuccessorCommand.installedExecutablePath().flatMap {
            SuccessorCommand.upgrading(executable: $0, startArguments: Array(CommandLine.arguments.dropFirst()))
        }
        let logger = Logger(label: "skiff")
        let server: SkiffServer
        do {
            server = try SkiffServer(options: options, logger: logger, signals: signals)
            try server.start(handover: handover)
        } catch {
            throw fail("\(error)")
        }
        // The xDS client, when the config names a control plane: it starts after everything in the file serves.
        let xds = XDSWiring.start(server, logger: logger)
        launcher?.started()
        if tui { runInProcessConsole(server, logger: logger, windowMs: windowMs, capture: capture) }
        server.waitUntilStopped()
        xds?.client.cancel()
    }

    /// `--tui`: the console on this terminal. SIGINT/SIGTERM or `skiff stop` end it (the server is stopping); `q`
    /// asks (one key) whether to stop or keep running headless, and a stop by signal or `skiff stop` while it asks
    /// ends the question. Without a log file, what was logged while the console was open is written out after it.
    private func runInProcessConsole(_ server: SkiffServer, logger: Logger, windowMs: UInt64, capture: ConsoleLogCapture?) {
        let engine = server.engine
        capture?.beginCapture()
        runConsole(
            source: InProcessSource(engine: engine, control: server.control, logs: capture), readOnly: false,
            inProcess: true, windowMs: windowMs, shouldStop: { server.isStopping })
        if let capture { writeHeldLogLines(capture) }
        if server.isStopping { return }
        switch askStopOrKeep(isStopping: { server.isStopping }) {
        case .keepRunning:
            let socketPath = server.options.controlSocketPath
            logger.info("\("console closed; running headless (skiff top --socket \(socketPath) attaches again)")")
        case .stop:
            server.requestStop(by: "the console")
        case .alreadyStopping:
            break
        }
    }
}

/// Ends the capture and writes what was held to the terminal, oldest first.
func writeHeldLogLines(_ capture: ConsoleLogCapture) {
    let (lines, dropped) = capture.endCapture()
    if dropped > 0 {
        ConsoleLogCapture.write("(\(dropped) earlier log lines of the console session were dropped)", to: capture.terminalFD)
    }
    for l in lines { ConsoleLogCapture.write(l.text, to: capture.terminalFD) }
}
