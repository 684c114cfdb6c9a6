import SkiffNet
import SkiffTelemetry
import SkiffUpstream

/// Follows every draining host, including hosts a reload removed, and finishes its drain: announces DRAINED ("safe to
/// remove", `host.drained`) once nothing is in flight, and at the cluster's `drain_timeout` applies its
/// `drain_action` (`close` closes what remains, `wait` only says so, `host.drain_timeout`).
///
/// Threads: one thread of its own, ticking every `intervalMs` (`stop` waits for it to leave its loop); `announced` is
/// touched only there. Everything it reads
/// of a host is atomic; what it does (events, closing connections, forgetting a removed host) is safe from any
/// thread.
final class DrainWatcher: @unchecked Sendable {
    unowned let engine: Engine
    let hub: TelemetryHub
    /// How often draining hosts are looked at.
    let intervalMs: Int
    private let loop = EngineLoopThread(name: "skiff-drains")
    /// Draining hosts already announced as drained or timed out (watcher thread only).
    private var announced: Set<ObjectIdentifier> = []

    init(engine: Engine, hub: TelemetryHub, intervalMs: Int = 100) {
        self.engine = engine
        self.hub = hub
        self.intervalMs = intervalMs
    }

    func start() throws(SystemError) {
        try loop.start(intervalMs: { [intervalMs] in intervalMs }, tick: { [self] in tick() })
    }

    /// Stops the thread and returns once it has left its loop: it reads the engine, which may be torn down next.
    func stop() { loop.stop() }

    /// One look at every draining host.
    func tick() {
        let now = MonotonicClock.now()
        var watched: [(Cluster, Host, removed: Bool)] = []
        for c in engine.clusters.clusters.values { for h in c.hosts { watched.append((c, h, false)) } }
        for (c, h) in engine.removedHosts { watched.append((c, h, true)) }
        for (c, h, removed) in watched {
            let key = ObjectIdentifier(h)
            guard h.adminState == .drain else {
                announced.remove(key)
                continue
            }
            if announced.contains(key) { continue }
            let elapsed = now &- h.drainStartedNs.load(ordering: .relaxed)
            if h.isDrained {
                announced.insert(key)
                if removed { engine.forgetRemoved(h) }
                hub.event(.hostDrained(.init(cluster: c.name, host: h.description, elapsedMs: elapsed / 1_000_000)))
            } else if elapsed > Connection.nanoseconds(c.config.drainTimeout) {
                let close = c.config.drainAction == .close
                hub.event(
                    .hostDrainTimeout(
                        .init(
                            cluster: c.name, host: h.description, action: close ? "close" : "wait",
                            activeRq: h.stats.requestActive.load(ordering: .relaxed),
                            activeCx: h.stats.connectionActive.load(ordering: .relaxed))))
                if close {
                    engine.closeConnections(to: h, reason: "drain timeout")
                } else {
                    announced.insert(key)
                }
            }
        }
    }
}
