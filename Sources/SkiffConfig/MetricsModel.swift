/// MOSN's top-level `metrics` block, as far as Skiff acts on it: at most one Prometheus sink (decoded by
/// `ConfigDecoder+Metrics.swift`). Everything else MOSN reads there is refused with its path.
public struct MetricsConfig: Sendable, Equatable {
    /// The `prometheus` sink: `/metrics` served on a port of its own. nil = only the admin API serves it.
    public var prometheus: PrometheusSinkConfig?

    public init(prometheus: PrometheusSinkConfig? = nil) {
        self.prometheus = prometheus
    }

    /// Whether `/metrics` carries the `process_*` families (the sink's `disable_collect_process`; on without a sink).
    public var collectProcess: Bool { prometheus?.collectProcess ?? true }
}

/// A `{"type":"prometheus","config":{...}}` sink: a read-only HTTP server with one route, the same text the admin
/// API's `/metrics` serves.
public struct PrometheusSinkConfig: Sendable, Equatable {
    /// Where it listens: MOSN's `0.0.0.0` and `port`, or Skiff's `address` (an IP literal) with `port`.
    public var address: SocketAddressSpec
    /// The path served (MOSN's `endpoint`, `/metrics` by default).
    public var endpoint: String
    /// False with `disable_collect_process: true`: no `process_*` families.
    public var collectProcess: Bool

    public init(address: SocketAddressSpec, endpoint: String = "/metrics", collectProcess: Bool = true) {
        self.address = address
        self.endpoint = endpoint
        self.collectProcess = collectProcess
    }
}
