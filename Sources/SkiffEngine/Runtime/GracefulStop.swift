import Glibc
import SkiffNet

/// The runtime thread: events while serving, then the graceful stop.
extension SkiffServer {
    /// What the runtime thread knows of the stop under way.
    struct StopUnderWay {
        /// Monotonic nanoseconds before which the control socket must stay open (an answer to `stop` still
        /// leaving).
        var keepControlOpenUntil: UInt64 = 0

        mutating func keepControlOpen(forMs ms: Int) {
            guard ms > 0 else { return }
            keepControlOpenUntil = max(keepControlOpenUntil, MonotonicClock.now() + UInt64(ms) * 1_000_000)
        }
    }

    /// The runtime thread's body: serves events until a stop begins, drains, closes.
    func runtime() {
        var stop: StopUnderWay?
        while stop == nil {
            guard let event = events.next() else { continue }
            stop = handleWhileServing(event)
        }
        var underWay = stop!
        drain(&underWay)
        let wait = Int64(underWay.keepControlOpenUntil) - Int64(MonotonicClock.now())
        if wait > 0 { usleep(UInt32(min(wait / 1000, 1_000_000))) }
        closeEverything()
    }

    /// One event while serving; returns the stop it began, if any.
    private func handleWhileServing(_ event: ServerEvent) -> StopUnderWay? {
        switch event {
        case .signal(let signal) where signal.stops:
            logger.info("\("signal \(signal.name): stopping")")
            return beginStop(now: false, by: signal.name, replyGraceMs: 0)
        case .signal(let signal):
            handleHousekeeping(signal)
        case .stop(let now, let by, let grace):
            logger.info("\("stop requested by \(by)\(now ? " (now)" : ""): stopping")")
            return beginStop(now: now, by: by, replyGraceMs: grace)
        }
        return nil
    }

    private func beginStop(now: Bool, by: String, replyGraceMs: Int) -> StopUnderWay? {
        do {
            try transition(.stopRequested(now: now), by)
        } catch {
            engine.errors.record("stop requested by \(by)", error)
            return nil
        }
        var stop = StopUnderWay()
        stop.keepControlOpen(forMs: replyGraceMs)
        return stop
    }

    /// Graceful stop: no new connections; in-flight requests, streams and sessions get up to `graceful_timeout`;
    /// a second SIGINT/SIGTERM (or `skiff stop --now`) ends the wait at once. Reloads are refused meanwhile.
    private func drain(_ stop: inout StopUnderWay) {
        engine.stopAccepting()
        let limitNs = Connection.nanoseconds(engine.gracefulTimeout)
        let started = MonotonicClock.now()
        if !lifecycle.withLock({ $0.stopAtOnce }) && engine.inFlight > 0 {
            logger.info(
                "\("waiting up to \(limitNs / 1_000_000_000) s for \(engine.inFlight) in-flight requests and sessions")"
            )
        }
        while !lifecycle.withLock({ $0.stopAtOnce }) && engine.inFlight > 0 && MonotonicClock.now() - started < limitNs
        {
            guard let event = events.next(timeoutMs: 50) else { continue }
            switch event {
            case .signal(let signal) where signal.stops:
                logger.info("second signal: stopping now")
                transitionOrRecord(.stopRequested(now: true), signal.name)
            case .signal(let signal):
                handleHousekeeping(signal)
            case .stop(_, let by, let grace):
                logger.info("\("stop requested again by \(by): stopping now")")
                stop.keepControlOpen(forMs: grace)
                transitionOrRecord(.stopRequested(now: true), by)
            }
        }
        let left = engine.inFlight
        if left > 0 { logger.warning("\("closing with \(left) still in flight")") }
    }

    /// The signals that do not stop: SIGHUP reloads, SIGUSR1 reopens the log, while serving and while draining alike;
    /// SIGUSR2 starts a binary upgrade (refused unless running).
    private func handleHousekeeping(_ signal: ServerSignal) {
        switch signal {
        case .reload: reloadOnSignal()
        case .reopenLogs: reopenLogs()
        case .upgrade: startSuccessor()
        default: break
        }
    }

    /// SIGHUP: reload the config file in place; a refusal keeps the running config and says why.
    private func reloadOnSignal() {
        do {
            let report = try reload(by: "SIGHUP")
            logger.notice("\("SIGHUP: reloaded: \(report.summary.split(separator: "\n").joined(separator: "; "))")")
        } catch {
            logger.error("\("SIGHUP: reload refused, the running config stays: \(error)")")
        }
    }

    /// SIGUSR1: reopen the log file and every access-log file (logrotate has renamed them). A failure is recorded:
    /// the lines go on to the old file, whose name has changed.
    private func reopenLogs() {
        if engine.accessLogs.fileCount > 0 {
            logger.info("\("access logs reopened (\(engine.reopenAccessLogs()) files)")")
        }
        guard let file = options.logFile else {
            logger.info("SIGUSR1: no log file to reopen")
            return
        }
        do {
            try file.reopen()
            logger.info("log file reopened")
        } catch {
            engine.errors.record("SIGUSR1: reopening the log file", error)
        }
    }
}
