import SkiffTelemetry

/// The Requests view's data: the latest request samples (oldest first by finish time, at most `capacity`; executors
/// hand theirs over in batches, so a sample is placed by its time, not its arrival) and what share of the
/// requests they stand for. A value inside `ConsoleSnapshot`, so pausing the console freezes it like the rest.
/// Confined to the console's thread.
public struct RequestLog: Sendable, Equatable {
    public static let capacity = 500

    public private(set) var samples: [TelemetryRequestSample] = []
    /// Samples seen, and requests they stood for (samples plus the `skipped` before each), over all time.
    public private(set) var sampledTotal: UInt64 = 0
    public private(set) var representedTotal: UInt64 = 0
    /// The per-executor budget the latest sample states (0: unknown).
    public private(set) var maxPerSecond = 0

    public init() {}

    public mutating func add(_ s: TelemetryRequestSample) {
        var at = samples.endIndex
        while at > samples.startIndex && samples[at - 1].ts > s.ts { at -= 1 }
        samples.insert(s, at: at)
        if samples.count > Self.capacity { samples.removeFirst(samples.count - Self.capacity) }
        maxPerSecond = s.budget
        sampledTotal &+= 1
        representedTotal &+= 1 &+ s.skipped
    }

    /// "all requests" or "1 in 4.2 requests (at most 200/s per executor)": what the view's title line says.
    public var samplingText: String {
        guard sampledTotal > 0 else { return "no requests yet" }
        let budget = maxPerSecond > 0 ? " (at most \(maxPerSecond)/s per executor)" : ""
        if representedTotal == sampledTotal { return "every request" + budget }
        let ratio = Double(representedTotal) / Double(sampledTotal)
        return "sampled: 1 in \(Fmt.one(ratio)) requests" + budget
    }
}

extension TelemetryRequestSample {
    /// Lowercased text the filter matches: status and its class, method, authority, path, cluster, host, flags.
    var searchText: String {
        "\(status) \(statusClass) \(method) \(authority) \(path) \(cluster) \(host) \(flags) \(proto) \(listener)"
            .lowercased()
    }
}
