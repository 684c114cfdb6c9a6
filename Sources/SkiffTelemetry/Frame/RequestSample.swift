/// One finished request as the live tap (`skiff ctl requests`, the console's Requests view) shows it:
/// `{"type":"request","ts":...,"listener":"web","proto":"http1","method":"GET",...}`.
///
/// Built on the executor that ran the request, only while someone watches and within the lane's per-second budget
/// (see `RequestTap`); `skipped` says how many requests that executor let pass unsampled just before this one, so a
/// reader can tell what share it sees.
public struct TelemetryRequestSample: TelemetryRecord {
    /// The `type` of a request line.
    public static let type: StaticString = "request"

    /// Wall clock at the end of the request, milliseconds since the epoch.
    public var ts: UInt64 = 0
    public var listener = ""
    /// `http1`, `bolt`, `boltv2`, `dubbo`.
    public var proto = ""
    /// HTTP method; for RPC the RPC method name.
    public var method = ""
    /// HTTP `Host`; for RPC the service.
    public var authority = ""
    /// HTTP request target; empty for RPC.
    public var path = ""
    /// HTTP status; for RPC 200 on success, else the status the codec answered with. 0: no response (cut).
    public var status: Int = 0
    public var cluster = ""
    /// The upstream host that answered (the last one tried); empty when none was chosen.
    public var host = ""
    public var latencyUs: UInt64 = 0
    /// Request and response body bytes (HTTP) or frame bytes (RPC).
    public var bytesIn: UInt64 = 0
    public var bytesOut: UInt64 = 0
    /// Response flags, comma separated: `LR` a reply Skiff made itself, `RT` retried, `UC` response cut off.
    public var flags = ""
    /// Why Skiff replied itself (`upstream connect failure`, `no route matched`, ...); empty otherwise.
    public var reason = ""
    /// Requests this executor did not sample since its previous sample (over its per-second budget).
    public var skipped: UInt64 = 0
    /// The sampling budget: at most this many samples per second per executor.
    public var budget: Int = 0

    public init() {}

    public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
        c.tag(TelemetryLine.typeKey, Self.type)
        c.field("ts", &ts)
        c.field("listener", &listener)
        c.field("proto", &proto)
        c.field("method", &method)
        c.field("authority", &authority)
        c.field("path", &path)
        c.field("status", &status)
        c.field("cluster", &cluster)
        c.field("host", &host)
        c.field("latency_us", &latencyUs)
        c.field("bytes_in", &bytesIn)
        c.field("bytes_out", &bytesOut)
        c.field("flags", &flags)
        c.field("reason", &reason)
        c.field("skipped", &skipped)
        c.field("budget", &budget)
    }
}

extension TelemetryRequestSample {
    /// `2xx` .. `5xx` for HTTP; `-` without a response or for RPC.
    public var statusClass: String { status >= 100 && status < 600 && proto == "http1" ? "\(status / 100)xx" : "-" }

    /// Path for HTTP, the service for RPC (its method is in `method`).
    public var target: String { proto == "http1" ? path : authority }
}
