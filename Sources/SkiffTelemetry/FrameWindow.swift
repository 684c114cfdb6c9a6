/// The recent window of a stream of frames: latency quantiles and write counters over the last `windowMs`
/// (a sliding window, 10 s by default), from the difference between the newest frame and the newest one at least
/// `windowMs` older (or the oldest kept, while the stream is younger than the window).
///
/// A value owned by one reader (the console's thread, `skiff ctl watch`); it keeps only the figures it subtracts
/// (latency with buckets, write counters), not whole frames. A new pid (the daemon restarted) starts it afresh.
///
/// ```swift
/// var window = FrameWindow(windowMs: 10_000)
/// window.add(frame)
/// let p99 = window.host(cluster: "web", address: "10.0.0.1:80")?.p99Us   // nil: nothing recorded in the window
/// ```
public struct FrameWindow: Sendable {
    public static let defaultMs: UInt64 = 10_000
    /// The longest window a reader may ask for (the console keeps that much history).
    public static let maxMs: UInt64 = 3_600_000

    /// The figures of one frame that a window subtracts.
    struct Point: Sendable {
        var ts: UInt64
        var clusters: [String: TelemetryFrame.Latency] = [:]
        /// Keyed `CLUSTER/ADDRESS`.
        var hosts: [String: TelemetryFrame.Latency] = [:]
        /// Keyed `L:NAME` (a listener's client side) and `C:NAME` (a cluster's upstream connections).
        var writes: [String: TelemetryFrame.Writes] = [:]
    }

    public let windowMs: UInt64
    private var points: [Point] = []
    private var pid: Int?
    /// Milliseconds between the baseline frame and the newest one (0 until two frames arrived).
    public private(set) var spanMs: UInt64 = 0
    private var clusterWindow: [String: TelemetryFrame.Latency] = [:]
    private var hostWindow: [String: TelemetryFrame.Latency] = [:]
    private var writesWindow: [String: TelemetryFrame.Writes] = [:]

    public init(windowMs: UInt64 = FrameWindow.defaultMs) {
        self.windowMs = windowMs
    }

    /// Takes the next frame and works out the window's figures.
    public mutating func add(_ frame: TelemetryFrame) {
        if pid != frame.pid || (points.last.map { frame.ts < $0.ts } ?? false) { points.removeAll() }
        pid = frame.pid
        var p = Point(ts: frame.ts)
        for c in frame.clusters {
            p.clusters[c.name] = c.latency
            p.writes["C:" + c.name] = c.writes
            for h in c.hosts { p.hosts[c.name + "/" + h.address] = h.latency }
        }
        for l in frame.listeners { p.writes["L:" + l.name] = l.writes }
        // At most ~512 points per window: a new frame closer than a 512th of the window to the one before the
        // newest replaces the newest (an hour's window at 50 ms frames would otherwise keep 72,000 frames' maps).
        let minGapMs = max(1, windowMs / 512)
        if points.count >= 2, p.ts &- points[points.count - 2].ts < minGapMs {
            points[points.count - 1] = p
        } else {
            points.append(p)
        }
        // The baseline: the newest point at least a window older than this one, else the oldest kept.
        let cutoff = frame.ts >= windowMs ? frame.ts - windowMs : 0
        if let newestOld = points.lastIndex(where: { $0.ts <= cutoff }), newestOld > 0 {
            points.removeFirst(newestOld)
        }
        let base = points.count >= 2 ? points[0] : nil
        spanMs = base.map { frame.ts - $0.ts } ?? 0
        clusterWindow = [:]
        hostWindow = [:]
        writesWindow = [:]
        guard let base else { return }
        for (k, now) in p.clusters { clusterWindow[k] = now.since(base.clusters[k]) }
        for (k, now) in p.hosts { hostWindow[k] = now.since(base.hosts[k]) }
        for (k, now) in p.writes { writesWindow[k] = now.since(base.writes[k]) }
    }

    /// A cluster's latency over the window; nil before two frames or without buckets. `count` 0: no samples.
    public func cluster(_ name: String) -> TelemetryFrame.Latency? { clusterWindow[name] }

    /// A host's latency over the window, as ``cluster(_:)``.
    public func host(cluster: String, address: String) -> TelemetryFrame.Latency? {
        hostWindow[cluster + "/" + address]
    }

    /// A listener's client-side write counters over the window.
    public func listenerWrites(_ name: String) -> TelemetryFrame.Writes? { writesWindow["L:" + name] }

    /// A cluster's upstream write counters over the window.
    public func clusterWrites(_ name: String) -> TelemetryFrame.Writes? { writesWindow["C:" + name] }

    /// Frames kept (for tests: bounded however fast frames come).
    var pointCount: Int { points.count }

    /// Per second over the window, or nil before it spans any time.
    public func perSecond(_ value: UInt64) -> Double? {
        spanMs == 0 ? nil : Double(value) / (Double(spanMs) / 1000)
    }
}
