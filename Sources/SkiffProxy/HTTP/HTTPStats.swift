import SkiffTelemetry
import Synchronization

/// Counters of one HTTP listener (MOSN's downstream names where they exist).
///
/// `@unchecked Sendable`: atomics, an immutable histogram reference and the status table (see `HTTPStatusCounts`),
/// freed in `deinit`.
public final class HTTPListenerStats: @unchecked Sendable {
    /// MOSN: downstream `request_total`.
    public let requestTotal = Atomic<UInt64>(0)
    /// MOSN: downstream `request_active`.
    public let requestActive = Atomic<Int>(0)
    /// Responses by class: 1xx, 2xx, 3xx, 4xx, 5xx (MOSN: `request_2xx_total` ...).
    public let responses1xx = Atomic<UInt64>(0)
    public let responses2xx = Atomic<UInt64>(0)
    public let responses3xx = Atomic<UInt64>(0)
    public let responses4xx = Atomic<UInt64>(0)
    public let responses5xx = Atomic<UInt64>(0)
    /// Responses by exact status (MOSN: `request_200_total` ..., `request_other_code`).
    public let statuses = HTTPStatusCounts.allocate()
    /// Request head complete to response complete (local replies included), every request of the listener.
    public let latency = LatencyHistogram()
    /// Requests torn down without a complete response: the client went away, or the connection was closed under
    /// them (MOSN: downstream `request_reset`).
    public let requestResets = Atomic<UInt64>(0)
    /// Requests answered 503 because their cluster had no host to pick (MOSN counts them, with `noRoute`, in
    /// downstream `request_failed`).
    public let noHealthyUpstream = Atomic<UInt64>(0)
    /// Replies Skiff generated itself (no route, overflow, timeout, bad request ...).
    public let localReplies = Atomic<UInt64>(0)
    /// Requests refused by the codec (malformed or smuggling-shaped), each with a 4xx and a closed connection.
    public let protocolErrors = Atomic<UInt64>(0)
    /// Clients answered 408 and closed for not finishing a request head in time (`request_header_timeout`).
    public let headerTimeouts = Atomic<UInt64>(0)
    /// Clients answered 408 and closed because their request body stalled (`request_body_timeout`).
    public let bodyTimeouts = Atomic<UInt64>(0)
    /// Keep-alive connections closed for sending nothing between requests (`connection_idle_timeout`).
    public let idleTimeouts = Atomic<UInt64>(0)
    /// Requests answered 504 at the route timeout.
    public let routeTimeouts = Atomic<UInt64>(0)
    /// Requests that matched no route (404).
    public let noRoute = Atomic<UInt64>(0)
    /// Responses cut mid-body because the upstream went away.
    public let upstreamResets = Atomic<UInt64>(0)
    /// Retries sent (connect failure, reset, 5xx or a retriable status).
    public let retries = Atomic<UInt64>(0)
    /// Idle keep-alive upstream connections reused for a request.
    public let upstreamReused = Atomic<UInt64>(0)

    public init() {}

    deinit { statuses.deallocate() }

    /// Counts a response by class. Its exact status goes to `statuses` too: the exchange does that through its own
    /// copy of the table's address (`HTTPExchange.countResponse`), which costs no retain of this object.
    @inline(__always) func countResponseClass(_ status: Int) {
        switch status {
        case ..<200: responses1xx.wrappingAdd(1, ordering: .relaxed)
        case ..<300: responses2xx.wrappingAdd(1, ordering: .relaxed)
        case ..<400: responses3xx.wrappingAdd(1, ordering: .relaxed)
        case ..<500: responses4xx.wrappingAdd(1, ordering: .relaxed)
        default: responses5xx.wrappingAdd(1, ordering: .relaxed)
        }
    }
}
