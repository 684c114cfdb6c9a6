import SkiffConfig
import SkiffNet
import SkiffUpstream
import Synchronization

/// Active health checks for every host of every cluster that has a `health_check`, and the clock of the clusters'
/// outlier detectors.
///
/// Owns one dedicated poller (`NetPollGroup(name: "health", count: 1)`): no thread per host. Each check is one
/// non-blocking connection on that poller, and each host has two timers re-armed for its life (next check, check
/// deadline), so a tick allocates nothing beyond its connection. Each host is checked every `interval` (plus or minus
/// up to `interval_jitter`, uniformly), every `unhealthy_interval` instead while DOWN, first after
/// `initial_delay_seconds` (plus up to `interval_jitter`); the next check is scheduled when the current one ends, so
/// checks of one host never overlap. MAINT hosts are skipped (the schedule goes on). `service_name` plays no part:
/// checks run whenever `health_check` is present (MOSN runs them only with a service name).
///
/// Every result goes to `host.health.record(_:)`; a change of state (UP -> DOWN on exactly the
/// `unhealthy_threshold`-th failure in a row, DOWN -> UP on the `healthy_threshold`-th success) is reported to
/// `onTransition`, called on the health poller's thread: it must not block.
///
/// Every second (`outlierTickInterval`) the poller also calls `tick(nowMs:)` on each cluster's `OutlierDetector`, so
/// ejected hosts come back on time; clusters with `outlier_detection` and no `health_check` need the checker too.
///
/// ```swift
/// let checker = HealthChecker(clusters: Array(manager.clusters.values)) { cluster, host, up, result in
///     log.info("\(cluster.name) \(host) \(up ? "UP" : "DOWN") (\(result.reason))")
/// }
/// try checker.start()
/// defer { checker.stop() }
/// ```
public final class HealthChecker: Sendable {
    /// (cluster, host, now up, the result that changed it).
    public typealias TransitionHandler = @Sendable (Cluster, Host, Bool, HostHealth.CheckResult) -> Void

    public let clusters: [Cluster]
    private let targets: [HealthCheckTarget]
    private let byHost: [ObjectIdentifier: HealthCheckTarget]
    private let detectors: [OutlierDetector]
    private let context: HealthCheckContext
    private let outlierTickNs: UInt64
    private let group = Mutex<NetPollGroup?>(nil)
    private let started = Atomic<Bool>(false)
    /// A poller group owned by the caller (the engine keeps one for its life, so a reload does not spend a new
    /// executor index on a new health poller each time); `stop` leaves it running.
    private let sharedGroup: NetPollGroup?

    /// - Parameters:
    ///   - clusters: checked when they have `config.healthCheck`; their `outlier` detectors are ticked.
    ///   - outlierTickInterval: how often ejections are reviewed.
    ///   - onTransition: told of each UP/DOWN change, on the health poller's thread.
    public init(
        clusters: [Cluster], outlierTickInterval: Duration = .seconds(1), group: NetPollGroup? = nil,
        onTransition: @escaping TransitionHandler
    ) {
        self.sharedGroup = group
        self.clusters = clusters
        let context = HealthCheckContext(onTransition: onTransition)
        self.context = context
        var targets: [HealthCheckTarget] = []
        var byHost: [ObjectIdentifier: HealthCheckTarget] = [:]
        for cluster in clusters {
            guard let check = cluster.config.healthCheck else { continue }
            for host in cluster.hosts {
                let t = HealthCheckTarget(cluster: cluster, host: host, config: check, context: context)
                targets.append(t)
                byHost[ObjectIdentifier(host)] = t
            }
        }
        self.targets = targets
        self.byHost = byHost
        self.detectors = clusters.compactMap(\.outlier)
        let c = outlierTickInterval.components
        self.outlierTickNs = max(
            1_000_000, UInt64(max(0, c.seconds)) &* 1_000_000_000 &+ UInt64(max(0, c.attoseconds / 1_000_000_000)))
    }

    deinit { stop() }

    /// Hosts with active checks.
    public var checkedHostCount: Int { targets.count }

    /// Starts the health poller and schedules every host's first check. Does nothing when there is nothing to check
    /// or tick (no thread is started), or when already started.
    /// - Throws: `SystemError` when the poller cannot be created (epoll, eventfd, thread).
    public func start() throws(SystemError) {
        guard !targets.isEmpty || !detectors.isEmpty else { return }
        guard !started.exchange(true, ordering: .relaxed) else { return }
        let g: NetPollGroup
        if let shared = sharedGroup {
            g = shared
        } else {
            do {
                g = try NetPollGroup(name: "health", count: 1, bufferSize: 16 * 1024)
            } catch {
                started.store(false, ordering: .relaxed)
                throw error
            }
        }
        let p = g.pollers[0]
        context.poller = p
        group.withLock { $0 = g }
        let targets = targets
        let detectors = detectors
        let tickNs = outlierTickNs
        let context = context
        p.execute {
            for t in targets { t.armFirst() }
            guard !detectors.isEmpty else { return }
            let ticker = OutlierTicker(detectors: detectors, poller: p, everyNs: tickNs)
            context.outlierTicker = ticker
            ticker.arm()
        }
    }

    /// Stops checking: pending checks are abandoned unrecorded, their connections closed, the poller stopped. After
    /// it returns, `onTransition` is not called again. Callable from any thread, more than once.
    public func stop() {
        guard
            let g = group.withLock({ g -> NetPollGroup? in
                defer { g = nil }
                return g
            })
        else { return }
        context.stopped.store(true, ordering: .relaxed)
        let p = g.pollers[0]
        let latch = StopLatch()
        let targets = targets
        let context = context
        p.execute {
            for t in targets { t.halt() }
            context.outlierTicker?.cancel()
            context.outlierTicker = nil
            latch.open()
        }
        if !p.inExecutor { latch.wait(seconds: 5) }
        if sharedGroup == nil { g.shutdown() }
    }

    /// Wall-clock ms of `host`'s next check (for the Health view); while a check is in flight, the time it was due.
    /// nil when the host is not checked or the checker is not running. Thread-safe.
    public func nextCheckMs(_ host: Host) -> UInt64? {
        guard let t = byHost[ObjectIdentifier(host)] else { return nil }
        let at = t.nextCheckAtMs.load(ordering: .relaxed)
        return at == 0 ? nil : at
    }
}

/// Ticks outlier detectors on the health poller with one re-armed timer. Confined to that poller.
final class OutlierTicker {
    private let detectors: [OutlierDetector]
    private let poller: Poller
    private let everyNs: UInt64
    private var timer: PollerTimer!

    init(detectors: [OutlierDetector], poller: Poller, everyNs: UInt64) {
        self.detectors = detectors
        self.poller = poller
        self.everyNs = everyNs
        timer = PollerTimer { [weak self] in
            guard let self else { return }
            let now = WallClock.millis()
            for d in self.detectors { d.tick(nowMs: now) }
            self.arm()
        }
    }

    func arm() { poller.arm(timer, afterNs: everyNs) }
    func cancel() { timer.cancel() }
}

/// A one-shot gate `stop()` waits on while the poller halts the targets.
final class StopLatch: Sendable {
    private let lock = ConditionLock()
    private let done = Atomic<Bool>(false)

    func open() {
        lock.withLock {
            done.store(true, ordering: .relaxed)
            lock.broadcast()
        }
    }

    func wait(seconds: UInt64) {
        let deadline = MonotonicClock.now() &+ seconds * 1_000_000_000
        lock.withLock {
            while !done.load(ordering: .relaxed) {
                if !lock.wait(untilMonotonicNs: deadline) { return }
            }
        }
    }
}
