import Glibc
import Logging
import SkiffConfig
import SkiffControl
import SkiffNet
import Synchronization

/// What a server runs: the config, and where its pid file, control socket and log file go.
public struct ServerOptions: Sendable {
    public var config: SkiffConfiguration
    /// The bytes the config was decoded from (`config.dump`).
    public var configText: [UInt8]
    /// The file SIGHUP and `skiff reload` re-read.
    public var configPath: String
    public var threadModelOverride: ThreadModel?
    public var controlSocketPath: String
    /// `--pid-file` (see `PidFile` for the rules).
    public var pidFilePath: String?
    /// The telemetry frame interval, milliseconds.
    public var publishIntervalMs = 1000
    /// `--log-file`, reopened on SIGUSR1. Without one, SIGUSR1 is logged and ignored.
    public var logFile: LogFile?
    public var version = "dev"
    /// Ready (sd_notify `READY=1`, `GET /ready`) only once the control plane's first config is in, not when the
    /// file's listeners are bound (a config with `dynamic_resources`).
    public var readyAfterDynamicConfig = false
    /// The process's log level, when it can be changed at run time (`log.level`, `POST /api/v1/update_loglevel`).
    public var logLevel: RuntimeLogLevel?
    /// What SIGUSR2 starts as this process's successor (a binary upgrade); nil: SIGUSR2 is logged and ignored.
    public var successor: SuccessorCommand?

    public init(config: SkiffConfiguration, configText: [UInt8] = [], configPath: String, controlSocketPath: String) {
        self.config = config
        self.configText = configText
        self.configPath = configPath
        self.controlSocketPath = controlSocketPath
    }
}

/// A running skiff: the engine with its control socket, admin API and pid file, and the runtime that steers them
/// through their life (`ServerLifecycle`: starting, running, reloading, draining, stopped).
///
/// `start` binds everything or nothing and returns serving. From then on a thread of its own (`skiff-runtime`)
/// acts on what arrives, in order: signals from the `SignalSource` (SIGTERM/SIGINT graceful stop, a second one stops
/// at once; SIGHUP reload; SIGUSR1 reopen the log file) and stop requests (`skiff stop`, `requestStop`). A graceful
/// stop stops accepting, waits for in-flight requests, streams and sessions up to the server's `graceful_timeout`,
/// then closes the control socket, the admin API and the engine and removes the pid file.
///
/// ```swift
/// let server = try SkiffServer(options: options, logger: logger, signals: ProcessSignals())
/// try server.start()
/// server.waitUntilStopped()
/// ```
///
/// Threads: `start` from one thread, once. `requestStop`, `reload`, `state` and `waitUntilStopped` from any thread.
/// The lifecycle value is kept under a mutex; reloads are serialised; everything else the runtime thread does alone.
public final class SkiffServer: ServerRuntime, @unchecked Sendable {  // see `Threads`; start-time fields below
    public let options: ServerOptions
    public let engine: Engine
    /// Answers the control socket and the admin API (and the in-process console) from the engine and this server.
    public private(set) var control: EngineControl!
    let logger: Logger
    let signals: any SignalSource
    let lifecycle = Mutex(ServerLifecycle())
    /// Held across a reload: one at a time (a second waits, as before the state existed).
    private let reloads = Mutex(())
    let events = ServerEventQueue()
    /// `start` runs once.
    private let startCalled = Atomic<Bool>(false)
    /// systemd's notification socket, when started by systemd with `Type=notify`.
    let notifier = SystemdNotifier.fromEnvironment()
    /// The control plane's first config is in (always true without one).
    private let dynamicConfigIn: Atomic<Bool>
    /// The runtime thread's life: `waitUntilStopped` waits for it to finish.
    private let runtimeThread = StoppableSleep()
    /// The successor SIGUSR2 started and that has not exited (0: none; -1: being started).
    let successorPID = Atomic<Int32>(0)

    // Written by `start` before the runtime thread exists; read by that thread afterwards.
    private var controlServer: ControlServer?
    private var admin: AdminHTTPServer?
    /// MOSN's prometheus sink (`metrics.sinks`), when the config has one.
    private var metricsSink: AdminHTTPServer?
    private var pidFile: PidFile?

    /// Builds the engine (clusters and hosts; nothing listens yet). Throws the config's problems at that level.
    public init(options: ServerOptions, logger: Logger, signals: any SignalSource) throws(EngineError) {
        self.options = options
        self.logger = logger
        self.signals = signals
        dynamicConfigIn = Atomic(!options.readyAfterDynamicConfig)
        engine = try Engine(
            config: options.config, threadModelOverride: options.threadModelOverride, logger: logger,
            version: options.version, configPath: options.configPath, configText: options.configText)
        control = EngineControl(engine: engine, runtime: self)
    }

    // MARK: - State

    public var state: ServerState { lifecycle.withLock { $0.state } }

    /// A stop has begun (draining) or is over.
    public var isStopping: Bool { state == .draining || state == .stopped }

    /// The whole lifecycle value (state and flags), for tests and diagnostics.
    public var lifecycleSnapshot: ServerLifecycle { lifecycle.withLock { $0 } }

    /// Applies `event` to the lifecycle; logs and records a change of state.
    @discardableResult
    func transition(_ event: LifecycleEvent, _ why: String) throws(LifecycleRefusal) -> LifecycleTransition {
        let t = try lifecycle.withLock { l throws(LifecycleRefusal) in try l.apply(event) }
        if t.from != t.to {
            // A failed start is the caller's one error line: the transition is only a debug line then.
            let level: Logger.Level = event == .startFailed ? .debug : .info
            logger.log(level: level, "\("state \(t.from.rawValue) -> \(t.to.rawValue) (\(why))")")
            engine.hub.event(.serverState(.init(from: t.from.rawValue, to: t.to.rawValue, why: why)))
            notifySystemd(t.to, why)
        }
        return t
    }

    public var runtimeLogLevel: RuntimeLogLevel? { options.logLevel }

    /// Serving and, with a control plane, configured by it: `GET /ready` says LIVE, systemd has had `READY=1`.
    public var isReady: Bool {
        let s = state
        return (s == .running || s == .reloading) && dynamicConfigIn.load(ordering: .relaxed)
    }

    /// The control plane's first config is in (or its initial-fetch wait is over): ready from now on.
    public func dynamicConfigInitialized() {
        guard !dynamicConfigIn.exchange(true, ordering: .relaxed) else { return }
        if state == .running { notifier?.ready(status: "serving, configured by the control plane") }
    }

    /// The state as systemd's `Type=notify` wants it: READY after start (or after the control plane's first config)
    /// and after a reload, RELOADING during one, STOPPING once a stop began.
    /// Once a binary upgrade's successor holds the sockets, the service is its to speak for: `handingOver` silences
    /// the notifier.
    private func notifySystemd(_ to: ServerState, _ why: String) {
        guard let notifier else { return }
        switch to {
        case .running where dynamicConfigIn.load(ordering: .relaxed): notifier.ready(status: "serving")
        case .reloading: notifier.reloading()
        case .draining: notifier.stopping(status: "draining (\(why))")
        default: break
        }
    }

    /// A transition that cannot be refused in any state the server can be in; a refusal is a bug, recorded.
    func transitionOrRecord(_ event: LifecycleEvent, _ why: String) {
        do {
            try transition(event, why)
        } catch {
            engine.errors.record("lifecycle: \(event) (\(why))", error)
        }
    }

    // MARK: - Start

    /// Claims the pid file, starts the admin API, the listeners and the control socket, then the runtime thread
    /// and the signal source. On a binary upgrade (`handover`), serves the sockets received and then tells the old
    /// process to drain. Throws with nothing left running (and the pid file not claimed) when anything fails.
    public func start(handover: (any UpgradeHandover)? = nil) throws(EngineError) {
        guard !startCalled.exchange(true, ordering: .relaxed) else {
            throw EngineError("this server has been started already (a stopped server cannot start again)")
        }
        do {
            try startServing(handover)
        } catch {
            transitionOrRecord(.startFailed, "\(error)")
            throw error
        }
        transitionOrRecord(.started, "everything listens")
        do {
            try notifier?.startWatchdog(asMainProcess: handover != nil)
        } catch {
            engine.errors.record("systemd watchdog thread", error)
        }
        do {
            runtimeThread.began()
            try NetThread.start(name: "skiff-runtime", stackSize: 512 * 1024) { [self] in
                runtime()
                runtimeThread.finished()
            }
        } catch {
            runtimeThread.finished()
            signals.stop()
            transitionOrRecord(.stopRequested(now: true), "the runtime thread could not start")
            closeEverything()
            throw EngineError("runtime thread: \(error)")
        }
        logger.info("\("skiff \(options.version) started, pid \(getpid()), config \(options.configPath)")")
    }

    private func startServing(_ handover: (any UpgradeHandover)?) throws(EngineError) {
        if let path = options.pidFilePath {
            do {
                pidFile = try PidFile.claim(path, takingOverFrom: handover?.oldPID)
            } catch {
                handover?.closeUnused()
                throw EngineError(error.message)
            }
        }
        engine.publisher.intervalMs.store(options.publishIntervalMs, ordering: .relaxed)
        // The admin API before the listeners: a port taken by another skiff is refused with nothing else listening.
        // On a binary upgrade it serves the socket the old process handed over.
        if let a = options.config.admin {
            do {
                admin = try startAdmin(a, handover: handover)
            } catch {
                handover?.closeUnused()
                pidFile?.remove()
                throw EngineError("\(error)")
            }
        }
        handover?.closeAdminSocket()
        if let sink = options.config.metrics?.prometheus {
            do {
                metricsSink = try startMetricsSink(sink, handover: handover)
            } catch {
                admin?.stop()
                handover?.closeUnused()
                pidFile?.remove()
                throw EngineError("metrics sink: \(error)")
            }
        }
        handover?.closeMetricsSocket()
        do {
            if let h = handover { engine.inheritListeners(h.sockets) }
            try engine.start()
            var cc = ControlServer.Configuration(path: options.controlSocketPath)
            cc.takeOver = handover != nil
            let server = ControlServer(configuration: cc, backend: control)
            try server.start()
            controlServer = server
        } catch {
            admin?.stop()
            metricsSink?.stop()
            engine.stop()
            pidFile?.remove()
            throw EngineError("\(error)")
        }
        if let server = admin, let a = options.config.admin {
            control.adminSocket = { [weak server] in
                guard let server, let fd = server.duplicateListeningDescriptor() else { return nil }
                return (a.address.description, fd)
            }
        }
        if let server = metricsSink, let m = options.config.metrics?.prometheus {
            control.metricsSocket = { [weak server] in
                guard let server, let fd = server.duplicateListeningDescriptor() else { return nil }
                return (m.address.description, fd)
            }
        }
        do {
            try signals.start { [weak self] signal in self?.events.post(.signal(signal)) }
        } catch {
            controlServer?.stop()
            admin?.stop()
            metricsSink?.stop()
            engine.stop()
            pidFile?.remove()
            throw EngineError("signal thread: \(error)")
        }
        logger.info("\("control socket \(options.controlSocketPath)")")
        if let h = handover {
            // Serving on the same sockets now: under systemd this process becomes the service's main one before the
            // old process stops (its exit must not read as the service's); then it may stop accepting and drain.
            notifier?.becomeMainProcess()
            do {
                try h.finish()
            } catch {
                engine.errors.record(
                    "binary upgrade: asking pid \(h.oldPID) to stop (it still serves beside this process; stop it "
                        + "by hand)", error)
            }
            logger.notice(
                "\("took over \(h.sockets.count) listening sockets from pid \(h.oldPID); it drains and exits")")
        }
    }

    // MARK: - Requests from other threads

    /// Asks for a graceful stop (`now`: without the wait). Returns at once; `waitUntilStopped` waits for the end.
    public func requestStop(now: Bool = false, by: String = "request") {
        requestStop(now: now, by: by, replyGraceMs: 0)
    }

    public func requestStop(now: Bool, by: String, replyGraceMs: Int) {
        events.post(.stop(now: now, by: by, replyGraceMs: replyGraceMs))
    }

    /// Re-reads and applies the config file (SIGHUP, `skiff reload`): running -> reloading -> running. Refused while
    /// starting or stopping, and while a binary upgrade's new process (alive) holds the sockets. One at a time.
    public func reload(by origin: String) throws(EngineError) -> ReloadReport {
        try reloads.withLock { _ throws(EngineError) in
            if let pid = lifecycle.withLock({ $0.handedOverTo }), !(kill(pid, 0) == 0 || errno == EPERM) {
                transitionOrRecord(.handoverAbandoned, "pid \(pid), which took the sockets, has gone")
                notifier?.resume()
            }
            do throws(LifecycleRefusal) {
                try transition(.reloadBegan, origin)
            } catch {
                throw EngineError(error.description)
            }
            defer { transitionOrRecord(.reloadEnded, origin) }
            return try engine.reloadFromFile()
        }
    }

    public func handingOver(to pid: Int32) {
        do {
            try transition(.handedOver(to: pid), "binary upgrade")
            notifier?.handOver()
        } catch {
            logger.warning("\("binary upgrade to pid \(pid) while \(state.rawValue): \(error)")")
        }
    }

    /// Waits until the server has stopped (everything closed), at most `timeoutMs` when given; returns whether it
    /// has. Returns at once when `start` failed or never ran.
    @discardableResult
    public func waitUntilStopped(timeoutMs: Int? = nil) -> Bool {
        runtimeThread.waitUntilFinished(timeoutMs: timeoutMs)
    }

    // MARK: - Closing

    /// Closes the control socket, the admin API, the metrics sink and the engine; removes the pid file; stops the
    /// signal source.
    func closeEverything() {
        controlServer?.stop()
        admin?.stop()
        metricsSink?.stop()
        engine.stop()
        pidFile?.remove()
        signals.stop()
        transitionOrRecord(.finished, "everything closed")
        logger.info("stopped")
    }
}
