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
        version: SkiffVersion.string,
        subcommands: [Start.self, Stop.self, Reload.self, Demo.self, Top.self, Validate.self, Ctl.self]
    )
}

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

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a config file: prints \"ok\" and a summary, or every error with its path.")

    @Option(name: .shortAndLong, help: "Config file (MOSN JSON).")
    var config: String

    func run() throws {
        let c = try loadConfigOrExit(config)
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

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("control-socket"), help: "Control socket path (see `skiff ctl --help` for the default).")
    var controlSocket: String?

    @Option(name: .customLong("publish-interval"), help: "Telemetry frame interval in milliseconds.")
    var publishInterval: Int = 1000

    @Flag(help: "Run the console in-process on this terminal; on quit, choose to stop or keep running headless.")
    var tui = false

    @Option(name: .customLong("pid-file"), help: "Write the pid here; refuse to start if a live skiff holds it.")
    var pidFile: String?

    @Option(name: .customLong("log-file"), help: "Log to this file (reopened on SIGUSR1) instead of stderr.")
    var logFile: String?

    @Flag(help: "Detach from the terminal and run in the background (needs --log-file; foreground is what systemd wants).")
    var daemonize = false

    @Flag(
        help: """
            Binary upgrade: take the listening sockets over from the skiff running on --control-socket (SCM_RIGHTS), \
            start, then ask the old process to stop accepting and drain. No connection is refused in between.
            """)
    var upgrade = false

    func run() throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            printError("error: --log-level: unknown level \"\(logLevel)\"")
            throw ExitCode(1)
        }
        let (cfg, configText) = try loadConfigWithTextOrExit(config)
        if daemonize {
            guard logFile != nil else {
                printError("error: --daemonize needs --log-file (a detached process has no terminal to log to)")
                throw ExitCode(1)
            }
            // Before any thread exists: fork, new session, fork again, stdio to /dev/null.
            try detach()
        }
        var logSink: LogFile?
        if let path = logFile {
            do {
                logSink = try LogFile(path: path)
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
        }
        let sink = logSink
        LoggingSystem.bootstrap { label in
            if let f = sink {
                var h = FileLogHandler(file: f, label: label)
                h.logLevel = level
                return h
            }
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let socketPath = controlSocket ?? defaultControlSocket()
        // A binary upgrade asks the old process for its sockets before anything here listens.
        var handover: Handover?
        if upgrade {
            do {
                handover = try Handover.receive(socketPath)
            } catch {
                printError("error: --upgrade: \(error)")
                throw ExitCode(1)
            }
        }
        var pid: PIDFile?
        if let path = pidFile {
            switch PIDFile.claim(path, takingOverFrom: handover?.oldPID) {
            case .success(let p): pid = p
            case .failure(let e):
                printError("error: \(e)")
                throw ExitCode(1)
            }
        }
        defer { pid?.remove() }
        let logger = Logger(label: "skiff")
        // Block the stop signals before any thread starts, so every thread inherits the mask and only the main
        // thread's sigwait sees them.
        let signals = SignalSet([SIGINT, SIGTERM, SIGHUP, SIGUSR1])
        signals.block()
        let engine: Engine
        let control: ControlServer
        var admin: AdminHTTPServer?
        do {
            engine = try Engine(
                config: cfg, threadModelOverride: threadModel, logger: logger, version: SkiffVersion.string,
                configPath: config, configText: configText)
            engine.publisher.intervalMs.store(max(50, publishInterval), ordering: .relaxed)
            if let h = handover { engine.inheritListeners(h.sockets) }
            try engine.start()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        // `stop` over the control socket: the reply goes out first, then the same path as SIGTERM.
        let backend = EngineControl(engine: engine) { now in
            if now { immediateStop.store(true, ordering: .relaxed) }
            try? NetThread.start(name: "skiff-stop") {
                usleep(200_000)
                kill(getpid(), SIGTERM)
            }
        }
        // The admin API first: on a binary upgrade nothing may be taken over from the old process (its control
        // socket path) until every part of this one has started.
        do {
            if let a = cfg.admin {
                var c = AdminHTTPServer.Configuration(port: a.address.port)
                c.host = a.address.host
                c.reusePort = true  // a binary upgrade binds it while the old process still serves it
                let server = AdminHTTPServer(configuration: c)
                engine.installAdminAPI(on: server, control: backend)
                try server.start()
                admin = server
                if !(a.address.host.hasPrefix("127.") || a.address.host == "::1" || a.address.host == "localhost") {
                    logger.warning("admin API listens on \(a.address), beyond loopback: anyone who reaches it can change host states")
                }
                logger.info("admin API on \(a.address.host):\(server.port)")
            }
            ensureSocketDirectory(socketPath)
            var cc = ControlServer.Configuration(path: socketPath)
            cc.takeOver = handover != nil
            cc.commands.insert("events")
            control = ControlServer(configuration: cc, backend: backend)
            try control.start()
        } catch {
            printError("error: \(error)")
            admin?.stop()
            engine.stop()
            throw ExitCode(1)
        }
        logger.info("control socket \(socketPath)")
        if let h = handover {
            // Serving on the same sockets now: the old process may stop accepting and drain.
            h.finish()
            logger.notice("\("took over \(h.sockets.count) listening sockets from pid \(h.oldPID); it drains and exits")")
        }
        logger.info("skiff \(SkiffVersion.string) started, pid \(getpid()), config \(config)")
        if tui {
            // The console owns the terminal; SIGINT/SIGTERM end it (the sigwait below then sees no signal, so the
            // console's own answer decides: stop, or keep running headless).
            signals.unblock()
            engine.publisher.intervalMs.store(250, ordering: .relaxed)
            runConsole(source: InProcessSource(engine: engine, control: backend), readOnly: false, inProcess: true)
            engine.publisher.intervalMs.store(max(50, publishInterval), ordering: .relaxed)
            if !askKeepRunning() {
                control.stop()
                admin?.stop()
                engine.stop()
                logger.info("stopped")
                return
            }
            signals.block()
            logger.info("console closed; running headless (skiff top --socket \(socketPath) attaches again)")
        }
        while true {
            let sig = signals.wait()
            if sig == SIGINT || sig == SIGTERM {
                logger.info("signal \(sig == SIGINT ? "SIGINT" : "SIGTERM"): stopping")
                break
            }
            if sig == SIGUSR1 {
                do {
                    try logSink?.reopen()
                    logger.info("log file reopened")
                } catch {
                    printError("error: \(error)")
                }
                continue
            }
            // SIGHUP: reload the config file in place.
            do {
                let report = try engine.reloadFromFile()
                logger.notice("\("SIGHUP: reloaded: \(report.summary.split(separator: "\n").joined(separator: "; "))")")
            } catch {
                logger.error("\("SIGHUP: reload refused, the running config stays: \(error)")")
            }
        }
        // Graceful stop: no new connections; in-flight requests, streams and sessions get up to graceful_timeout;
        // a second SIGINT/SIGTERM (or `skiff stop --now`) stops at once.
        engine.stopAccepting()
        let limitMs = Int(Connection.nanoseconds(engine.gracefulTimeout) / 1_000_000)
        var waitedMs = 0
        if !immediateStop.load(ordering: .relaxed) && engine.inFlight > 0 {
            logger.info("\("waiting up to \(limitMs / 1000) s for \(engine.inFlight) in-flight requests and sessions")")
        }
        while !immediateStop.load(ordering: .relaxed) && engine.inFlight > 0 && waitedMs < limitMs {
            if let again = signals.wait(timeoutMs: 50), again == SIGINT || again == SIGTERM {
                logger.info("second signal: stopping now")
                break
            }
            waitedMs += 50
        }
        if engine.inFlight > 0 { logger.warning("\("closing with \(engine.inFlight) still in flight")") }
        control.stop()
        admin?.stop()
        engine.stop()
        logger.info("stopped")
    }
}

/// A set of signals to block and wait for synchronously.
struct SignalSet {
    var set = sigset_t()

    init(_ signals: [Int32]) {
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
    }

    func block() {
        var s = set
        pthread_sigmask(SIG_BLOCK, &s, nil)
    }

    func unblock() {
        var s = set
        pthread_sigmask(SIG_UNBLOCK, &s, nil)
    }

    func wait() -> Int32 {
        var s = set
        var sig: Int32 = 0
        sigwait(&s, &sig)
        return sig
    }
}


/// After the in-process console quits: stop the proxy, or keep it running headless? (Default: stop.)
func askKeepRunning() -> Bool {
    if stopRequested.load(ordering: .relaxed) { return false }
    
    print("console closed: (s)top skiff or (k)eep it running headless? [s/k] ", terminator: "")
    fflush(nil)
    guard let line = readLine() else { return false }
    return line.trimmingCharacters() == "k"
}

extension String {
    func trimmingCharacters() -> String { String(filter { !$0.isWhitespace }) }
}

/// Classic double fork: the launcher exits 0 at once; the grandchild runs on, detached from the terminal.
func detach() throws {
    let first = fork()
    if first < 0 { throw CLIError("fork: \(String(cString: strerror(errno)))") }
    if first > 0 { exit(0) }
    setsid()
    let second = fork()
    if second < 0 { exit(1) }
    if second > 0 { exit(0) }
    let null = open("/dev/null", O_RDWR)
    if null >= 0 {
        dup2(null, 0)
        dup2(null, 1)
        dup2(null, 2)
        if null > 2 { close(null) }
    }
    umask(0o022)
}
