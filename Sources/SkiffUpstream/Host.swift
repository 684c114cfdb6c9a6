import SkiffConfig
import SkiffNet
import SkiffTelemetry
import Synchronization

/// Counters a host owns; updated with relaxed atomics on the hot path.
public final class HostStats: Sendable {
    /// MOSN: upstream `connection_total`.
    public let connectionTotal = Atomic<UInt64>(0)
    /// MOSN: upstream `connection_active`.
    public let connectionActive = Atomic<Int>(0)
    /// MOSN: upstream `connection_con_fail` (refused, unreachable, timed out).
    public let connectionConFail = Atomic<UInt64>(0)
    public let connectTimeouts = Atomic<UInt64>(0)
    /// MOSN: upstream `connection_close`.
    public let connectionClose = Atomic<UInt64>(0)
    /// MOSN: upstream `connection_local_close` / `connection_remote_close`: the part of `connectionClose` Skiff
    /// closed (its own decision, a timeout, the other side of the pair gone) and the part the host closed or reset.
    public let connectionLocalClose = Atomic<UInt64>(0)
    public let connectionRemoteClose = Atomic<UInt64>(0)
    /// MOSN: upstream `request_total`.
    public let requestTotal = Atomic<UInt64>(0)
    /// MOSN: upstream `request_active` (requests sent and not yet answered in full).
    public let requestActive = Atomic<Int>(0)
    /// MOSN: upstream `request_timeout`.
    public let requestTimeout = Atomic<UInt64>(0)
    /// MOSN: upstream `request_local_reset` / `request_remote_reset`.
    public let requestLocalReset = Atomic<UInt64>(0)
    public let requestRemoteReset = Atomic<UInt64>(0)
    /// MOSN: upstream `request_retry`: requests that failed on this host before any byte of their answer (the
    /// connection closed or reset under them, a retried status) and were sent again.
    public let requestRetry = Atomic<UInt64>(0)
    /// MOSN: upstream `response_success` (non-5xx) / `response_failed` (5xx).
    public let responseSuccess = Atomic<UInt64>(0)
    public let responseFailed = Atomic<UInt64>(0)
    /// Error replies Skiff made itself after choosing this host (connect failure, timeout, reset, overflow): the
    /// client's 5xx that the host never sent.
    public let localFailed = Atomic<UInt64>(0)
    /// Idle keep-alive connections parked in pools.
    public let connectionIdle = Atomic<Int>(0)
    /// Upstream results that failed in a row (connect failure, 5xx); reset by a success. Owned by the cluster's
    /// `OutlierDetector`.
    public let consecutiveFailures = Atomic<Int>(0)

    public init() {}

    /// Counts the end of an upstream connection: an established one leaves `connectionActive` and its close is
    /// counted by side (`countClose`); one that never connected is a failed connect (and a timed-out one, if so).
    public func countUpstreamEnd(connected: Bool, reason: CloseReason) {
        if connected {
            connectionActive.wrappingSubtract(1, ordering: .relaxed)
            countClose(reason)
        } else {
            connectionConFail.wrappingAdd(1, ordering: .relaxed)
            if reason == .connectTimeout { connectTimeouts.wrappingAdd(1, ordering: .relaxed) }
        }
    }

    /// Counts an established connection's close, and which side closed it. Not for connects that failed
    /// (`connectionConFail`).
    public func countClose(_ reason: CloseReason) {
        connectionClose.wrappingAdd(1, ordering: .relaxed)
        switch reason {
        case .eof, .readError, .writeError, .tlsError:
            connectionRemoteClose.wrappingAdd(1, ordering: .relaxed)
        default:
            connectionLocalClose.wrappingAdd(1, ordering: .relaxed)
        }
    }
}

/// The operator's state of a host (HAProxy's model): READY takes traffic, DRAIN takes no new traffic while in-flight
/// work finishes, MAINT takes no traffic and no checks.
public enum AdminState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case ready = 0
    case drain = 1
    case maint = 2

    public var description: String {
        switch self {
        case .ready: return "READY"
        case .drain: return "DRAIN"
        case .maint: return "MAINT"
        }
    }

    /// Parses `ready`, `drain`, `maint` (any case).
    public init?(text: String) {
        switch text.lowercased() {
        case "ready": self = .ready
        case "drain": self = .drain
        case "maint": self = .maint
        default: return nil
        }
    }
}

/// One upstream endpoint of a cluster. Immutable apart from its counters, admin state and per-executor pools.
public final class Host: Sendable, CustomStringConvertible {
    public let config: HostConfig
    /// Resolved once when the cluster is built.
    public let address: SocketAddress
    private let weightValue: Atomic<Int>
    /// The load-balancing weight; a reload may change it (the cluster's balancer is rebuilt with it), and so may an
    /// operator at run time (`Cluster.setWeight`). 0 (run time only) takes the host out of new picks.
    public var weight: Int { weightValue.load(ordering: .relaxed) }
    /// Weights an operator may set at run time: the config's 1...128, and 0 for "no new traffic" (the control
    /// socket checks the same range, `ControlServer.hostWeights`).
    public static let runtimeWeightRange = 0...128
    public let stats = HostStats()
    /// Response latency of requests to this host (request sent to response complete).
    public let latency = LatencyHistogram()
    /// Health from checks and ejections (the second axis).
    public let health: HostHealth
    private let admin = Atomic<UInt8>(AdminState.ready.rawValue)
    /// When the host joined its cluster (monotonic ns) if the cluster has `slow_start`; 0 otherwise (or when it was
    /// carried over from before a reload that added slow start).
    public let addedNs = Atomic<UInt64>(0)
    /// When the host last became eligible for traffic: joined the cluster or came back healthy (monotonic ns; 0 =
    /// not known, no ramp). Slow start counts from here.
    public var eligibleSinceNs: UInt64 {
        max(addedNs.load(ordering: .relaxed), health.backSinceNs.load(ordering: .relaxed))
    }
    /// When the current drain started (monotonic ns), 0 when not draining.
    public let drainStartedNs = Atomic<UInt64>(0)
    /// Pools per executor (a poller or a worker shard), so pollers never share a pool or its lock.
    public let perExecutor = ExecutorLocal<HostExecutorState>()
    /// `address` as access logs print it (`ip:port`), made once so a log line copies bytes.
    public let logAddress: ImmutableBytes
    /// The configured `hostname` as access logs print it (at most 256 bytes); nil when the host has none.
    public let logHostname: ImmutableBytes?

    /// This executor's state, created on first use. Call only on `executor`.
    @inline(__always)
    public func state(on executor: any EventExecutor) -> HostExecutorState {
        if let s = perExecutor[executor] { return s }
        let s = HostExecutorState(executor: executor)
        perExecutor[executor] = s
        return s
    }

    /// Asks every executor's pools for this host to let go of it (idle connections close at once; busy ones after
    /// their last response). Callable from any thread.
    public func drainPools() {
        perExecutor.forEach { state in
            state.executor.execute {
                state.drainAll()
            }
        }
    }

    public init(config: HostConfig, healthCheck: HealthCheckConfig? = nil) throws(SystemError) {
        self.config = config
        self.health = HostHealth(
            healthyThreshold: healthCheck?.healthyThreshold ?? 1, unhealthyThreshold: healthCheck?.unhealthyThreshold ?? 1,
            checked: healthCheck != nil)
        self.address = try SocketAddress.resolve(host: config.address.host, port: config.address.port)
        self.weightValue = Atomic(config.weight)
        self.logAddress = ImmutableBytes(address.description)
        // Cut where access logs stop reading (a DNS name has at most 253 bytes).
        self.logHostname = config.hostname.flatMap { $0.isEmpty ? nil : ImmutableBytes($0, maxBytes: 256) }
    }

    deinit {
        logAddress.deallocate()
        logHostname?.deallocate()
    }

    /// Takes the weight of a reloaded config (before the balancer that reads it is built). At run time go through
    /// `Cluster.setWeight(_:of:)`, which also tells the balancer.
    public func setWeight(_ w: Int) { weightValue.store(w, ordering: .relaxed) }

    /// True when a reload may keep this host object (its pools, health and admin state) for `config` in a cluster
    /// checked by `healthCheck`: same address, same health thresholds.
    public func canCarry(_ config: HostConfig, healthCheck: HealthCheckConfig?) -> Bool {
        self.config.address == config.address && health.checked == (healthCheck != nil)
            && health.healthyThreshold == max(1, healthCheck?.healthyThreshold ?? 1)
            && health.unhealthyThreshold == max(1, healthCheck?.unhealthyThreshold ?? 1)
    }

    /// The operator's state; load balancers pick READY hosts only. Entering DRAIN stamps `drainStartedNs`.
    public var adminState: AdminState {
        get { AdminState(rawValue: admin.load(ordering: .relaxed)) ?? .ready }
        set {
            let old = admin.exchange(newValue.rawValue, ordering: .relaxed)
            if newValue == .drain && old != AdminState.drain.rawValue {
                drainStartedNs.store(MonotonicClock.now(), ordering: .relaxed)
            } else if newValue != .drain {
                drainStartedNs.store(0, ordering: .relaxed)
            }
        }
    }

    /// The control plane's word on this host (EDS `health_status`), as last applied.
    private let controlPlane = Atomic<UInt8>(0)

    /// Takes what a control plane says (at build and on every reload): DRAINING puts a READY host in DRAIN, and
    /// SERVING again takes a host the control plane drained back to READY (an operator's DRAIN or MAINT stays);
    /// UNHEALTHY marks its health down until the control plane says otherwise.
    public func applyControlPlaneState(_ state: ControlPlaneHostState) {
        let code: UInt8 =
            switch state {
            case .serving: 0
            case .unhealthy: 1
            case .draining: 2
            }
        let before = controlPlane.exchange(code, ordering: .relaxed)
        if state == .draining && adminState == .ready {
            adminState = .drain
        } else if state != .draining && before == 2 && adminState == .drain {
            adminState = .ready
        }
        health.setControlPlaneDown(state == .unhealthy)
    }

    /// READY, healthy and weighted above 0: new requests and connections may go here.
    @inline(__always) public var isAvailable: Bool {
        admin.load(ordering: .relaxed) == AdminState.ready.rawValue && health.isHealthy
            && weightValue.load(ordering: .relaxed) > 0
    }

    /// Nothing of any kind remains: no active request, no connection (active or idle). "Safe to remove."
    public var isDrained: Bool {
        stats.requestActive.load(ordering: .relaxed) == 0 && stats.connectionActive.load(ordering: .relaxed) == 0
            && stats.connectionIdle.load(ordering: .relaxed) == 0
    }

    /// As written in the config (`127.0.0.1:8080`).
    public var description: String { config.address.description }
}
