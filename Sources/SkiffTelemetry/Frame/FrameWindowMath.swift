/// Differences of two frames' cumulative figures: what happened between them.
extension TelemetryFrame.Latency {
    /// This histogram as a snapshot (nanoseconds), or nil when the frame carried no buckets or bad ones.
    public var histogram: HistogramSnapshot? {
        guard let buckets else { return nil }
        return try? SparseBuckets.decode(buckets, maxNs: maxUs &* 1000 &+ 999)
    }

    /// The values recorded between `earlier` and this figure of the same histogram, as quantiles (no buckets).
    /// `earlier` nil (the host is new) or larger (the counters restarted) counts everything since start.
    /// Nil when this figure carries no buckets (a frame from a skiff before buckets were sent).
    public func since(_ earlier: TelemetryFrame.Latency?) -> TelemetryFrame.Latency? {
        guard let now = histogram else { return nil }
        guard let earlier, earlier.count <= count, let before = earlier.histogram else {
            return TelemetryFrame.Latency(now, withBuckets: false)
        }
        return TelemetryFrame.Latency(now.subtracting(before), withBuckets: false)
    }
}

extension TelemetryFrame.Writes {
    /// The counters' growth since `earlier` (all of them when `earlier` is nil or the counters restarted);
    /// `peakQueue` stays this figure's since-start peak.
    public func since(_ earlier: TelemetryFrame.Writes?) -> TelemetryFrame.Writes {
        guard let e = earlier, e.writev <= writev, e.buffers <= buffers else { return self }
        func minus(_ a: UInt64, _ b: UInt64) -> UInt64 { a >= b ? a - b : 0 }
        var d = self
        d.bytesIn = minus(bytesIn, e.bytesIn)
        d.bytesOut = minus(bytesOut, e.bytesOut)
        d.buffers = minus(buffers, e.buffers)
        d.writev = minus(writev, e.writev)
        d.hist = hist.indices.map { minus(hist[$0], $0 < e.hist.count ? e.hist[$0] : 0) }
        d.partial = minus(partial, e.partial)
        d.eagain = minus(eagain, e.eagain)
        d.readPauses = minus(readPauses, e.readPauses)
        return d
    }
}
