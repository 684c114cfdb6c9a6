/// Envoy's defaults for fields a control plane leaves unset, where they differ from Skiff's file-mode defaults: an
/// xDS resource means what it would mean to Envoy. docs/xds-fields.md lists them.
enum XDSDefaults {
    /// `Cluster.connect_timeout`.
    static let connectTimeout = Duration.seconds(5)
    /// `RouteAction.timeout`.
    static let routeTimeout = Duration.seconds(15)
    /// `HttpConnectionManager.stream_idle_timeout`.
    static let streamIdleTimeout = Duration.seconds(300)
    /// `common_http_protocol_options.idle_timeout` (downstream and upstream) and tcp_proxy's `idle_timeout`.
    static let idleTimeout = Duration.seconds(3600)
    /// Circuit breaker thresholds of the DEFAULT priority.
    static let maxConnections = 1024
    static let maxPendingRequests = 1024
    static let maxRequests = 1024
    static let maxRetries = 3
    /// `RetryPolicy.num_retries`.
    static let numRetries = 1
    /// What a timeout Envoy reads as "disabled" (`0s`) becomes where Skiff always arms one: a year.
    static let disabled = Duration.seconds(365 * 24 * 3600)
}
