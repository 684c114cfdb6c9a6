import SkiffControl
import SkiffNet
import SkiffProxy
import SkiffTelemetry

/// The per-listener (`listener` label) families of `/metrics`: MOSN's `downstream_*` names where MOSN has the
/// metric (docs/metrics.md has the table and the naming rule), Skiff's additions beside them, the listener's
/// `skiff_write*` families and `skiff_listener_info`. On the scraping thread; reads relaxed atomics and histogram
/// snapshots, never a lock the request path takes.
extension AdminAPI {
    /// MOSN's per-code response counters (`downstream_request_<code>_total`); any other code is
    /// `downstream_request_other_code`.
    static let mosnStatusCodes = [200, 206, 302, 304, 400, 403, 404, 416, 499, 500, 502, 503, 504]

    static func downstreamFamilies(
        _ p: inout PrometheusWriter, _ engine: Engine, live: [String: [Connection]]
    ) {
        for l in engine.listeners {
            let labels: PrometheusWriter.Labels = [(name: "listener", value: l.name)]
            p.gauge(
                name: "skiff_listener_info", help: "1 per listener: its address, protocol and thread model.",
                labels: labels + [
                    (name: "address", value: "\(l.address)"), (name: "protocol", value: l.protocolName),
                    (name: "thread_model", value: l.model.rawValue),
                ], value: 1)
            let st = l.listener.stats
            p.counter(
                name: "downstream_connection_total", help: "Connections accepted.", labels: labels,
                value: st.accepted.load(ordering: .relaxed))
            p.gauge(
                name: "downstream_connection_active", help: "Connections open.", labels: labels,
                value: st.active.load(ordering: .relaxed))
            p.counter(
                name: "downstream_connection_destroy", help: "Connections closed.", labels: labels,
                value: st.closed.load(ordering: .relaxed))
            p.counter(
                name: "downstream_connection_refused_total", help: "Connections refused at max_connections.",
                labels: labels, value: st.refusedOverLimit.load(ordering: .relaxed))
            var writes = l.totals.snapshot
            for c in live[l.name] ?? [] where c.direction == .inbound { writes = writes + c.stats.snapshot }
            p.counter(
                name: "downstream_bytes_read_total", help: "Bytes read from clients.", labels: labels,
                value: writes.bytesRead)
            p.counter(
                name: "downstream_bytes_write_total", help: "Bytes written to clients.", labels: labels,
                value: writes.bytesWritten)
            writeFamilies(&p, labels: labels, writes)
            if let h = l.http?.stats ?? l.autoHTTPStats {
                httpRequestFamilies(&p, labels: labels, h)
                if let h2 = l.http2?.http2Stats { http2Families(&p, labels: labels, h2) }
            } else if let r = l.rpcStats {
                rpcRequestFamilies(&p, labels: labels, r)
            }
        }
    }

    private static func httpRequestFamilies(
        _ p: inout PrometheusWriter, labels: PrometheusWriter.Labels, _ h: HTTPListenerStats
    ) {
        requestCounts(
            &p, labels: labels, total: h.requestTotal.load(ordering: .relaxed),
            active: h.requestActive.load(ordering: .relaxed))
        p.counter(
            name: "downstream_request_reset",
            help: "Requests torn down without a complete response (client gone, or connection closed under them).",
            labels: labels, value: h.requestResets.load(ordering: .relaxed))
        p.counter(
            name: "downstream_request_failed", help: "Requests Skiff failed itself: no route, no healthy upstream.",
            labels: labels,
            value: h.noRoute.load(ordering: .relaxed) &+ h.noHealthyUpstream.load(ordering: .relaxed))
        for code in mosnStatusCodes {
            p.counter(
                name: "downstream_request_\(code)_total", help: "Responses with status \(code).", labels: labels,
                value: h.statuses.count(of: code))
        }
        p.counter(
            name: "downstream_request_other_code",
            help: "Responses with a status that has no downstream_request_<code>_total of its own.", labels: labels,
            value: h.statuses.countExcluding(mosnStatusCodes))
        for (cls, v) in [
            ("1xx", h.responses1xx.load(ordering: .relaxed)), ("2xx", h.responses2xx.load(ordering: .relaxed)),
            ("3xx", h.responses3xx.load(ordering: .relaxed)), ("4xx", h.responses4xx.load(ordering: .relaxed)),
            ("5xx", h.responses5xx.load(ordering: .relaxed)),
        ] {
            p.counter(
                name: "downstream_request_\(cls)_total", help: "Responses with a \(cls) status.", labels: labels,
                value: v)
        }
        p.counter(
            name: "downstream_request_protocol_error_total", help: "Requests refused by the codec.",
            labels: labels, value: h.protocolErrors.load(ordering: .relaxed))
        requestLatency(&p, labels: labels, h.latency)
    }

    private static func rpcRequestFamilies(
        _ p: inout PrometheusWriter, labels: PrometheusWriter.Labels, _ r: RPCListenerStats
    ) {
        requestCounts(
            &p, labels: labels, total: r.requestTotal.load(ordering: .relaxed),
            active: r.requestActive.load(ordering: .relaxed))
        p.counter(
            name: "downstream_request_failed", help: "Requests Skiff failed itself: no route, no healthy upstream.",
            labels: labels,
            value: r.noRoute.load(ordering: .relaxed) &+ r.noHealthyUpstream.load(ordering: .relaxed))
        p.counter(
            name: "downstream_request_protocol_error_total", help: "Requests refused by the codec.",
            labels: labels, value: r.protocolErrors.load(ordering: .relaxed))
        requestLatency(&p, labels: labels, r.latency)
    }

    private static func requestCounts(_ p: inout PrometheusWriter, labels: PrometheusWriter.Labels, total: UInt64, active: Int) {
        p.counter(name: "downstream_request_total", help: "Requests received.", labels: labels, value: total)
        p.gauge(name: "downstream_request_active", help: "Requests in flight.", labels: labels, value: active)
    }

    private static func requestLatency(_ p: inout PrometheusWriter, labels: PrometheusWriter.Labels, _ h: LatencyHistogram) {
        let snap = h.snapshot()
        p.counter(
            name: "downstream_request_time_total",
            help: "Request durations added up, in nanoseconds (MOSN's unit; the histogram's _sum in seconds).",
            labels: labels, value: snap.sum)
        latencyHistogram(
            &p, name: "downstream_request_duration_seconds",
            help: "Request arrival (head complete) to response complete; RPC: request sent to its answer.",
            labels: labels, snap)
    }

    /// Skiff's write-path families for one listener or cluster.
    static func writeFamilies(_ p: inout PrometheusWriter, labels: PrometheusWriter.Labels, _ w: WriteStatsSnapshot) {
        p.counter(name: "skiff_write_buffers_total", help: "Buffers queued for writing.", labels: labels, value: w.buffersQueued)
        p.counter(name: "skiff_writev_total", help: "writev calls.", labels: labels, value: w.writevCalls)
        p.counter(name: "skiff_writev_partial_total", help: "writev calls that wrote less than gathered.", labels: labels, value: w.partialWrites)
        p.counter(name: "skiff_writev_eagain_total", help: "writev calls answered EAGAIN.", labels: labels, value: w.eagain)
        for (i, bucket) in ["1", "2-3", "4-7", "8-15", "16+"].enumerated() {
            p.counter(
                name: "skiff_writev_buffers_per_call_total", help: "writev calls by buffers gathered.",
                labels: labels + [(name: "buffers", value: bucket)], value: w.perWritev[i])
        }
    }

    /// Latency histogram bucket bounds for Prometheus, in nanoseconds (100 µs .. 30 s).
    static let latencyBounds: [UInt64] = [
        100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000,
        250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000, 30_000_000_000,
    ]

    /// A `LatencyHistogram` snapshot as a Prometheus histogram in seconds, on `latencyBounds`.
    static func latencyHistogram(
        _ p: inout PrometheusWriter, name: String, help: String, labels: PrometheusWriter.Labels,
        _ snap: HistogramSnapshot
    ) {
        let cum = snap.cumulativeBuckets(bounds: latencyBounds)
        let buckets = zip(latencyBounds, cum).map { (le: Double($0.0) / 1e9, cumulativeCount: $0.1) }
        p.histogram(
            name: name, help: help, labels: labels, buckets: buckets, sum: Double(snap.sum) / 1e9, count: snap.count)
    }
}
