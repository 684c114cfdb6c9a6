/// The control commands that answer with telemetry, as their reply's own members (the control server adds `id` and
/// `ok`): `stats` and `snapshot` (``FrameReply``), `hosts` (``HostsReply``, also `GET /api/v1/clusters`), `events`
/// (``EventsReply``).

/// `{"frame":{...}}`.
public struct FrameReply: TelemetryRecord {
    public var frame = TelemetryFrame()
    /// The server's lifecycle state and background error count (the `stats` reply; absent from `snapshot`).
    public var server: ServerStatus?

    public init() {}
    public init(frame: TelemetryFrame, server: ServerStatus? = nil) {
        self.frame = frame
        self.server = server
    }

    public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
        c.field("frame", &frame)
        c.field("server", &server)
    }
}

/// `{"state":"running","engine_errors":0}`: where the server is in its lifecycle (absent for an engine run without
/// the server runtime) and how many errors its background threads logged.
public struct ServerStatus: TelemetryRecord {
    public var state: String?
    public var engineErrors: UInt64 = 0

    public init() {}
    public init(state: String?, engineErrors: UInt64) {
        self.state = state
        self.engineErrors = engineErrors
    }

    public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
        c.field("state", &state)
        c.field("engine_errors", &engineErrors)
    }
}

/// `{"clusters":[...]}`: every cluster with its hosts.
public struct HostsReply: TelemetryRecord {
    public var clusters: [TelemetryFrame.Cluster] = []

    public init() {}
    public init(clusters: [TelemetryFrame.Cluster]) { self.clusters = clusters }

    public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
        c.field("clusters", &clusters)
    }

    /// The host at `address` in `cluster`.
    public func host(cluster: String, address: String) -> TelemetryFrame.Host? {
        clusters.first { $0.name == cluster }?.host(address)
    }
}

/// `{"events":[...],"latest":N,"missed":N}`: recent events, oldest first; `latest` is the cursor to continue from
/// (`since`), `missed` how many were overwritten before they could be read.
public struct EventsReply: TelemetryRecord {
    public var events: [TelemetryEvent] = []
    public var latest: UInt64 = 0
    public var missed: UInt64 = 0

    public init() {}
    public init(events: [TelemetryEvent], latest: UInt64, missed: UInt64) {
        self.events = events
        self.latest = latest
        self.missed = missed
    }

    public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
        c.field("events", &events)
        c.field("latest", &latest)
        c.field("missed", &missed)
    }
}
