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

/// Prints one line to stderr (and, in a daemon still starting, to its launcher, which prints it in turn).
func printError(_ s: String) {
    var line = s
    if !line.hasSuffix("\n") { line += "\n" }
    _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
    if daemonReportFD >= 0 { _ = line.withCString { Glibc.write(daemonReportFD, $0, strlen($0)) } }
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
        for w in c.warnings { printError("warning: \(w)") }
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
        // First of all: a SIGHUP (a reload racing a binary upgrade) or SIGUSR1 arriving while we start must wait for
        // the loop below, not end the process (their default action).
        let signals = SignalSet([SIGINT, SIGTERM, SIGHUP, SIGUSR1])
        signals.block()
        guard let level = Logger.Level(rawValue: logLevel) else {
            printError("error: --log-level: unknown level \"\(logLevel)\"")
            throw ExitCode(1)
        }
        let interval = FramePublisher.intervalRange
        guard interval.contains(publishInterval) else {
            printError(
                "error: --publish-interval: must be from \(interval.lowerBound) to \(interval.upperBound) "
                    + "(milliseconds), got \(publishInterval)")
            throw ExitCode(1)
        }
        if daemonize && logFile == nil {
            printError("error: --daemonize needs --log-file (a detached process has no terminal to log to)")
            throw ExitCode(1)
        }
        let (cfg, configText) = try loadConfigWithTextOrExit(config)
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
        if daemonize {
            // Before any thread exists: fork, new session, fork again, stdio to /dev/null. The launcher waits for the
            // daemon to say it started (exit 0) or why it could not (its error lines, exit 1).
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
        let engine: Engine
        do {
            engine = try Engine(
                config: cfg, threadModelOverride: threadModel, logger: logger, version: SkiffVersion.string,
                configPath: config, configText: configText)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        engine.publisher.intervalMs.store(publishInterval, ordering: .relaxed)
        // `stop` over the control socket: the reply goes out first, then the same path as SIGTERM.
        let backend = EngineControl(engine: engine) { now in
            if now { immediateStop.store(true, ordering: .relaxed) }
            try? NetThread.start(name: "skiff-stop") {
                usleep(200_000)
                kill(getpid(), SIGTERM)
            }
        }
        // The admin API before the listeners: a port taken by another skiff is refused with nothing else listening.
        // On a binary upgrade it serves the socket the old process handed over.
        var admin: AdminHTTPServer?
        if let a = cfg.admin {
            do {
                admin = try startAdmin(a, engine: engine, control: backend, handover: handover, logger: logger)
            } catch {
                printError("error: \(error)")
                handover?.closeUnused()
                throw ExitCode(1)
            }
        }
        handover?.closeAdminSocket()
        let control: ControlServer
        do {
            if let h = handover { engine.inheritListeners(h.sockets) }
            try engine.start()
            var cc = ControlServer.Configuration(path: socketPath)
            cc.takeOver = handover != nil
            control = ControlServer(configuration: cc, backend: backend)
            try control.start()
        } catch {
            printError("error: \(error)")
            admin?.stop()
            engine.stop()
            throw ExitCode(1)
        }
        backend.adminSocket = { [weak admin] in
            guard let admin, let a = cfg.admin, let fd = admin.duplicateListeningDescriptor() else { return nil }
            return (a.address.description, fd)
        }
        logger.info("control socket \(socketPath)")
        if let h = handover {
            // Serving on the same sockets now: the old process may stop accepting and drain.
            h.finish()
            logger.notice("\("took over \(h.sockets.count) listening sockets from pid \(h.oldPID); it drains and exits")")
        }
        logger.info("skiff \(SkiffVersion.string) started, pid \(getpid()), config \(config)")
        daemonStarted()
        if tui {
            // The console owns the terminal; SIGINT/SIGTERM end it (the sigwait below then sees no signal, so the
            // console's own answer decides: stop, or keep running headless).
            signals.unblock()
            engine.publisher.intervalMs.store(250, ordering: .relaxed)
            runConsole(source: InProcessSource(engine: engine, control: backend), readOnly: false, inProcess: true)
            engine.publisher.intervalMs.store(publishInterval, ordering: .relaxed)
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
                let report = try backend.reload()
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

    /// The admin API on `a.address` with the engine's routes and the access policy (`admin.token`): on the socket a
    /// binary upgrade handed over when there is one for that address, else bound here. The port is never shared
    /// with another skiff (SO_REUSEPORT only when upgrading from a skiff that did not hand its admin socket over).
    func startAdmin(
        _ a: AdminConfig, engine: Engine, control: EngineControl, handover: Handover?, logger: Logger
    ) throws -> AdminHTTPServer {
        var c = AdminHTTPServer.Configuration(port: a.address.port)
        c.host = a.address.host
        c.access = .forAddress(host: a.address.host, port: a.address.port, token: a.token)
        if let h = handover {
            if let fd = h.takeAdminSocket(address: a.address.description) {
                c.inheritedFD = fd
            } else if !h.handedAdminSocket {
                c.reusePort = true
            }
        }
        let server = AdminHTTPServer(configuration: c)
        engine.installAdminAPI(on: server, control: control)
        try server.start()
        if !c.access!.loopbackOnly {
            if a.token == nil {
                let warning =
                    "admin API on \(a.address) listens beyond loopback without admin.token: it serves reads only; "
                    + "set admin.token to change host states through it"
                logger.warning("\(warning)")
            } else {
                logger.notice("admin API on \(a.address) listens beyond loopback: changes need admin.token")
            }
        }
        logger.info("admin API on \(a.address.host):\(server.port)")
        return server
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

/// The write end of the pipe a daemon reports its start-up on (see `detach`); -1 when not daemonized or once done.
nonisolated(unsafe) var daemonReportFD: Int32 = -1

/// Classic double fork, with the launcher waiting for the daemon's word: the daemon writes its error lines (through
/// `printError`) or "started" to a pipe the launcher reads, so `skiff start --daemonize` exits 0 once the daemon
/// serves, or prints why it could not (a port in use, a pid file held) and exits 1.
func detach() throws {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { throw CLIError("pipe: \(String(cString: strerror(errno)))") }
    for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // no thread exists yet: nothing can exec between
    let first = fork()
    if first < 0 { throw CLIError("fork: \(String(cString: strerror(errno)))") }
    if first > 0 {
        // The launcher stays interruptible while it waits (the caller blocked the stop signals for the daemon).
        SignalSet([SIGINT, SIGTERM]).unblock()
        close(ends[1])
        var status: Int32 = 0
        waitpid(first, &status, 0)
        exit(launcherVerdict(readEnd: ends[0]))
    }
    close(ends[0])
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
    daemonReportFD = ends[1]
}

/// The launcher's side: copies the daemon's error lines to stderr until "started" (0) or the pipe closes (1).
/// Gives up after two minutes without a verdict (2).
private func launcherVerdict(readEnd fd: Int32) -> Int32 {
    var text: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    let deadline = time(nil) + 120
    while time(nil) < deadline {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, 1000) <= 0 { continue }
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 {
            let said = String(decoding: text, as: UTF8.self)
            if !said.isEmpty { _ = said.withCString { write(2, $0, strlen($0)) } }
            if said.isEmpty { printError("error: the daemon exited while starting (see its log file)") }
            return 1
        }
        text += buf[0..<n]
        if let zero = text.firstIndex(of: 0) {
            if zero > 0 { _ = text[..<zero].withUnsafeBytes { write(2, $0.baseAddress, $0.count) } }
            return 0
        }
    }
    printError("error: no word from the daemon after 120 s (still starting? see its log file)")
    return 2
}

/// The daemon has started: tell the launcher (a NUL byte) and close the pipe.
func daemonStarted() {
    guard daemonReportFD >= 0 else { return }
    var zero: UInt8 = 0
    _ = write(daemonReportFD, &zero, 1)
    close(daemonReportFD)
    daemonReportFD = -1
}
