import SkiffConfig
import SkiffSystem
import Synchronization

/// Passive outlier detection for one cluster (Envoy's consecutive-errors ejection): a host whose upstream results fail
/// `consecutiveErrors` times in a row is ejected from load balancing for a while, and comes back when the time passes.
///
/// Threads: `record(host:failure:)` is called on the hot path from any executor, for every upstream result; it costs
/// one relaxed atomic on the host (`HostStats.consecutiveFailures`) and takes the cluster's mutex only when a host's
/// run of failures reaches the threshold. `tick(nowMs:)` un-ejects and may be called from any thread (the
/// `HealthChecker`'s poller calls it every second).
///
/// Ejection rules:
/// - at most `maxEjectionPercent` of the cluster's hosts are ejected at once, counting the one about to be ejected.
///   When the percent allows no host at all (10% of 5 hosts), nothing is ejected. Envoy ejects one host whatever the
///   percent; we do not, because ejecting the only healthy-looking capacity is how an outage becomes an avalanche
///   (mosn/mosn#1858, envoyproxy/envoy#26877);
/// - a host is ejected for `baseEjectionTime` times the number of times it has been ejected (this one included),
///   at most `maxEjectionTime`;
/// - reaching the threshold starts a new run whatever the outcome (ejected, already ejected, or refused by the
///   percent), so a refused host is reconsidered after another `consecutiveErrors` failures, not on every one.
public final class OutlierDetector: Sendable {
    public let config: OutlierDetectionConfig
    private let hosts: [Host]
    private let positions: [ObjectIdentifier: Int]
    private let threshold: Int
    private let baseMs: UInt64
    private let maxMs: UInt64
    private let clock: @Sendable () -> UInt64

    /// Serialises ejection decisions; the ejection state itself lives in each host's `HostHealth`, so a detector
    /// built by a reload takes over the hosts' ejections (and their count) as they are.
    private let decisions = Mutex(())

    /// Ejections made.
    public let ejectionsTotal = Atomic<UInt64>(0)
    /// Ejections refused because `maxEjectionPercent` of the hosts were already ejected.
    public let ejectionsOverflow = Atomic<UInt64>(0)

    /// - Parameters:
    ///   - config: the cluster's `outlier_detection`.
    ///   - hosts: the cluster's hosts; results for other hosts are ignored.
    ///   - clock: wall-clock ms (for tests), read only when a host reaches the threshold.
    public init(
        config: OutlierDetectionConfig, hosts: [Host], clock: @escaping @Sendable () -> UInt64 = WallClock.millis
    ) {
        self.config = config
        self.hosts = hosts
        var positions: [ObjectIdentifier: Int] = [:]
        for (i, h) in hosts.enumerated() { positions[ObjectIdentifier(h)] = i }
        self.positions = positions
        self.threshold = max(1, config.consecutiveErrors)
        self.baseMs = Self.milliseconds(config.baseEjectionTime)
        self.maxMs = max(Self.milliseconds(config.maxEjectionTime), baseMs)
        self.clock = clock
    }

    /// The most hosts ejected at once: `hosts × maxEjectionPercent / 100`, rounded down (0 ejects none).
    public var maxEjectedHosts: Int { hosts.count * min(100, max(0, config.maxEjectionPercent)) / 100 }

    /// Hosts ejected now.
    public var ejectedCount: Int { hosts.reduce(0) { $0 + ($1.health.isEjected ? 1 : 0) } }

    /// Records one upstream result for `host`: `failure` is a connect failure or a 5xx response.
    @inline(__always)
    public func record(host: Host, failure: Bool) {
        let stats = host.stats
        if !failure {
            // Load first: a host that keeps succeeding never writes the shared line.
            if stats.consecutiveFailures.load(ordering: .relaxed) != 0 {
                stats.consecutiveFailures.store(0, ordering: .relaxed)
            }
            return
        }
        if stats.consecutiveFailures.wrappingAdd(1, ordering: .relaxed).newValue == threshold { thresholdReached(host) }
    }

    private func thresholdReached(_ host: Host) {
        guard positions[ObjectIdentifier(host)] != nil else { return }
        let now = clock()
        decisions.withLock { _ in
            host.stats.consecutiveFailures.store(0, ordering: .relaxed)
            guard !host.health.isEjected else { return }
            guard ejectedCount + 1 <= maxEjectedHosts else {
                ejectionsOverflow.wrappingAdd(1, ordering: .relaxed)
                return
            }
            let times = UInt64(host.health.ejections + 1)
            let (scaled, overflow) = baseMs.multipliedReportingOverflow(by: times)
            let until = now &+ (overflow ? maxMs : min(scaled, maxMs))
            ejectionsTotal.wrappingAdd(1, ordering: .relaxed)
            host.health.eject(untilMs: until)
        }
    }

    /// Un-ejects every host whose ejection ended at or before `nowMs` (wall clock); their failure runs start afresh.
    public func tick(nowMs: UInt64) {
        decisions.withLock { _ in
            for h in hosts where h.health.isEjected {
                let until = h.health.ejectedUntilMs
                guard until <= nowMs else { continue }
                h.stats.consecutiveFailures.store(0, ordering: .relaxed)
                h.health.unEject()
            }
        }
    }

    /// When the next ejection ends (wall-clock ms), nil when no host is ejected.
    public var nextUnEjectMs: UInt64? {
        hosts.lazy.filter { $0.health.isEjected }.map { $0.health.ejectedUntilMs }.min()
    }

    private static func milliseconds(_ d: Duration) -> UInt64 {
        let c = d.components
        return UInt64(max(0, c.seconds)) &* 1000 &+ UInt64(max(0, c.attoseconds / 1_000_000_000_000_000))
    }
}
