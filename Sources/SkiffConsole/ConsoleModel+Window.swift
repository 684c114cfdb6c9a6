import SkiffTelemetry

/// Latency as the console shows it: over the recent window (every view, sparkline and the header's p99), and since
/// start (for a details panel). A `nil` or a figure with `count` 0 means no samples: shown as `-`, never `0ns`.
extension ConsoleSnapshot {
    /// The window's span as configured (`--window`), in milliseconds.
    public var windowMs: UInt64 { window.windowMs }

    /// A cluster's latency over the recent window; nil without samples in it.
    public func windowLatency(cluster: String) -> TelemetryFrame.Latency? {
        window.cluster(cluster).flatMap { $0.count > 0 ? $0 : nil }
    }

    /// A host's latency over the recent window; nil without samples in it.
    public func windowLatency(cluster: String, host address: String) -> TelemetryFrame.Latency? {
        window.host(cluster: cluster, address: address).flatMap { $0.count > 0 ? $0 : nil }
    }

    /// A cluster's latency since the daemon started (the latest frame's figure); nil without samples.
    public func cumulativeLatency(cluster: String) -> TelemetryFrame.Latency? {
        latest?.clusters.first { $0.name == cluster }.flatMap { $0.latency.count > 0 ? $0.latency : nil }
    }

    /// A host's latency since the daemon started; nil without samples.
    public func cumulativeLatency(cluster: String, host address: String) -> TelemetryFrame.Latency? {
        latest?.host(cluster: cluster, address: address).flatMap { $0.latency.count > 0 ? $0.latency : nil }
    }

    /// The highest p99 of any cluster over the window (the Overview's headline), nil when none has samples.
    public var windowP99Us: UInt64? {
        (latest?.clusters ?? []).compactMap { windowLatency(cluster: $0.name)?.p99Us }.max()
    }
}

extension Fmt {
    /// A latency quantile in microseconds, or `-` when there were no samples.
    static func latency(_ l: TelemetryFrame.Latency?, _ quantile: (TelemetryFrame.Latency) -> UInt64) -> String {
        guard let l, l.count > 0 else { return "-" }
        return us(quantile(l))
    }

    /// `10s`, `1m30s`: a window's span for titles.
    static func window(_ ms: UInt64) -> String {
        if ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        return ms % 1000 == 0 ? "\(ms / 1000)s" : Humanize.duration(ns: ms &* 1_000_000)
    }
}
