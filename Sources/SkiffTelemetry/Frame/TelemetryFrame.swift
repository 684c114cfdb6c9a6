/// One metrics frame: a snapshot of every counter, as the publisher pushes it each tick and every reader decodes it
/// (`skiff top`, `skiff ctl`, the `stats` and `snapshot` replies). The wire format is `docs/control-protocol.md`,
/// "Frames and events"; the keys are spelled here and nowhere else. Frames carry counters, not rates: a reader
/// computes rates from two frames (`ts` in milliseconds).
///
/// A value: built by the publisher thread, decoded on the reader's.
public struct TelemetryFrame: TelemetryRecord {
    /// The `type` of a frame line.
    public static let type: StaticString = "frame"

    /// The frame ring's sequence number of this frame.
    public var seq: UInt64 = 0
    /// Wall clock, milliseconds since the epoch.
    public var ts: UInt64 = 0
    public var uptimeMs: UInt64 = 0
    /// The publisher's tick.
    public var intervalMs: Int = 0
    public var pid: Int = 0
    public var version = ""
    /// The config file's path.
    public var config = ""
    public var listeners: [Listener] = []
    public var clusters: [Cluster] = []
    public var threads = Threads()
    /// Per-connection records; absent in `stats` replies.
    public var connections: Connections?
    /// The control plane's state; nil (absent) unless the config has `dynamic_resources` (FrameXDS.swift).
    public var xds: XDS?
    /// The event ring's newest sequence number.
    public var eventsLatest: UInt64 = 0
    public var publisher = Publisher()

    public init() {}

    public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
        c.tag(TelemetryLine.typeKey, Self.type)
        c.field("seq", &seq)
        c.field("ts", &ts)
        c.field("uptime_ms", &uptimeMs)
        c.field("interval_ms", &intervalMs)
        c.field("pid", &pid)
        c.field("version", &version)
        c.field("config", &config)
        c.field("listeners", &listeners)
        c.field("clusters", &clusters)
        c.field("threads", &threads)
        c.field("connections", &connections)
        c.field("xds", &xds)
        c.field("events_latest", &eventsLatest)
        c.field("publisher", &publisher)
    }

    /// The host at `address` in `cluster`.
    public func host(cluster: String, address: String) -> Host? {
        clusters.first { $0.name == cluster }?.host(address)
    }

    /// The publisher's own cost and the frame ring's use.
    public struct Publisher: TelemetryRecord {
        public var ticks: UInt64 = 0
        /// CPU the publisher thread spent, microseconds since start.
        public var busyUs: UInt64 = 0
        public var lastFrameBytes: Int = 0
        public var frameRingBytes: Int = 0
        public var frameRingUsed: Int = 0
        /// Connection open/close events over the per-second budget, not recorded.
        public var connEventsDropped: UInt64 = 0

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("ticks", &ticks)
            c.field("busy_us", &busyUs)
            c.field("last_frame_bytes", &lastFrameBytes)
            c.field("frame_ring_bytes", &frameRingBytes)
            c.field("frame_ring_used", &frameRingUsed)
            c.field("conn_events_dropped", &connEventsDropped)
        }
    }
}

extension TelemetryFrame {
    /// Write counters (a listener's client side, or a cluster's upstream connections).
    public struct Writes: TelemetryRecord {
        public var bytesIn: UInt64 = 0
        public var bytesOut: UInt64 = 0
        /// Buffers queued.
        public var buffers: UInt64 = 0
        /// writev calls.
        public var writev: UInt64 = 0
        /// writev calls carrying 1, 2-3, 4-7, 8-15, 16+ buffers.
        public var hist: [UInt64] = []
        public var partial: UInt64 = 0
        public var eagain: UInt64 = 0
        public var peakQueue: Int = 0
        public var readPauses: UInt64 = 0

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("bytes_in", &bytesIn)
            c.field("bytes_out", &bytesOut)
            c.field("buffers", &buffers)
            c.field("writev", &writev)
            c.field("hist", &hist)
            c.field("partial", &partial)
            c.field("eagain", &eagain)
            c.field("peak_queue", &peakQueue)
            c.field("read_pauses", &readPauses)
        }

        /// Buffers per writev call (0 without calls).
        public var buffersPerWritev: Double { writev == 0 ? 0 : Double(buffers) / Double(writev) }
    }

    /// Latency since start, in microseconds, and the histogram's non-empty buckets (``SparseBuckets``) so a reader
    /// can subtract two frames for a recent window (`LatencyWindow`).
    public struct Latency: TelemetryRecord {
        public var count: UInt64 = 0
        public var p50Us: UInt64 = 0
        public var p90Us: UInt64 = 0
        public var p99Us: UInt64 = 0
        public var p999Us: UInt64 = 0
        public var maxUs: UInt64 = 0
        /// Non-empty buckets as `SparseBuckets` wire pairs; nil in a window's figures (and from an older skiff).
        public var buckets: [UInt64]?

        public init() {}

        /// The quantiles of a histogram of nanoseconds, and its buckets when `withBuckets`.
        public init(_ histogram: HistogramSnapshot, withBuckets: Bool = true) {
            count = histogram.count
            let q = histogram.quantiles([0.50, 0.90, 0.99, 0.999])
            p50Us = q[0] / 1000
            p90Us = q[1] / 1000
            p99Us = q[2] / 1000
            p999Us = q[3] / 1000
            maxUs = histogram.max / 1000
            if withBuckets { buckets = SparseBuckets.encode(histogram) }
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("count", &count)
            c.field("p50_us", &p50Us)
            c.field("p90_us", &p90Us)
            c.field("p99_us", &p99Us)
            c.field("p999_us", &p999Us)
            c.field("max_us", &maxUs)
            c.field("buckets", &buckets)
        }
    }
}
