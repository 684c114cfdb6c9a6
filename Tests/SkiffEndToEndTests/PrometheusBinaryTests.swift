import Glibc
import SkiffJSON
import SkiffNet
import SkiffTestSupport
import Testing

/// A real `prometheus` scraping a real skiff (issue 18): the shipped `configs/prometheus/prometheus.yml` with its
/// target moved to the skiff's metrics sink and a 1 s scrape interval, its alert rules loaded. `up` is 1; a host's
/// `upstream_host_healthy` goes to 0 when its backend stops and back to 1 when it returns; every query of the
/// Grafana dashboard returns data. Everything started is stopped by pid; every wait is bounded.
@Suite(.serialized) struct PrometheusBinaryTests {
    /// A prometheus on loopback with its own storage directory; stopped (SIGTERM, then SIGKILL) by `stop`.
    final class RealPrometheus {
        let dir: String
        let port: Int
        let process: SkiffProcess

        init(target: String) throws {
            var template = Array("/tmp/skiff-prometheus-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw TestError("mkdtemp") }
            dir = String(cString: made)
            let shipped = PrometheusConfigTests.dir
            let config = String(decoding: try readFile(shipped + "/prometheus.yml"), as: UTF8.self)
                .replacing("localhost:34902", with: target)
                .replacing("scrape_interval: 15s", with: "scrape_interval: 1s")
                .replacing("evaluation_interval: 15s", with: "evaluation_interval: 1s")
            #expect(config.contains(target) && config.contains("scrape_interval: 1s"), "the shipped config changed shape")
            try Self.write(dir + "/prometheus.yml", config)
            try Self.write(dir + "/alerts.yml", String(decoding: try readFile(shipped + "/alerts.yml"), as: UTF8.self))
            port = freePort()
            process = try SkiffProcess(
                executable: "prometheus",
                [
                    "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/data",
                    "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
                ])
        }

        static func write(_ path: String, _ text: String) throws {
            guard let f = fopen(path, "w") else { throw TestError("cannot write \(path)") }
            fputs(text, f)
            fclose(f)
        }

        func stop() {
            process.stop(seconds: 10)
            _ = try? SkiffProcess.runCommand("rm", ["-rf", dir])
        }

        /// An instant query's result vector (each series' labels and value), or nil when the query failed.
        func query(_ promql: String) -> [(labels: [String: String], value: String)]? {
            guard
                let r = try? SkiffProcess.runCommand(
                    "curl", ["-s", "-m", "5", "-G", "--data-urlencode", "query=\(promql)", "http://127.0.0.1:\(port)/api/v1/query"],
                    timeoutSeconds: 10),
                let json = try? JSONParser.parse(Array(r.output.utf8)), json["status"]?.stringValue == "success"
            else { return nil }
            return (json["data"]?["result"]?.arrayValue ?? []).map { series in
                var labels: [String: String] = [:]
                if case .object(let members)? = series["metric"] {
                    for m in members { labels[m.key] = m.value.stringValue ?? "" }
                }
                return (labels, series["value"]?.arrayValue.last?.stringValue ?? "")
            }
        }

        /// The single value of `promql` (first series), or nil.
        func value(_ promql: String) -> String? { query(promql)?.first?.value }
    }

    @Test func prometheusScrapesSkiffAndSeesAHostGoAndComeBack() throws {
        var b = try HTTPTestServer(name: "b")
        let a = try HTTPTestServer(name: "a")
        let bPort = b.port
        defer {
            a.stop()
            b.stop()
        }
        let (listener, admin, sink) = (freePort(), freePort(), freePort())
        let cfg = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"route":{"cluster_name":"c","timeout":"5s"}}]}]}],
             "listeners":[{"name":"web","address":"127.0.0.1:\(listener)","thread_model":"netpoll",
               "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"c","lb_type":"LB_ROUNDROBIN","connect_timeout":"500ms",
               "health_check":{"protocol":"Http1","service_name":"web-svc","timeout":"300ms","interval":"300ms",
                 "healthy_threshold":1,"unhealthy_threshold":2,"check_config":{"http_check_config":{"path":"/health"}}},
               "outlier_detection":{"consecutive_errors":50,"base_ejection_time":"1s","max_ejection_percent":50},
               "hosts":[{"address":"127.0.0.1:\(a.port)"},{"address":"127.0.0.1:\(bPort)"}]}]},
             "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(admin)}}},
             "metrics":{"sinks":[{"type":"prometheus","config":{"port":\(sink),"address":"127.0.0.1"}}]}}
            """
        let path = try writeTempFile(cfg)
        defer { unlink(path) }
        let skiff = try SkiffProcess(["start", "-c", path])
        defer { skiff.stop() }
        #expect(skiff.waitForOutput("started"), "\(skiff.output)")

        let prom = try RealPrometheus(target: "127.0.0.1:\(sink)")
        defer { prom.stop() }
        let ready = waitUntil(seconds: 30) {
            (try? SkiffProcess.runCommand(
                "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2", "http://127.0.0.1:\(prom.port)/-/ready"],
                timeoutSeconds: 5).output) == "200"
        }
        try #require(ready, "prometheus did not get ready: \(prom.process.output)")

        // A little traffic, a few 5xx among it.
        for i in 0..<40 { _ = try curl(["-s", "http://127.0.0.1:\(listener)/\(i % 10 == 0 ? "status/503" : "x")"]) }

        #expect(waitUntil(seconds: 30) { prom.value(#"up{job="skiff"}"#) == "1" }, "up: \(String(describing: prom.query("up")))")
        let bHealthy = #"upstream_host_healthy{cluster="c",host="127.0.0.1:\#(bPort)"}"#
        #expect(waitUntil(seconds: 30) { prom.value(bHealthy) == "1" }, "\(String(describing: prom.query(bHealthy)))")

        // Every query of the dashboard returns at least one series, with its variables filled in the way Grafana
        // would: the instance variable's "All" (.+), a rate interval that spans several scrapes.
        for _ in 0..<20 { _ = try curl(["-s", "http://127.0.0.1:\(listener)/x"]) }
        usleep(2_500_000)
        var empty: [String] = []
        let queries = try PrometheusConfigTests.dashboardQueries()
        #expect(queries.count >= 15)
        for (panel, expr) in queries {
            let filled = expr.replacing("$__rate_interval", with: "1m").replacing("$__interval", with: "15s")
                .replacing("$instance", with: ".+")
            let result = prom.query(filled)
            if result?.isEmpty ?? true { empty.append("\(panel): \(filled) -> \(String(describing: result))") }
        }
        #expect(empty == [], "dashboard queries without data")
        print("PROMETHEUS: \(queries.count) dashboard queries, \(queries.count - empty.count) with data")

        // The backend goes away: DOWN after two failed checks, 0 in Prometheus; it comes back: 1 again.
        b.stop()
        let stoppedAt = MonotonicClock.now()
        #expect(waitUntil(seconds: 30) { prom.value(bHealthy) == "0" }, "\(String(describing: prom.query(bHealthy)))")
        print("PROMETHEUS: upstream_host_healthy 0 after \(Double(MonotonicClock.now() - stoppedAt) / 1e9) s")
        #expect(prom.value(#"upstream_host_healthy{cluster="c",host="127.0.0.1:\#(a.port)"}"#) == "1")
        #expect(waitUntil(seconds: 10) { (try? HTTPTestServer(name: "b", port: bPort)).map { b = $0; return true } ?? false })
        #expect(waitUntil(seconds: 30) { prom.value(bHealthy) == "1" }, "\(String(describing: prom.query(bHealthy)))")
        #expect(
            (Double(prom.value(#"healthcheck_failure{cluster="c",service="web-svc"}"#) ?? "") ?? 0) >= 2,
            "the failed checks are counted")

        #expect(prom.process.stop(seconds: 10) == 0, "\(prom.process.output)")
        #expect(skiff.stop() == 0, "\(skiff.output)")
    }
}
