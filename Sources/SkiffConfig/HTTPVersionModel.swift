/// HTTP/2 settings of a listener's client connections or a cluster's upstream connections
/// (`http2_protocol_options`, Envoy's names): what Skiff announces and how much it lets the peer send ahead.
public struct HTTP2Settings: Sendable, Equatable {
    /// Streams the peer may open at once (listener: SETTINGS_MAX_CONCURRENT_STREAMS; cluster: streams Skiff opens on
    /// one connection, below the server's own limit). 1...1000, default 100.
    public var maxConcurrentStreams: UInt32 = 100
    /// Each stream's receive window (SETTINGS_INITIAL_WINDOW_SIZE): what a stream may hold in Skiff at most.
    /// 65,535...16 MiB, default 65,535.
    public var initialStreamWindowSize: UInt32 = 65_535
    /// The connection's receive window across its streams. 65,535...64 MiB, default 1 MiB.
    public var initialConnectionWindowSize: UInt32 = 1 << 20

    public init() {}

    public static let streamRange: ClosedRange<Int> = 1...1000
    public static let streamWindowRange: ClosedRange<Int> = 65_535...(16 << 20)
    public static let connectionWindowRange: ClosedRange<Int> = 65_535...(64 << 20)
}

/// An xDS cluster's HTTP version (`ClusterConfig.httpProtocol`).
public enum ClusterHTTPProtocol: String, Sendable, Equatable {
    case http1 = "Http1"
    case http2 = "Http2"
}
