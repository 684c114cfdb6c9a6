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

    /// Prometheus text 0.0.4: MOSN's metric names and labels where MOSN has the metric (`<type>_<key>{labels}`),
    /// Skiff's beside them, and the process, build, config, TLS, xDS, poller and error families (docs/metrics.md).
    static func prometheus(_ engine: Engine) -> [UInt8] {
        var p = PrometheusWriter()
        let live = engine.liveConnectionsByOwner()
        downstreamFamilies(&p, engine, live: live)
        upstreamFamilies(&p, engine, live: live)
        processFamilies(&p, engine)
        tlsFamilies(&p, engine)
        xdsFamilies(&p, engine)
        accessLogFamilies(&p, engine)
        tracingFamilies(&p, engine)
        spliceFamilies(&p)
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
}

extension String {
    var replacingQuotes: String { String(map { $0 == "\"" ? "'" : $0 }) }
}
