import Testing

@testable import SkiffControl

@Suite struct PrometheusWriterTests {
    private func text(_ w: PrometheusWriter) -> String { String(decoding: w.bytes, as: UTF8.self) }

    @Test func countersAndGaugesGroupedByFamilyInFirstCallOrder() {
        var w = PrometheusWriter()
        w.counter(
            name: "upstream_request_total", help: "Requests sent upstream.",
            labels: [("cluster", "c1"), ("host", "127.0.0.1:8080")], value: 42)
        w.gauge(
            name: "upstream_connection_active", help: "Open upstream connections.", labels: [("cluster", "c1")],
            value: 3)
        w.counter(
            name: "upstream_request_total", help: "ignored: first help wins",
            labels: [("cluster", "c2"), ("host", "10.0.0.1:80")], value: 0)
        w.gauge(name: "upstream_connection_active", help: "", labels: [("cluster", "c2")], value: 0.25)
        w.counter(name: "process_cpu_seconds_total", help: "CPU time.", value: 1.5)
        #expect(
            text(w) == """
                # HELP upstream_request_total Requests sent upstream.
                # TYPE upstream_request_total counter
                upstream_request_total{cluster="c1",host="127.0.0.1:8080"} 42
                upstream_request_total{cluster="c2",host="10.0.0.1:80"} 0
                # HELP upstream_connection_active Open upstream connections.
                # TYPE upstream_connection_active gauge
                upstream_connection_active{cluster="c1"} 3
                upstream_connection_active{cluster="c2"} 0.25
                # HELP process_cpu_seconds_total CPU time.
                # TYPE process_cpu_seconds_total counter
                process_cpu_seconds_total 1.5

                """)
    }

    @Test func labelValuesAndHelpAreEscaped() {
        var w = PrometheusWriter()
        w.gauge(
            name: "skiff_info", help: "Build \\ info\nsecond line",
            labels: [("version", "a\"b\\c\nd"), ("é", "x")].filter { $0.0 != "é" }, value: 1)
        #expect(
            text(w) == #"""
                # HELP skiff_info Build \\ info\nsecond line
                # TYPE skiff_info gauge
                skiff_info{version="a\"b\\c\nd"} 1

                """#)
    }

    @Test func valueFormatting() {
        #expect(PrometheusWriter.format(3) == "3")
        #expect(PrometheusWriter.format(-2) == "-2")
        #expect(PrometheusWriter.format(0.005) == "0.005")
        #expect(PrometheusWriter.format(1e20) == "1e+20")
        #expect(PrometheusWriter.format(.infinity) == "+Inf")
        #expect(PrometheusWriter.format(-.infinity) == "-Inf")
        #expect(PrometheusWriter.format(.nan) == "NaN")
        var w = PrometheusWriter()
        w.gauge(name: "g", help: "h", value: Double.nan)
        w.gauge(name: "g", help: "h", labels: [("k", "v")], value: -7)
        #expect(text(w) == "# HELP g h\n# TYPE g gauge\ng NaN\ng{k=\"v\"} -7\n")
    }

    @Test func histogram() {
        var w = PrometheusWriter()
        let buckets: [(le: Double, cumulativeCount: UInt64)] = [(0.005, 1), (0.1, 4), (1, 9)]
        w.histogram(
            name: "upstream_request_duration_seconds", help: "Upstream request time.",
            labels: [("cluster", "c1")], buckets: buckets, sum: 2.75, count: 10)
        w.histogram(
            name: "upstream_request_duration_seconds", help: "Upstream request time.",
            labels: [("cluster", "c2")], buckets: [(0.005, 0), (.infinity, 0)], sum: 0, count: 0)
        #expect(
            text(w) == """
                # HELP upstream_request_duration_seconds Upstream request time.
                # TYPE upstream_request_duration_seconds histogram
                upstream_request_duration_seconds_bucket{cluster="c1",le="0.005"} 1
                upstream_request_duration_seconds_bucket{cluster="c1",le="0.1"} 4
                upstream_request_duration_seconds_bucket{cluster="c1",le="1"} 9
                upstream_request_duration_seconds_bucket{cluster="c1",le="+Inf"} 10
                upstream_request_duration_seconds_sum{cluster="c1"} 2.75
                upstream_request_duration_seconds_count{cluster="c1"} 10
                upstream_request_duration_seconds_bucket{cluster="c2",le="0.005"} 0
                upstream_request_duration_seconds_bucket{cluster="c2",le="+Inf"} 0
                upstream_request_duration_seconds_sum{cluster="c2"} 0
                upstream_request_duration_seconds_count{cluster="c2"} 0

                """)
    }

    @Test func emptyWriterWritesNothing() {
        #expect(PrometheusWriter().bytes.isEmpty)
    }

    @Test(arguments: ["a", "_a", "a:b_c9", "upstream_request_total"])
    func validMetricNames(name: String) { #expect(PrometheusWriter.isValidMetricName(name)) }

    @Test(arguments: ["", "9a", "a-b", "a b", "é"])
    func invalidMetricNames(name: String) { #expect(!PrometheusWriter.isValidMetricName(name)) }

    @Test(arguments: [("cluster", true), ("_x", true), ("a:b", false), ("__name__", false), ("1a", false)])
    func labelNames(name: String, valid: Bool) { #expect(PrometheusWriter.isValidLabelName(name) == valid) }

    @Test func badMetricNameIsAPreconditionFailure() async {
        await #expect(processExitsWith: .failure) {
            var w = PrometheusWriter()
            w.counter(name: "bad-name", help: "", value: 1)
        }
    }

    @Test func badLabelNameIsAPreconditionFailure() async {
        await #expect(processExitsWith: .failure) {
            var w = PrometheusWriter()
            w.gauge(name: "ok", help: "", labels: [("bad label", "v")], value: 1)
        }
    }

    @Test func familyTypeClashIsAPreconditionFailure() async {
        await #expect(processExitsWith: .failure) {
            var w = PrometheusWriter()
            w.gauge(name: "x", help: "", value: 1)
            w.counter(name: "x", help: "", value: UInt64(1))
        }
    }
}
