extension TelemetryFrame {
    /// One cluster: its counters, latency, upstream writes and hosts (also the `hosts` command's reply).
    public struct Cluster: TelemetryRecord {
        public var name = ""
        /// The balancer, as configured (`LB_ROUNDROBIN`).
        public var lb = ""
        public var rqTotal: UInt64 = 0
        public var rqActive: Int = 0
        public var rqPending: Int = 0
        public var cxActive: Int = 0
        public var retries: UInt64 = 0
        public var overflow = Overflow()
        public var noHealthyUpstream: UInt64 = 0
        /// Error replies Skiff made itself for requests routed here (HTTP 5xx, RPC error statuses).
        public var localFailed: UInt64 = 0
        /// The health check's `service_name`, when set.
        public var healthCheckService: String?
        /// With `lb_subset_config`: the subsets the hosts form, the fall-back policy's name and the requests that fell
        /// back since start (absent without subsets).
        public var subsets: Int?
        public var subsetPolicy: String?
        public var subsetFallbacks: UInt64?
        /// STRICT_DNS / LOGICAL_DNS: names asked since start, and asked without an answer (absent otherwise).
        public var dnsResolutions: UInt64?
        public var dnsFailures: UInt64?
        public var latency = Latency()
        /// Its upstream connections' write counters.
        public var writes = Writes()
        public var hosts: [Host] = []
        /// Its upstream connections' TLS counters; nil (absent) for a plaintext cluster (FrameTLS.swift).
        public var tls: TLS?

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("name", &name)
            c.field("lb", &lb)
            c.field("rq_total", &rqTotal)
            c.field("rq_active", &rqActive)
            c.field("rq_pending", &rqPending)
            c.field("cx_active", &cxActive)
            c.field("retries", &retries)
            c.field("overflow", &overflow)
            c.field("no_healthy_upstream", &noHealthyUpstream)
            c.field("local_failed", &localFailed)
            c.field("health_check_service", &healthCheckService)
            c.field("subsets", &subsets)
            c.field("subset_policy", &subsetPolicy)
            c.field("subset_fallbacks", &subsetFallbacks)
            c.field("dns_resolutions", &dnsResolutions)
            c.field("dns_failures", &dnsFailures)
            c.field("latency", &latency)
            c.field("writes", &writes)
            c.field("hosts", &hosts)
            c.field("tls", &tls)
        }

        /// Failed answers its clients got: the hosts' own 5xx and every error reply Skiff made for this cluster.
        public var errors: UInt64 { hosts.reduce(localFailed) { $0 &+ $1.respFailed } }

        /// The host at `address`, if the cluster has it.
        public func host(_ address: String) -> Host? { hosts.first { $0.address == address } }
    }

    /// Requests and connections refused by the circuit breakers, per limit.
    public struct Overflow: TelemetryRecord {
        public var maxConnections: UInt64 = 0
        public var maxPendingRequests: UInt64 = 0
        public var maxRequests: UInt64 = 0
        public var maxRetries: UInt64 = 0

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("max_connections", &maxConnections)
            c.field("max_pending_requests", &maxPendingRequests)
            c.field("max_requests", &maxRequests)
            c.field("max_retries", &maxRetries)
        }

        public var total: UInt64 { maxConnections &+ maxPendingRequests &+ maxRequests &+ maxRetries }
    }

    /// One host: admin state (READY, DRAIN, DRAINED, MAINT), health (UP, UP x/y, DOWN, DOWN x/y, EJECTED), drain
    /// progress, recent checks, counters.
    public struct Host: TelemetryRecord {
        public var address = ""
        public var weight: Int = 0
        /// While the host ramps up under `slow_start`: the percent of `weight` it gets now (absent otherwise).
        public var slowStartPercent: Int?
        /// Flattened `metadata` of the config (`filter_metadata.mosn.lb.version`), when it has any.
        public var metadata: [String: String]?
        public var admin = ""
        public var health = ""
        /// Whether the balancers may pick it now.
        public var available = false
        /// Present while the admin state is DRAIN (or DRAINED).
        public var drain: Drain?
        /// Wall-clock ms of the next active check.
        public var nextCheckMs: UInt64?
        /// Wall-clock ms when an outlier ejection ends.
        public var ejectedUntilMs: UInt64?
        /// The last checks, oldest first; present once the host has been checked.
        public var checks: [Check]?
        /// How many checks in a row gave the newest result (the run, which may be longer than `checks`).
        public var checkRun: Int?
        public var cxActive: Int = 0
        public var cxIdle: Int = 0
        public var cxTotal: UInt64 = 0
        public var cxConnectFail: UInt64 = 0
        /// Connects that failed by timing out (counted in `cxConnectFail` too).
        public var cxConnectTimeout: UInt64 = 0
        public var rqTotal: UInt64 = 0
        public var rqActive: Int = 0
        public var rqTimeout: UInt64 = 0
        /// Requests that failed here before any byte of their answer and were sent again (MOSN's `request_retry`).
        public var rqRetry: UInt64 = 0
        /// Requests lost that way and not sent again.
        public var rqRemoteReset: UInt64 = 0
        /// Requests Skiff reset itself (the client went away, a local timeout).
        public var rqLocalReset: UInt64 = 0
        /// Times outlier detection ejected it since start.
        public var ejections: UInt64 = 0
        public var respSuccess: UInt64 = 0
        public var respFailed: UInt64 = 0
        /// Error replies Skiff made itself after choosing this host (connect failure, timeout, reset).
        public var localFailed: UInt64 = 0
        public var latency = Latency()

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("address", &address)
            c.field("weight", &weight)
            c.field("slow_start_percent", &slowStartPercent)
            c.field("metadata", &metadata)
            c.field("admin", &admin)
            c.field("health", &health)
            c.field("available", &available)
            c.field("drain", &drain)
            c.field("next_check_ms", &nextCheckMs)
            c.field("ejected_until_ms", &ejectedUntilMs)
            c.field("checks", &checks)
            c.field("check_run", &checkRun)
            c.field("cx_active", &cxActive)
            c.field("cx_idle", &cxIdle)
            c.field("cx_total", &cxTotal)
            c.field("cx_connect_fail", &cxConnectFail)
            c.field("cx_connect_timeout", &cxConnectTimeout)
            c.field("rq_total", &rqTotal)
            c.field("rq_active", &rqActive)
            c.field("rq_timeout", &rqTimeout)
            c.field("rq_retry", &rqRetry)
            c.field("rq_remote_reset", &rqRemoteReset)
            c.field("rq_local_reset", &rqLocalReset)
            c.field("ejections", &ejections)
            c.field("resp_success", &respSuccess)
            c.field("resp_failed", &respFailed)
            c.field("local_failed", &localFailed)
            c.field("latency", &latency)
        }

        /// Failed answers for requests sent here: the host's own 5xx and Skiff's error replies on its behalf.
        public var errors: UInt64 { respFailed &+ localFailed }

        /// DRAINED, or a drain whose work is done.
        public var isDrained: Bool { admin == "DRAINED" || drain?.drained == true }
    }

    /// A draining host's progress.
    public struct Drain: TelemetryRecord {
        public var elapsedMs: UInt64 = 0
        /// The cluster's `drain_timeout`.
        public var timeoutMs: UInt64 = 0
        public var activeRq: Int = 0
        /// Busy connections (active minus idle).
        public var activeCx: Int = 0
        public var idleCx: Int = 0
        public var drained = false

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("elapsed_ms", &elapsedMs)
            c.field("timeout_ms", &timeoutMs)
            c.field("active_rq", &activeRq)
            c.field("active_cx", &activeCx)
            c.field("idle_cx", &idleCx)
            c.field("drained", &drained)
        }
    }

    /// One active health check's result.
    public struct Check: TelemetryRecord {
        public var ok = false
        /// `L7OK`, `L7STS 503`, `L4CON refused`, ...
        public var reason = ""
        public var latencyUs: UInt64 = 0
        /// Wall-clock ms.
        public var at: UInt64 = 0

        public init() {}

        public init(ok: Bool, reason: String, latencyUs: UInt64, at: UInt64) {
            self.ok = ok
            self.reason = reason
            self.latencyUs = latencyUs
            self.at = at
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("ok", &ok)
            c.field("reason", &reason)
            c.field("latency_us", &latencyUs)
            c.field("at", &at)
        }
    }
}
