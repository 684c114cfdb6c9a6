import SkiffJSON

/// MOSN's top-level `metrics`: `{"sinks":[{"type":"prometheus","config":{"port":N,"endpoint":"/metrics"}}]}`.
///
/// MOSN serves its Prometheus registry on `0.0.0.0:port` at `endpoint` (default `/metrics`, must start with `/`;
/// a port is required, 0 refused); Skiff serves the same text as the admin API's `/metrics` there. Skiff extension:
/// `address` (an IP literal; default `0.0.0.0`, as MOSN binds) to keep the sink on loopback or one interface.
/// `disable_collect_process: true` drops `process_*`; `disable_collect_go` is accepted (Skiff has no Go runtime
/// to report). What tunes MOSN's own metrics store (shared memory, lazy registration, sampling, matchers,
/// percentiles) and the push-gateway mode are refused with their path: Skiff does not do them, and saying so beats
/// a setting that silently does nothing.
extension ConfigDecoder {
    static let metricsSchema = ObjectSchema(
        known: ["sinks"],
        unsupported: ["stats_matcher", "shm_zone", "shm_size", "flush_mosn", "lazy_flush", "sample", "ewma"],
        emptyAllowed: ["stats_matcher", "shm_zone", "shm_size", "flush_mosn", "lazy_flush", "sample", "ewma"],
        reasons: [
            "stats_matcher":
                "every series is exported; keep or drop series on the Prometheus side (metric_relabel_configs)",
            "shm_zone": "Skiff's counters live in its own memory (no shared-memory zone to name)",
            "shm_size": "Skiff's counters live in its own memory (no shared-memory zone to size)",
            "flush_mosn": "there is no separate set of MOSN-internal metrics to flush",
            "lazy_flush": "every series exists from the start (nothing is registered lazily)",
            "sample": "latency histograms count every request in fixed buckets; nothing is sampled",
            "ewma": "latency histograms count every request in fixed buckets; there is no moving average",
        ])

    static let sinkSchema = ObjectSchema(known: ["type", "config"])

    static let prometheusSinkSchema = ObjectSchema(
        known: ["port", "endpoint", "disable_collect_process", "disable_collect_go", "address"],
        unsupported: ["export_url", "percentiles"],
        emptyAllowed: ["export_url", "percentiles"],
        reasons: [
            "export_url": "push-gateway mode (MOSN refuses it too); let Prometheus scrape the sink's port",
            "percentiles":
                "latency is exported as Prometheus histograms; take any quantile with histogram_quantile()",
        ])

    mutating func decodeMetrics(_ v: JSONValue, at path: String, admin: AdminConfig?) -> MetricsConfig? {
        guard let f = fields(v, at: path, Self.metricsSchema) else { return nil }
        var config = MetricsConfig()
        for item in array(f, "sinks") ?? [] {
            guard let s = fields(item.value, at: item.path, Self.sinkSchema) else { continue }
            guard let type = requiredString(s, "type") else { continue }
            guard type == "prometheus" else {
                fail(s.path("type"), "sink type \(quoted(type)) is not supported by skiff: only \"prometheus\"")
                continue
            }
            guard config.prometheus == nil else {
                fail(item.path, "a second prometheus sink: skiff serves /metrics on one sink port")
                continue
            }
            guard let c = s["config"] else {
                fail(s.path("config"), "required (a prometheus sink needs at least a port)")
                continue
            }
            config.prometheus = decodePrometheusSink(c, at: s.path("config"), admin: admin)
        }
        return config
    }

    private mutating func decodePrometheusSink(
        _ v: JSONValue, at path: String, admin: AdminConfig?
    ) -> PrometheusSinkConfig? {
        guard let f = fields(v, at: path, Self.prometheusSinkSchema) else { return nil }
        var port: Int?
        switch f["port"] {
        case nil:
            fail(f.path("port"), "required (MOSN serves the sink on 0.0.0.0:port)")
        case .number("0")?:
            fail(f.path("port"), "0: a prometheus sink needs a port (1-65535), as in MOSN")
        case let p?:
            port = int(p, at: f.path("port"), 1...65535)
        }
        let endpoint = string(f, "endpoint") ?? "/metrics"
        if let problem = Self.endpointProblem(endpoint) { fail(f.path("endpoint"), problem) }
        let host = string(f, "address") ?? "0.0.0.0"
        if f.has("address"), !(AddressText.isIPv4(host) || AddressText.isIPv6(host)) {
            fail(f.path("address"), "\(quoted(host)): an IPv4 or IPv6 address to listen on (default 0.0.0.0)")
        }
        let collectProcess = !(bool(f, "disable_collect_process") ?? false)
        _ = bool(f, "disable_collect_go")
        guard let port else { return nil }
        if let admin, admin.address.port == port {
            fail(
                f.path("port"),
                "\(port) is the admin API's port, which serves /metrics already; give the sink a port of its own")
        }
        if let listener = listenerAddresses.first(where: { $0.key.port == port })?.value {
            fail(f.path("port"), "\(port) is listener \(quoted(listener))'s port")
        }
        return PrometheusSinkConfig(
            address: SocketAddressSpec(host: host, port: port), endpoint: endpoint, collectProcess: collectProcess)
    }

    /// Why `endpoint` cannot be served as a path, or nil. MOSN asks only for a leading `/`; the rest keeps the path
    /// one that a request line can name exactly (no query, fragment, escapes, wildcards or spaces).
    static func endpointProblem(_ endpoint: String) -> String? {
        guard endpoint.hasPrefix("/") else { return "\(quoted(endpoint)): must start with \"/\" (as in MOSN)" }
        let refused: [Character] = ["?", "#", "%", "*"]
        if let c = endpoint.first(where: { refused.contains($0) || $0.isWhitespace || !$0.isASCII }) {
            return "\(quoted(endpoint)): \(quoted(String(c))) has no place in the sink's path"
        }
        if endpoint.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "\(quoted(endpoint)): control characters have no place in the sink's path"
        }
        return nil
    }
}
