import SkiffConfig
import SkiffControl
import SkiffJSON
import SkiffNet
import SkiffTelemetry
import SkiffUpstream

/// The admin HTTP API (MOSN's paths plus Prometheus): routes on an `AdminHTTPServer`, answered from live counters.
enum AdminAPI {
    static func install(on server: AdminHTTPServer, engine: Engine, control: EngineControl) {
        server.route("GET", "/api/v1/stats") { _ in .json(mosnStats(engine)) }
        server.route("GET", "/api/v1/clusters") { _ in .json(engine.publisher.hosts().jsonBytes) }
        server.route("GET", "/api/v1/config_dump") { _ in .json(engine.configJSON()) }
        server.route("GET", "/metrics") { _ in
            AdminResponse(status: 200, contentType: PrometheusWriter.contentType, headers: [], body: prometheus(engine))
        }
        server.route("POST", "/api/v1/hosts/*/*/state") { req in
            // Body: {"state":"drain"} or the bare word.
            var state = String(decoding: req.body, as: UTF8.self)
            if let v = try? JSONParser.parse(req.body), case .object(let m) = v,
                case .string(let s)? = m.first(where: { $0.key == "state" })?.value
            {
                state = s
            }
            state = state.filter { !$0.isWhitespace }
            // The access policy let it through (AdminAccessPolicy); the caller's uid is known for local callers,
            // else recorded as 4294967295 (a token holder from another host).
            switch control.setHostState(
                cluster: req.pathParameters[0], host: req.pathParameters[1], state: state,
                uid: req.peerUID ?? UInt32.max, via: "admin http \(req.remoteAddress)")
            {
            case .ok(let fields): return .json(fields)
            case .error(let e): return .json(Array("{\"error\":\"\(e.replacingQuotes)\"}".utf8), status: 400)
            }
        }
        server.route("POST", "/api/v1/hosts/*/*/weight") { req in weightRoute(req, control) }
        installProbes(on: server, engine: engine, control: control)
        installLogLevel(on: server, control: control)
    }

    /// MOSN's `/api/v1/stats` shape: type -> namespace -> key -> value.
    static func mosnStats(_ engine: Engine) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("downstream")
        w.beginObject()
        let live = engine.liveConnectionsByOwner()
        for l in engine.listeners {
            var writes = l.totals.snapshot
            for c in live[l.name] ?? [] where c.direction == .inbound { writes = writes + c.stats.snapshot }
            w.key(dynamic: "listener.\(l.name)")
            w.beginObject()
            w.key("connection_total")
            w.uint(l.listener.stats.accepted.load(ordering: .relaxed))
            w.key("connection_active")
            w.int(l.listener.stats.active.load(ordering: .relaxed))
            w.key("connection_destroy")
            w.uint(l.listener.stats.closed.load(ordering: .relaxed))
            w.key("bytes_read_total")
            w.uint(writes.bytesRead)
            w.key("bytes_write_total")
            w.uint(writes.bytesWritten)
            if let h = l.http?.stats {
                w.key("request_total")
                w.uint(h.requestTotal.load(ordering: .relaxed))
                w.key("request_active")
                w.int(h.requestActive.load(ordering: .relaxed))
                w.key("request_2xx_total")
                w.uint(h.responses2xx.load(ordering: .relaxed))
                w.key("request_3xx_total")
                w.uint(h.responses3xx.load(ordering: .relaxed))
                w.key("request_4xx_total")
                w.uint(h.responses4xx.load(ordering: .relaxed))
                w.key("request_5xx_total")
                w.uint(h.responses5xx.load(ordering: .relaxed))
            }
            w.endObject()
        }
        w.endObject()
        w.key("upstream")
        w.beginObject()
        for c in engine.clusters.clusters.values.sorted(by: { $0.name < $1.name }) {
            w.key(dynamic: "cluster.\(c.name)")
            w.beginObject()
            w.key("request_total")
            w.uint(c.stats.requestTotal.load(ordering: .relaxed))
            w.key("request_active")
            w.int(c.stats.requestActive.load(ordering: .relaxed))
            w.key("connection_active")
            w.int(c.stats.connectionActive.load(ordering: .relaxed))
            w.endObject()
            for h in c.hosts {
                let s = h.stats
                w.key(dynamic: "cluster.\(c.name).host.\(h.description)")
                w.beginObject()
                w.key("connection_total")
                w.uint(s.connectionTotal.load(ordering: .relaxed))
                w.key("connection_active")
                w.int(s.connectionActive.load(ordering: .relaxed))
                w.key("connection_close")
                w.uint(s.connectionClose.load(ordering: .relaxed))
                w.key("connection_con_fail")
                w.uint(s.connectionConFail.load(ordering: .relaxed))
                w.key("request_total")
                w.uint(s.requestTotal.load(ordering: .relaxed))
                w.key("request_active")
                w.int(s.requestActive.load(ordering: .relaxed))
                w.key("request_timeout")
                w.uint(s.requestTimeout.load(ordering: .relaxed))
                w.key("request_local_reset")
                w.uint(s.requestLocalReset.load(ordering: .relaxed))
                w.key("request_remote_reset")
                w.uint(s.requestRemoteReset.load(ordering: .relaxed))
                w.key("request_retry")
                w.uint(s.requestRetry.load(ordering: .relaxed))
                w.key("response_success")
                w.uint(s.responseSuccess.load(ordering: .relaxed))
                w.key("response_failed")
                w.uint(s.responseFailed.load(ordering: .relaxed))
                w.endObject()
            }
        }
        w.endObject()
        w.endObject()
        return w.bytes
    }

    /// Latency histogram bucket bounds for Prometheus, in nanoseconds (100 µs .. 30 s).
    static let latencyBounds: [UInt64] = [
        100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000,
        250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000, 30_000_000_000,
    ]

    /// Prometheus text 0.0.4 with MOSN's metric names (`<type>_<key>{labels}`) plus Skiff's write and thread families.
    static func prometheus(_ engine: Engine) -> [UInt8] {
        var p = PrometheusWriter()
        let live = engine.liveConnectionsByOwner()
        for l in engine.listeners {
            let labels = [(name: "listener", value: l.name), (name: "thread_model", value: l.model.rawValue)]
            let st = l.listener.stats
            p.counter(
                name: "downstream_connection_total", help: "Connections accepted.", labels: labels,
                value: st.accepted.load(ordering: .relaxed))
            p.gauge(
                name: "downstream_connection_active", help: "Connections open.", labels: labels,
                value: st.active.load(ordering: .relaxed))
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
            if let h = l.http?.stats {
                p.counter(
                    name: "downstream_request_total", help: "Requests received.", labels: labels,
                    value: h.requestTotal.load(ordering: .relaxed))
                p.gauge(
                    name: "downstream_request_active", help: "Requests in flight.", labels: labels,
                    value: h.requestActive.load(ordering: .relaxed))
                for (cls, v) in [
                    ("1xx", h.responses1xx.load(ordering: .relaxed)), ("2xx", h.responses2xx.load(ordering: .relaxed)), ("3xx", h.responses3xx.load(ordering: .relaxed)), ("4xx", h.responses4xx.load(ordering: .relaxed)),
                    ("5xx", h.responses5xx.load(ordering: .relaxed)),
                ] {
                    p.counter(
                        name: "downstream_request_\(cls)_total", help: "Responses with a \(cls) status.", labels: labels,
                        value: v)
                }
                p.counter(
                    name: "downstream_request_protocol_error_total", help: "Requests refused by the codec.",
                    labels: labels, value: h.protocolErrors.load(ordering: .relaxed))
            }
        }
        for c in engine.clusters.clusters.values.sorted(by: { $0.name < $1.name }) {
            let cl = [(name: "cluster", value: c.name)]
            for (name, help, v) in [
                ("upstream_overflow_max_connections_total", "Refused by max_connections.", c.stats.overflowConnections.load(ordering: .relaxed)),
                ("upstream_overflow_max_requests_total", "Refused by max_requests.", c.stats.overflowRequests.load(ordering: .relaxed)),
                ("upstream_overflow_max_pending_requests_total", "Refused by max_pending_requests.", c.stats.overflowPending.load(ordering: .relaxed)),
                ("upstream_overflow_max_retries_total", "Refused by max_retries.", c.stats.overflowRetries.load(ordering: .relaxed)),
                ("upstream_retry_total", "Retries sent.", c.stats.retryTotal.load(ordering: .relaxed)),
            ] {
                p.counter(name: name, help: help, labels: cl, value: v)
            }
            for h in c.hosts {
                let labels = cl + [(name: "host", value: h.description)]
                let s = h.stats
                for (name, help, v) in [
                    ("upstream_connection_total", "Connections opened.", s.connectionTotal.load(ordering: .relaxed)),
                    ("upstream_connection_close_total", "Connections closed.", s.connectionClose.load(ordering: .relaxed)),
                    ("upstream_connection_con_fail_total", "Connects that failed.", s.connectionConFail.load(ordering: .relaxed)),
                    ("upstream_request_total", "Requests sent.", s.requestTotal.load(ordering: .relaxed)),
                    ("upstream_request_timeout_total", "Requests that timed out.", s.requestTimeout.load(ordering: .relaxed)),
                    ("upstream_request_local_reset_total", "Requests reset by Skiff.", s.requestLocalReset.load(ordering: .relaxed)),
                    ("upstream_request_remote_reset_total", "Requests reset by the host.", s.requestRemoteReset.load(ordering: .relaxed)),
                    ("upstream_request_retry_total", "Requests lost unanswered here (or answered with a retried status) and sent again.", s.requestRetry.load(ordering: .relaxed)),
                    ("upstream_response_success_total", "Responses below 500.", s.responseSuccess.load(ordering: .relaxed)),
                    ("upstream_response_failed_total", "Responses 500 and above.", s.responseFailed.load(ordering: .relaxed)),
                ] {
                    p.counter(name: name, help: help, labels: labels, value: v)
                }
                p.gauge(
                    name: "upstream_connection_active", help: "Connections open.", labels: labels,
                    value: s.connectionActive.load(ordering: .relaxed))
                p.gauge(
                    name: "upstream_request_active", help: "Requests in flight.", labels: labels,
                    value: s.requestActive.load(ordering: .relaxed))
                p.gauge(
                    name: "upstream_host_admin_state", help: "0 READY, 1 DRAIN, 2 MAINT.", labels: labels,
                    value: Int(h.adminState.rawValue))
                let snap = h.latency.snapshot()
                let cum = snap.cumulativeBuckets(bounds: latencyBounds)
                let buckets = zip(latencyBounds, cum).map { (le: Double($0.0) / 1e9, cumulativeCount: $0.1) }
                p.histogram(
                    name: "upstream_request_duration_seconds", help: "Request sent to response complete.",
                    labels: labels, buckets: buckets, sum: Double(snap.sum) / 1e9, count: snap.count)
            }
            var writes = c.upstreamWrites.snapshot
            for conn in live[c.name] ?? [] where conn.direction == .outbound { writes = writes + conn.stats.snapshot }
            writeFamilies(&p, labels: [(name: "cluster", value: c.name)], writes)
        }
        tlsFamilies(&p, engine)
        xdsFamilies(&p, engine)
        accessLogFamilies(&p, engine)
        for g in engine.pollerGroups {
            for poller in g.pollers {
                let s = poller.snapshot
                let labels = [(name: "group", value: g.name), (name: "poller", value: String(s.index))]
                p.counter(name: "skiff_poller_wakeups_total", help: "epoll_wait returns.", labels: labels, value: s.wakeups)
                p.counter(name: "skiff_poller_events_total", help: "epoll events handled.", labels: labels, value: s.events)
                p.gauge(name: "skiff_poller_fds", help: "Connections registered.", labels: labels, value: s.registered)
            }
        }
        p.counter(
            name: "skiff_engine_errors_total", help: "Errors nobody waited for: logged, and engine.error events.",
            value: engine.errors.count)
        return p.bytes
    }

    private static func writeFamilies(_ p: inout PrometheusWriter, labels: [(name: String, value: String)], _ w: WriteStatsSnapshot) {
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
}

extension String {
    var replacingQuotes: String { String(map { $0 == "\"" ? "'" : $0 }) }
}
