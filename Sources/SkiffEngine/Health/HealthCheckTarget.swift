import SkiffConfig
import SkiffNet
import SkiffUpstream
import Synchronization

/// What the checker's targets share: the stop flag, the transition callback and the poller they run on.
final class HealthCheckContext: @unchecked Sendable {
    /// Set by `HealthChecker.stop()` before the targets are halted; results after it are dropped.
    let stopped = Atomic<Bool>(false)
    let onTransition: HealthChecker.TransitionHandler
    /// Set once by `start()` before anything runs on the poller; read only there afterwards.
    var poller: Poller!
    /// Poller-confined: reviews the outlier detectors' ejections.
    var outlierTicker: OutlierTicker?

    init(onTransition: @escaping HealthChecker.TransitionHandler) {
        self.onTransition = onTransition
    }
}

/// The checks of one host: two re-armed timers (the next check, the current check's deadline), the connection of the
/// check in flight, and the bytes it answered. At most one check is in flight; the next is scheduled when it ends.
///
/// Threads: everything but `nextCheckAtMs` is confined to the checker's poller. The target is the handler of its own
/// check connections, opened without workers, so their callbacks run inline on that poller too. Hence
/// `@unchecked Sendable`.
final class HealthCheckTarget: ConnectionHandler, @unchecked Sendable {
    enum Phase { case idle, connecting, waiting }

    let cluster: Cluster
    let host: Host
    let probe: HealthProbe
    let context: HealthCheckContext
    /// Wall-clock ms of the next check, 0 when none is scheduled (stopped). Read from any thread.
    let nextCheckAtMs = Atomic<UInt64>(0)

    private let intervalNs: UInt64
    private let unhealthyIntervalNs: UInt64?
    private let jitterNs: UInt64
    private let initialDelayNs: UInt64
    private let timeoutNs: UInt64
    private let timeout: Duration
    /// Over TLS when the cluster's upstreams use it (and the host has no `tls_disable`).
    private let options: ConnectionOptions
    private let label: String

    // Poller-confined.
    private var tickTimer: PollerTimer!
    private var deadlineTimer: PollerTimer!
    private var phase = Phase.idle
    private var connection: Connection?
    private var startNs: UInt64 = 0
    private var answer: [UInt8] = []
    private var requestID: UInt64 = 0
    private var random = SystemRandomNumberGenerator()

    init(cluster: Cluster, host: Host, config: HealthCheckConfig, context: HealthCheckContext) {
        self.cluster = cluster
        self.host = host
        self.context = context
        self.probe = HealthProbe(config: config, hostHeader: config.httpHost ?? host.config.hostname ?? host.description)
        self.intervalNs = Self.ns(config.interval)
        self.unhealthyIntervalNs = config.unhealthyInterval.map(Self.ns)
        self.jitterNs = Self.ns(config.intervalJitter)
        self.initialDelayNs = Self.ns(config.initialDelay)
        self.timeoutNs = Self.ns(config.timeout)
        self.timeout = config.timeout
        self.label = "health:\(cluster.name)"
        self.options = ConnectionOptions(maxCoalesce: 2, writeLimit: 4096, tls: cluster.upstreamTLS(for: host))
        answer.reserveCapacity(HealthProbe.maxAnswerBytes)
        tickTimer = PollerTimer { [weak self] in self?.tick() }
        deadlineTimer = PollerTimer { [weak self] in self?.deadlinePassed() }
    }

    // MARK: Scheduling (poller)

    /// Schedules the first check: `initialDelay` plus up to `intervalJitter`.
    func armFirst() {
        let extra = jitterNs == 0 ? 0 : UInt64.random(in: 0...jitterNs, using: &random)
        arm(afterNs: initialDelayNs &+ extra)
    }

    /// Schedules the next check: `interval` (or `unhealthyInterval` while DOWN) plus or minus up to
    /// `intervalJitter`, uniformly.
    private func armNext() {
        let base = !host.health.isUp ? (unhealthyIntervalNs ?? intervalNs) : intervalNs
        var delay = base
        if jitterNs > 0 {
            let offset = UInt64.random(in: 0...(2 * jitterNs), using: &random)
            delay = base &+ offset >= jitterNs ? base &+ offset &- jitterNs : 0
        }
        arm(afterNs: max(delay, 1_000_000))
    }

    private func arm(afterNs delay: UInt64) {
        // `stop()` called from `onTransition` halts this target in the middle of `finish`: do not re-arm.
        if context.stopped.load(ordering: .relaxed) { return }
        nextCheckAtMs.store(WallClock.millis() &+ delay / 1_000_000, ordering: .relaxed)
        context.poller.arm(tickTimer, afterNs: delay)
    }

    /// Stops everything: no timer, no connection. Poller only.
    func halt() {
        tickTimer.cancel()
        deadlineTimer.cancel()
        phase = .idle
        nextCheckAtMs.store(0, ordering: .relaxed)
        if let c = connection {
            connection = nil
            c.close(.local)
        }
    }

    // MARK: One check (poller)

    private func tick() {
        if context.stopped.load(ordering: .relaxed) { return }
        // MAINT: no checks, but keep the rhythm so they resume on time when the operator is done.
        if host.adminState == .maint {
            armNext()
            return
        }
        begin()
    }

    private func begin() {
        phase = .connecting
        answer.removeAll(keepingCapacity: true)
        requestID = requestID == UInt64(UInt32.max) ? 1 : requestID + 1  // Bolt ids are 32 bits
        startNs = MonotonicClock.now()
        context.poller.arm(deadlineTimer, afterNs: timeoutNs)
        let c = context.poller.connect(
            to: host.address, timeout: timeout, options: options, label: label, handler: self)
        // A connect that failed (or succeeded) at once has already called back, and may have ended the check.
        if phase != .idle && connection == nil { connection = c }
    }

    private func deadlinePassed() {
        switch phase {
        case .idle: return
        case .connecting: finish(ok: false, "L4TOUT")
        case .waiting: finish(ok: false, "L7TOUT")
        }
    }

    /// Ends the check in flight: closes its connection, records the result, reports a transition, schedules the
    /// next check.
    private func finish(ok: Bool, _ reason: String) {
        guard phase != .idle else { return }
        phase = .idle
        deadlineTimer.cancel()
        if let c = connection {
            connection = nil
            c.close(.local)  // its close callback finds the check over
        }
        if context.stopped.load(ordering: .relaxed) { return }
        cluster.stats.healthCheckAttempts.wrappingAdd(1, ordering: .relaxed)
        if ok {
            cluster.stats.healthCheckSuccesses.wrappingAdd(1, ordering: .relaxed)
        } else {
            cluster.stats.healthCheckFailures.wrappingAdd(1, ordering: .relaxed)
        }
        let result = HostHealth.CheckResult(
            ok: ok, reason: reason, latencyNs: MonotonicClock.now() &- startNs, at: WallClock.millis())
        if let up = host.health.record(result) { context.onTransition(cluster, host, up, result) }
        armNext()
    }

    private func judge(closed: Bool) {
        let verdict = answer.withUnsafeBytes { probe.evaluate($0, id: requestID, closed: closed) }
        switch verdict {
        case .needMore: return
        case .pass(let reason): finish(ok: true, reason)
        case .fail(let reason): finish(ok: false, reason)
        }
    }

    /// True when `c` is the connection of the check in flight (adopting it when `connect` has not returned yet).
    private func owns(_ c: Connection) -> Bool {
        guard phase != .idle else { return false }
        if connection == nil {
            connection = c
            return true
        }
        return connection === c
    }

    // MARK: ConnectionHandler (poller, inline)

    func connectionDidConnect(_ c: Connection) {
        guard owns(c), phase == .connecting else { return }
        phase = .waiting
        if probe.connectOnly {
            finish(ok: true, "L4OK")
            return
        }
        let b = c.bufferPool.acquire()
        if let n = probe.writeRequest(id: requestID, into: b.writePointer, capacity: b.writableBytes) {
            b.writerIndex += n
            c.write(b)
        } else {
            b.release()
            c.write(ByteBuffer(copying: probe.requestBytes(id: requestID)))
        }
    }

    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        defer { buffer.release() }
        guard owns(c), phase == .waiting else { return }
        let room = HealthProbe.maxAnswerBytes + 1 - answer.count
        if room > 0 {
            answer.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer.readableView.prefix(room)))
        }
        judge(closed: false)
    }

    func connectionDidReadEOF(_ c: Connection) {
        guard owns(c), phase == .waiting else { return }
        judge(closed: true)
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        guard owns(c) else { return }
        connection = nil
        switch (phase, reason) {
        case (.idle, _): return
        case (.connecting, .connectTimeout): finish(ok: false, "L4TOUT")
        case (.connecting, .connectFailed(let e)): finish(ok: false, HealthProbe.connectFailure(errno: e))
        case (.connecting, .tlsHandshakeFailed(let why)): finish(ok: false, "L6RSP tls \(why)")
        case (.connecting, _): finish(ok: false, "L4CON \(reason)")
        case (.waiting, _): judge(closed: true)
        }
    }

    private static func ns(_ d: Duration) -> UInt64 {
        let c = d.components
        return UInt64(max(0, c.seconds)) &* 1_000_000_000 &+ UInt64(max(0, c.attoseconds / 1_000_000_000))
    }
}
