extension TelemetryFrame {
    /// One listener's counters. The request members depend on the listener's filter: HTTP listeners (and `Auto`)
    /// carry `rq_total` .. `retries` with the status classes, RPC listeners (Bolt, Dubbo) `rq_total` .. `retries`
    /// with `oneway`, `responses` and friends, `tcp_proxy` listeners `sessions`; the others are nil and absent from
    /// the JSON. One flat object on the wire, so the member order below interleaves the HTTP and RPC ones.
    public struct Listener: TelemetryRecord {
        public var name = ""
        public var address = ""
        /// `netpoll` or `rwloop`.
        public var model = ""
        public var `protocol` = ""
        public var workers: Int = 0
        public var cxActive: Int = 0
        public var cxTotal: UInt64 = 0
        /// Connections refused over `max_connections`.
        public var cxRefused: UInt64 = 0
        public var acceptErrors: UInt64 = 0

        // HTTP and RPC listeners.
        public var rqTotal: UInt64?
        public var rqActive: Int?
        // HTTP listeners: responses by status class.
        public var rq1xx: UInt64?
        public var rq2xx: UInt64?
        public var rq3xx: UInt64?
        public var rq4xx: UInt64?
        public var rq5xx: UInt64?
        // RPC listeners.
        public var oneway: UInt64?
        public var responses: UInt64?
        public var heartbeats: UInt64?
        // HTTP and RPC listeners (`timeouts` RPC only, `route_timeouts` HTTP only, the last two RPC only).
        public var localReplies: UInt64?
        public var timeouts: UInt64?
        public var protocolErrors: UInt64?
        public var routeTimeouts: UInt64?
        // HTTP listeners: connections closed by the request-head and request-body timeouts (408).
        public var headerTimeouts: UInt64?
        public var bodyTimeouts: UInt64?
        public var unknownResponses: UInt64?
        public var upstreamResets: UInt64?
        public var retries: UInt64?
        // HTTP and RPC listeners: connections closed by `connection_idle_timeout`.
        public var idleTimeouts: UInt64?
        // tcp_proxy listeners.
        public var sessions: UInt64?
        public var sessionsActive: Int?
        public var upstreamConnectFailures: UInt64?

        public var writes = Writes()
        /// TLS counters; nil (absent) for a plaintext listener (FrameTLS.swift).
        public var tls: TLS?

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("name", &name)
            c.field("address", &address)
            c.field("model", &model)
            c.field("protocol", &`protocol`)
            c.field("workers", &workers)
            c.field("cx_active", &cxActive)
            c.field("cx_total", &cxTotal)
            c.field("cx_refused", &cxRefused)
            c.field("accept_errors", &acceptErrors)
            c.field("rq_total", &rqTotal)
            c.field("rq_active", &rqActive)
            c.field("rq_1xx", &rq1xx)
            c.field("rq_2xx", &rq2xx)
            c.field("rq_3xx", &rq3xx)
            c.field("rq_4xx", &rq4xx)
            c.field("rq_5xx", &rq5xx)
            c.field("oneway", &oneway)
            c.field("responses", &responses)
            c.field("heartbeats", &heartbeats)
            c.field("local_replies", &localReplies)
            c.field("timeouts", &timeouts)
            c.field("protocol_errors", &protocolErrors)
            c.field("route_timeouts", &routeTimeouts)
            c.field("header_timeouts", &headerTimeouts)
            c.field("body_timeouts", &bodyTimeouts)
            c.field("unknown_responses", &unknownResponses)
            c.field("upstream_resets", &upstreamResets)
            c.field("retries", &retries)
            c.field("idle_timeouts", &idleTimeouts)
            c.field("sessions", &sessions)
            c.field("sessions_active", &sessionsActive)
            c.field("upstream_connect_failures", &upstreamConnectFailures)
            c.field("writes", &writes)
            c.field("tls", &tls)
        }

        /// What the listener counts as its unit of work: requests (HTTP, RPC), else sessions (`tcp_proxy`), else nil.
        public var requestsOrSessions: UInt64? { rqTotal ?? sessions }

        /// Errors worth a colour: accept errors, protocol errors, upstream connect failures, refusals over the cap.
        public var errors: UInt64 {
            acceptErrors &+ (protocolErrors ?? 0) &+ (upstreamConnectFailures ?? 0) &+ cxRefused
        }
    }
}
