import Testing

@testable import SkiffConfig

private typealias F = Fixture

/// A config with `metrics` set to `block` (and, optionally, an admin API on `adminPort`).
private func withMetrics(_ block: String, adminPort: Int? = nil, listener: String = F.tcpListener()) -> String {
    let admin = adminPort.map {
        #","admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\#($0)}}}"#
    } ?? ""
    return F.config(listeners: [listener], top: admin + #","metrics":\#(block)"#)
}

/// A config whose only sink is a prometheus one with `config`.
private func withSink(_ config: String, adminPort: Int? = nil) -> String {
    withMetrics(#"{"sinks":[{"type":"prometheus","config":\#(config)}]}"#, adminPort: adminPort)
}

private let sink0 = "metrics.sinks[0]"
private let sink0Config = "metrics.sinks[0].config"

/// MOSN's top-level `metrics` block (issue 18): a prometheus sink is read (port, endpoint, MOSN's defaults,
/// Skiff's `address`), everything else MOSN reads there is refused with its exact path and a reason.
@Suite struct MetricsConfigTests {
    @Test func prometheusSinkWithMOSNsDefaults() throws {
        let c = try #require(decodeValid(withSink(#"{"port":9090}"#)))
        #expect(
            c.metrics?.prometheus
                == PrometheusSinkConfig(address: SocketAddressSpec(host: "0.0.0.0", port: 9090), endpoint: "/metrics"))
        #expect(c.metrics?.collectProcess == true)
    }

    @Test func prometheusSinkWithEveryKnownKey() throws {
        let c = try #require(
            decodeValid(
                withSink(
                    #"{"port":9464,"endpoint":"/stats/prometheus","address":"127.0.0.1","disable_collect_process":true,"disable_collect_go":true}"#
                )))
        #expect(
            c.metrics?.prometheus
                == PrometheusSinkConfig(
                    address: SocketAddressSpec(host: "127.0.0.1", port: 9464), endpoint: "/stats/prometheus",
                    collectProcess: false))
        #expect(c.metrics?.collectProcess == false)
    }

    @Test func anIPv6AddressIsTaken() throws {
        let c = try #require(decodeValid(withSink(#"{"port":9090,"address":"::1"}"#)))
        #expect(c.metrics?.prometheus?.address == SocketAddressSpec(host: "::1", port: 9090))
    }

    /// MOSN's empty values ask for nothing and are accepted, as elsewhere in the decoder.
    @Test func emptyMOSNTuningIsAccepted() throws {
        let c = try #require(
            decodeValid(
                withMetrics(
                    #"{"sinks":[],"flush_mosn":false,"lazy_flush":false,"shm_zone":"","shm_size":0,"stats_matcher":{}}"#
                )))
        #expect(c.metrics == MetricsConfig())
        #expect(c.metrics?.collectProcess == true)
    }

    @Test func noMetricsBlockMeansNoSink() throws {
        let c = try #require(decodeValid(F.config()))
        #expect(c.metrics == nil)
    }

    static let refusals: [BadConfig] = [
        BadConfig("port missing", withSink(#"{"endpoint":"/metrics"}"#), "\(sink0Config).port: required (MOSN serves the sink on 0.0.0.0:port)"),
        BadConfig("port 0", withSink(#"{"port":0}"#), "\(sink0Config).port: 0: a prometheus sink needs a port (1-65535), as in MOSN"),
        BadConfig("port out of range", withSink(#"{"port":70000}"#), "\(sink0Config).port: 70000 out of range (1-65535)"),
        BadConfig("port as a string", withSink(#"{"port":"9090"}"#), #"\#(sink0Config).port: expected an integer, got the string "9090""#),
        BadConfig(
            "endpoint without a leading slash", withSink(#"{"port":9090,"endpoint":"metrics"}"#),
            #"\#(sink0Config).endpoint: "metrics": must start with "/" (as in MOSN)"#),
        BadConfig(
            "endpoint with a query", withSink(#"{"port":9090,"endpoint":"/metrics?x=1"}"#),
            #"\#(sink0Config).endpoint: "/metrics?x=1": "?" has no place in the sink's path"#),
        BadConfig(
            "endpoint with a wildcard", withSink(#"{"port":9090,"endpoint":"/*"}"#),
            #"\#(sink0Config).endpoint: "/*": "*" has no place in the sink's path"#),
        BadConfig(
            "address not an IP", withSink(#"{"port":9090,"address":"localhost"}"#),
            #"\#(sink0Config).address: "localhost": an IPv4 or IPv6 address to listen on (default 0.0.0.0)"#),
        BadConfig(
            "the admin API's port", withSink(#"{"port":34901}"#, adminPort: 34901),
            "\(sink0Config).port: 34901 is the admin API's port, which serves /metrics already; give the sink a port of its own"),
        BadConfig(
            "a listener's port", withMetrics(#"{"sinks":[{"type":"prometheus","config":{"port":7000}}]}"#, listener: F.tcpListener("l0", "127.0.0.1:7000")),
            #"\#(sink0Config).port: 7000 is listener "l0"'s port"#),
        BadConfig(
            "push gateway", withSink(#"{"port":9090,"export_url":"http://gw:9091"}"#),
            "\(sink0Config).export_url: not supported by skiff: push-gateway mode (MOSN refuses it too); let Prometheus scrape the sink's port"),
        BadConfig(
            "percentiles", withSink(#"{"port":9090,"percentiles":[50,99]}"#),
            "\(sink0Config).percentiles: not supported by skiff: latency is exported as Prometheus histograms; take any quantile with histogram_quantile()"),
        BadConfig(
            "unknown sink key", withSink(#"{"port":9090,"prefix":"mosn"}"#),
            #"\#(sink0Config): unknown field "prefix""#),
        BadConfig(
            "console sink", withMetrics(#"{"sinks":[{"type":"console","config":{}}]}"#),
            #"\#(sink0).type: sink type "console" is not supported by skiff: only "prometheus""#),
        BadConfig(
            "sink without a type", withMetrics(#"{"sinks":[{"config":{"port":9090}}]}"#), "\(sink0).type: required"),
        BadConfig(
            "sink without a config", withMetrics(#"{"sinks":[{"type":"prometheus"}]}"#),
            "\(sink0).config: required (a prometheus sink needs at least a port)"),
        BadConfig(
            "two prometheus sinks",
            withMetrics(
                #"{"sinks":[{"type":"prometheus","config":{"port":9090}},{"type":"prometheus","config":{"port":9091}}]}"#),
            "metrics.sinks[1]: a second prometheus sink: skiff serves /metrics on one sink port"),
        BadConfig(
            "stats_matcher", withMetrics(#"{"stats_matcher":{"reject_all":true}}"#),
            "metrics.stats_matcher: not supported by skiff: every series is exported; keep or drop series on the Prometheus side (metric_relabel_configs)"),
        BadConfig(
            "shm_zone", withMetrics(#"{"shm_zone":"mosn_metrics"}"#),
            "metrics.shm_zone: not supported by skiff: Skiff's counters live in its own memory (no shared-memory zone to name)"),
        BadConfig(
            "shm_size", withMetrics(#"{"shm_size":"10MB"}"#),
            "metrics.shm_size: not supported by skiff: Skiff's counters live in its own memory (no shared-memory zone to size)"),
        BadConfig(
            "flush_mosn", withMetrics(#"{"flush_mosn":true}"#),
            "metrics.flush_mosn: not supported by skiff: there is no separate set of MOSN-internal metrics to flush"),
        BadConfig(
            "lazy_flush", withMetrics(#"{"lazy_flush":true}"#),
            "metrics.lazy_flush: not supported by skiff: every series exists from the start (nothing is registered lazily)"),
        BadConfig(
            "sample", withMetrics(#"{"sample":{"type":"uniform","size":1024}}"#),
            "metrics.sample: not supported by skiff: latency histograms count every request in fixed buckets; nothing is sampled"),
        BadConfig(
            "ewma", withMetrics(#"{"ewma":{"alpha":0.5}}"#),
            "metrics.ewma: not supported by skiff: latency histograms count every request in fixed buckets; there is no moving average"),
        BadConfig("unknown metrics key", withMetrics(#"{"sink":[]}"#), #"metrics: unknown field "sink" (did you mean "sinks"?)"#),
        BadConfig("metrics not an object", withMetrics(#"[]"#), "metrics: expected an object, got an array"),
    ]

    @Test(arguments: refusals)
    func refused(_ c: BadConfig) {
        #expect(errorLines(c.json) == c.errors)
    }
}
