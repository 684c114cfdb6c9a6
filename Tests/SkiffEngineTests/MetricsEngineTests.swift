import Glibc
import Logging
import SkiffConfig
import SkiffTestSupport
import SkiffUpstream
import Testing

@testable import SkiffEngine

/// `/metrics` from a real engine (issue 18): every family is in docs/metrics.md's tables, promtool finds nothing but
/// the MOSN counter names the doc lists as kept (and finds every one of them), responses are counted by code and
/// timed per listener, the host gauges follow health, ejection and admin state, the process and reload families
/// say what happened.
@Suite(.serialized) struct MetricsEngineTests {
    /// HTTP (netpoll), Bolt and tcp_proxy listeners; a checked cluster with outlier detection, an echo cluster, an
    /// unreachable RPC cluster.
    static func config(web: Int, tcp: Int, rpc: Int, backend: Int, echo: Int, metrics: String = "") throws
        -> SkiffConfiguration
    {
        try ConfigDecoder.decode(
            #"""
            {"servers":[{
              "routers":[
                {"router_config_name":"h","virtual_hosts":[{"name":"v","domains":["*"],
                  "routers":[{"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]},
                {"router_config_name":"b","virtual_hosts":[{"name":"v","domains":["*"],
                  "routers":[{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"r"}}]}]}],
              "listeners":[
                {"name":"web","address":"127.0.0.1:\#(web)","thread_model":"netpoll","pollers":1,
                 "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"h"}}]}]},
                {"name":"tcp","address":"127.0.0.1:\#(tcp)","thread_model":"rwloop",
                 "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"t"}}]}]},
                {"name":"rpc","address":"127.0.0.1:\#(rpc)","thread_model":"netpoll","pollers":1,
                 "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"bolt","upstream_protocol":"bolt","router_config_name":"b"}}]}]}]}],
             "cluster_manager":{"clusters":[
               {"name":"c","health_check":{"protocol":"Http1","service_name":"svc-c","interval":"200ms","timeout":"1s",
                  "check_config":{"http_check_config":{"path":"/health"}}},
                "outlier_detection":{"consecutive_errors":5,"base_ejection_time":"30s","max_ejection_percent":100},
                "hosts":[{"address":"127.0.0.1:\#(backend)"}]},
               {"name":"t","outlier_detection":{"consecutive_errors":5,"base_ejection_time":"30s","max_ejection_percent":100},
                "hosts":[{"address":"127.0.0.1:\#(echo)"}]},
               {"name":"r","hosts":[{"address":"127.0.0.1:1"}]}]}\#(metrics)}
            """#)
    }

    /// A started engine with its backends; `stop` ends them all.
    final class Rig {
        let backend: HTTPTestServer
        let echo: EchoServer
        let engine: Engine
        let web: Int

        init(metrics: String = "", configPath: String = "") throws {
            backend = try HTTPTestServer(name: "b")
            echo = try EchoServer()
            let (web, tcp, rpc) = (freePort(), freePort(), freePort())
            self.web = web
            engine = try Engine(
                config: try MetricsEngineTests.config(
                    web: web, tcp: tcp, rpc: rpc, backend: backend.port, echo: echo.port, metrics: metrics),
                logger: Logger(label: "test"), configPath: configPath)
            try engine.start()
        }

        func stop() {
            engine.stop()
            backend.stop()
            echo.stop()
        }

        var text: String { String(decoding: AdminAPI.prometheus(engine), as: UTF8.self) }
        var lines: [String] { text.split(separator: "\n").map(String.init) }

        /// One request on a fresh connection; the status line's code.
        func get(_ path: String) throws -> Int {
            let s = try TestSocket.connect(port: web)
            defer { s.close() }
            try s.send("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let reply = String(decoding: try s.receiveToEOF(), as: UTF8.self)
            return Int(reply.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
    }

    /// Family names (`# TYPE` lines) of an exposition text.
    static func families(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            out[String(parts[2])] = String(parts[3])
        }
        return out
    }

    @Test func everyFamilyIsDocumentedAndPromtoolFlagsOnlyTheKeptMOSNNames() throws {
        let rig = try Rig()
        defer { rig.stop() }
        #expect(try rig.get("/small") == 200)
        let text = rig.text
        let families = Self.families(text)
        let doc = try MetricsDoc.documented()
        let undocumented = families.keys.filter { !MetricsDoc.isDocumented($0, in: doc) }
        #expect(undocumented.sorted() == [], "families missing from docs/metrics.md")
        // Nothing that is not a counter ends in _total.
        #expect(families.filter { $0.key.hasSuffix("_total") && $0.value != "counter" }.keys.sorted() == [])

        // promtool flags exactly the kept MOSN names: the doc's list is neither short nor stale.
        let file = try writeTempFile(text, suffix: ".prom")
        defer { unlink(file) }
        let raw = try SkiffProcess.runCommand("sh", ["-c", "promtool check metrics < \(file)"]).output
        let suffix = " counter metrics should have \"_total\" suffix"
        let flagged = Set(raw.split(separator: "\n").filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) })
        #expect(flagged == (try PromtoolCheck.keptMOSNCounters()))
        #expect(try PromtoolCheck.problems(text) == [])
    }

    @Test func responsesAreCountedByCodeAndTimedPerListener() throws {
        let rig = try Rig()
        defer { rig.stop() }
        for _ in 0..<3 { #expect(try rig.get("/small") == 200) }
        #expect(try rig.get("/status/503") == 503)
        #expect(try rig.get("/status/404") == 404)
        #expect(try rig.get("/status/418") == 418)
        #expect(try rig.get("/status/299") == 299)
        let lines = rig.lines
        for expected in [
            #"downstream_request_total{listener="web"} 7"#, #"downstream_request_200_total{listener="web"} 3"#,
            #"downstream_request_503_total{listener="web"} 1"#, #"downstream_request_404_total{listener="web"} 1"#,
            #"downstream_request_500_total{listener="web"} 0"#, #"downstream_request_other_code{listener="web"} 2"#,
            #"downstream_request_2xx_total{listener="web"} 4"#, #"downstream_request_5xx_total{listener="web"} 1"#,
            #"downstream_request_duration_seconds_count{listener="web"} 7"#,
            #"downstream_request_duration_seconds_bucket{listener="web",le="+Inf"} 7"#,
            #"downstream_request_failed{listener="web"} 0"#, #"downstream_request_reset{listener="web"} 0"#,
            #"upstream_request_total{cluster="c"} 7"#,
            #"upstream_response_failed{cluster="c",host="127.0.0.1:\#(rig.backend.port)"} 1"#,
            #"downstream_request_total{listener="rpc"} 0"#,
            #"downstream_request_duration_seconds_count{listener="rpc"} 0"#,
            #"skiff_listener_info{listener="tcp",address="127.0.0.1:\#(rig.engine.listeners[1].address.port)",protocol="tcp",thread_model="rwloop"} 1"#,
        ] {
            #expect(lines.contains(expected), "\(expected)")
        }
        // MOSN's nanosecond sum is the histogram's sum.
        let nanos = try #require(Self.value(lines, #"downstream_request_time_total{listener="web"}"#))
        let seconds = try #require(Self.value(lines, #"downstream_request_duration_seconds_sum{listener="web"}"#))
        #expect(nanos > 0 && abs(nanos / 1e9 - seconds) < 1e-6)
        // No per-listener request families for tcp_proxy.
        #expect(!lines.contains { $0.hasPrefix(#"downstream_request_total{listener="tcp"}"#) })
    }

    @Test func hostGaugesFollowHealthEjectionAndAdminState() throws {
        let rig = try Rig()
        defer { rig.stop() }
        let host = try #require(rig.engine.clusters["t"]?.hosts.first)
        let labels = #"{cluster="t",host="127.0.0.1:\#(rig.echo.port)"}"#
        func gauge(_ name: String, _ extra: String = "") -> Double? {
            let l = extra.isEmpty ? labels : String(labels.dropLast()) + ",\(extra)}"
            return Self.value(rig.lines, name + l)
        }
        #expect(gauge("upstream_host_healthy") == 1)
        #expect(gauge("upstream_host_ejected") == 0)
        #expect(gauge("upstream_host_admin_state", #"state="ready""#) == 1)
        #expect(gauge("upstream_host_admin_state", #"state="drain""#) == 0)

        host.health.record(.init(ok: false, reason: "L4CON refused", latencyNs: 0, at: 0))
        #expect(gauge("upstream_host_healthy") == 0)
        host.health.record(.init(ok: true, reason: "L4OK", latencyNs: 0, at: 0))
        #expect(gauge("upstream_host_healthy") == 1)

        host.health.eject(untilMs: UInt64.max)
        #expect(gauge("upstream_host_ejected") == 1)
        #expect(gauge("upstream_host_healthy") == 0)
        #expect(gauge("upstream_request_failure_eject") == 1)
        host.health.unEject()
        #expect(gauge("upstream_host_ejected") == 0)
        #expect(gauge("upstream_host_healthy") == 1)

        host.adminState = .drain
        #expect(gauge("upstream_host_admin_state", #"state="ready""#) == 0)
        #expect(gauge("upstream_host_admin_state", #"state="drain""#) == 1)
        #expect(gauge("upstream_host_admin_state", #"state="maint""#) == 0)
        // Draining is not unhealthy: the axes stay apart.
        #expect(gauge("upstream_host_healthy") == 1)
        // Only upstream_host_healthy has "health" in a per-host series name.
        let perHost = rig.lines.filter { !$0.hasPrefix("#") && $0.contains(#"host=""#) }
        #expect(Set(perHost.compactMap { $0.split(separator: "{").first.map(String.init) }.filter { $0.contains("health") })
            == ["upstream_host_healthy"])
    }

    @Test func processFamiliesReadProcSelfUnlessTheSinkDisablesThem() throws {
        let rig = try Rig()
        let lines = rig.lines
        rig.stop()
        let now = Double(time(nil))
        let start = try #require(Self.value(lines, "process_start_time_seconds"))
        #expect(start <= now + 1 && start > now - 86400 * 30)
        let fds = try #require(Self.value(lines, "process_open_fds"))
        let maxFDs = try #require(Self.value(lines, "process_max_fds"))
        #expect(fds > 3 && fds <= maxFDs)
        #expect((Self.value(lines, "process_resident_memory_bytes") ?? 0) > 1_048_576)
        #expect((Self.value(lines, "process_virtual_memory_bytes") ?? 0) > 1_048_576)
        #expect((Self.value(lines, "process_cpu_seconds_total") ?? 0) > 0, "this process has run")
        #expect(lines.contains { $0.hasPrefix(#"skiff_build_info{version="dev",build=""#) && $0.hasSuffix(" 1") })

        let quiet = try Rig(
            metrics: #","metrics":{"sinks":[{"type":"prometheus","config":{"port":\#(freePort()),"disable_collect_process":true}}]}"#)
        defer { quiet.stop() }
        #expect(!quiet.text.contains("process_"))
        #expect(quiet.text.contains("skiff_build_info{"))
    }

    @Test func reloadsAreCountedByOriginAndResult() throws {
        let backend = try HTTPTestServer(name: "b")
        let echo = try EchoServer()
        defer {
            backend.stop()
            echo.stop()
        }
        let tcp = freePort()
        let good = #"""
            {"servers":[{"listeners":[{"name":"t","address":"127.0.0.1:\#(tcp)",
              "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"t"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"t","hosts":[{"address":"127.0.0.1:\#(echo.port)"}]}]}}
            """#
        let path = try writeTempFile(good)
        defer { unlink(path) }
        let engine = try Engine(
            config: try ConfigDecoder.decode(good), logger: Logger(label: "test"), configPath: path)
        try engine.start()
        defer { engine.stop() }
        func value(_ series: String) -> Double? {
            Self.value(String(decoding: AdminAPI.prometheus(engine), as: UTF8.self).split(separator: "\n").map(String.init), series)
        }
        let startedAt = try #require(value("skiff_config_last_reload_success_timestamp_seconds"))
        #expect(abs(startedAt - Double(time(nil))) < 60)
        #expect(value("skiff_config_last_reload_successful") == 1)
        #expect(value(#"skiff_config_reloads_total{origin="file",result="applied"}"#) == 0)

        // A file that does not decode is refused; the gauge says so until a config applies.
        let f = fopen(path, "w")
        fputs("{not json", f)
        fclose(f)
        #expect(throws: EngineError.self) { try engine.reloadFromFile() }
        #expect(value(#"skiff_config_reloads_total{origin="file",result="refused"}"#) == 1)
        #expect(value("skiff_config_last_reload_successful") == 0)

        let g = fopen(path, "w")
        fputs(good, g)
        fclose(g)
        usleep(20_000)
        _ = try engine.reloadFromFile()
        #expect(value(#"skiff_config_reloads_total{origin="file",result="applied"}"#) == 1)
        #expect(value("skiff_config_last_reload_successful") == 1)
        #expect((value("skiff_config_last_reload_success_timestamp_seconds") ?? 0) >= startedAt)

        // What a control plane applies counts under its own origin.
        _ = try engine.reload(config: try ConfigDecoder.decode(good), configText: [], origin: "xds")
        #expect(value(#"skiff_config_reloads_total{origin="xds",result="applied"}"#) == 1)
        #expect(value(#"skiff_config_reloads_total{origin="xds",result="refused"}"#) == 0)
        #expect(value(#"skiff_config_reloads_total{origin="file",result="applied"}"#) == 1)
    }

    /// The value of the sample whose series (name and labels) is exactly `series`.
    static func value(_ lines: [String], _ series: String) -> Double? {
        for line in lines where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}
