import SkiffNet
import Synchronization

/// The health axis of a host (HAProxy's model): UP, "UP x/y" (failing, x more failures before DOWN), DOWN, and
/// "DOWN x/y" (recovering), driven by active checks and passive ejection. Load balancers read `isHealthy` (one
/// relaxed atomic load); everything else is for people and is guarded by a small mutex, off the hot path.
public final class HostHealth: Sendable {
    public struct CheckResult: Sendable, Equatable {
        public var ok: Bool
        /// `L4OK`, `L4CON refused`, `L4TOUT`, `L7OK`, `L7STS 503`, `L7TOUT`, `L7RSP bad heartbeat` ...
        public var reason: String
        public var latencyNs: UInt64
        /// Wall-clock ms.
        public var at: UInt64

        public init(ok: Bool, reason: String, latencyNs: UInt64, at: UInt64) {
            self.ok = ok
            self.reason = reason
            self.latencyNs = latencyNs
            self.at = at
        }
    }

    /// What people see.
    public struct Snapshot: Sendable, Equatable {
        public var up: Bool
        /// Consecutive results against the current state (failures while UP, successes while DOWN).
        public var streak: Int
        public var healthyThreshold: Int
        public var unhealthyThreshold: Int
        public var checked: Bool
        public var last: [CheckResult]
        /// How many checks in a row gave the newest result (not bounded by the history kept in `last`).
        public var run: Int
        public var ejectedUntilMs: UInt64
        public var ejections: Int

        /// `UP`, `UP 1/3`, `DOWN`, `DOWN 2/2`, or `EJECTED`.
        public var text: String {
            if !checked { return up ? "UP" : "DOWN" }
            if up {
                return streak > 0 ? "UP \(unhealthyThreshold - streak)/\(unhealthyThreshold)" : "UP"
            }
            return streak > 0 ? "DOWN \(streak)/\(healthyThreshold)" : "DOWN"
        }
    }

    private struct State {
        var up = true
        var streak = 0
        var last: [CheckResult] = []
        var run = 0
        var ejectedUntilMs: UInt64 = 0
        var ejections = 0
    }

    private let healthy = Atomic<Bool>(true)
    /// When the host last came back (DOWN -> UP, or the end of an ejection), monotonic ns; 0 = never. Slow start
    /// ramps it from there.
    public let backSinceNs = Atomic<UInt64>(0)
    private let ejected = Atomic<Bool>(false)
    /// A control plane's EDS says UNHEALTHY (independent of checks and ejections).
    private let controlPlaneDown = Atomic<Bool>(false)
    private let state = Mutex(State())
    public let healthyThreshold: Int
    public let unhealthyThreshold: Int
    /// True when a health check is configured for the host's cluster.
    public let checked: Bool
    /// Results kept for the Health view's strip.
    public static let historyLength = 20

    public init(healthyThreshold: Int = 1, unhealthyThreshold: Int = 1, checked: Bool = false) {
        self.healthyThreshold = max(1, healthyThreshold)
        self.unhealthyThreshold = max(1, unhealthyThreshold)
        self.checked = checked
    }

    /// UP and not ejected: load balancers may pick it (with the admin state).
    @inline(__always) public var isHealthy: Bool {
        healthy.load(ordering: .relaxed) && !ejected.load(ordering: .relaxed)
            && !controlPlaneDown.load(ordering: .relaxed)
    }

    public var isControlPlaneDown: Bool { controlPlaneDown.load(ordering: .relaxed) }

    public func setControlPlaneDown(_ down: Bool) { controlPlaneDown.store(down, ordering: .relaxed) }

    public var isUp: Bool { healthy.load(ordering: .relaxed) }
    public var isEjected: Bool { ejected.load(ordering: .relaxed) }

    /// Records one check result; returns the new state when it changed (UP -> DOWN on exactly the
    /// `unhealthyThreshold`-th consecutive failure, DOWN -> UP on the `healthyThreshold`-th success).
    @discardableResult
    public func record(_ r: CheckResult) -> Bool? {
        state.withLock { s -> Bool? in
            s.run = s.last.last?.ok == r.ok ? s.run + 1 : 1
            s.last.append(r)
            if s.last.count > HostHealth.historyLength { s.last.removeFirst(s.last.count - HostHealth.historyLength) }
            if s.up {
                if r.ok {
                    s.streak = 0
                    return nil
                }
                s.streak += 1
                if s.streak >= unhealthyThreshold {
                    s.up = false
                    s.streak = 0
                    healthy.store(false, ordering: .relaxed)
                    return false
                }
                return nil
            }
            if !r.ok {
                s.streak = 0
                return nil
            }
            s.streak += 1
            if s.streak >= healthyThreshold {
                s.up = true
                s.streak = 0
                backSinceNs.store(MonotonicClock.now(), ordering: .relaxed)
                healthy.store(true, ordering: .relaxed)
                return true
            }
            return nil
        }
    }

    /// Passive ejection until `untilMs` (wall clock); the caller enforces max_ejection_percent.
    public func eject(untilMs: UInt64) {
        state.withLock {
            $0.ejectedUntilMs = untilMs
            $0.ejections += 1
        }
        ejected.store(true, ordering: .relaxed)
    }

    public func unEject() {
        state.withLock { $0.ejectedUntilMs = 0 }
        if ejected.exchange(false, ordering: .relaxed) { backSinceNs.store(MonotonicClock.now(), ordering: .relaxed) }
    }

    public var ejections: Int { state.withLock { $0.ejections } }

    /// Wall-clock ms the current ejection ends, 0 when not ejected.
    public var ejectedUntilMs: UInt64 { state.withLock { $0.ejectedUntilMs } }

    public var snapshot: Snapshot {
        state.withLock {
            Snapshot(
                up: $0.up, streak: $0.streak, healthyThreshold: healthyThreshold,
                unhealthyThreshold: unhealthyThreshold, checked: checked, last: $0.last, run: $0.run,
                ejectedUntilMs: $0.ejectedUntilMs, ejections: $0.ejections)
        }
    }
}
