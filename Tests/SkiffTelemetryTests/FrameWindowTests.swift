import SkiffJSON
import Testing

@testable import SkiffTelemetry

/// The recent window: sparse buckets on the wire, and quantiles from the difference of two frames.
@Suite struct FrameWindowTests {
    typealias Frame = TelemetryFrame

    /// A frame with one cluster `c` and hosts `slow` and `fast` whose histograms hold what was recorded so far.
    static func frame(ts: UInt64, slow: LatencyHistogram, fast: LatencyHistogram, pid: Int = 7) -> Frame {
        var f = Frame()
        (f.ts, f.pid) = (ts, pid)
        var c = Frame.Cluster()
        c.name = "c"
        c.latency = Frame.Latency(slow.snapshot().merging(fast.snapshot()))
        for (address, h) in [("slow:1", slow), ("fast:1", fast)] {
            var host = Frame.Host()
            host.address = address
            host.latency = Frame.Latency(h.snapshot())
            c.hosts.append(host)
        }
        f.clusters = [c]
        // Through the wire, as a reader gets it.
        return Frame(json: try! JSONParser.parse(f.jsonBytes))
    }

    @Test func sparseBucketsRoundTripAndRefuseNonsense() throws {
        let h = LatencyHistogram()
        for v: UInt64 in [5, 5, 900, 1_500_000, 1_500_001, 2_000_000_000] { h.record(ns: v) }
        let snap = h.snapshot()
        let wire = SparseBuckets.encode(snap)
        #expect(wire.count == 2 * 4)  // 5 (twice), 900, 1.5 ms (two values, one bucket), 2 s: 4 buckets
        let back = try SparseBuckets.decode(wire, maxNs: snap.max)
        #expect(back.counts == snap.counts && back.count == snap.count)
        #expect(back.quantiles([0.5, 0.99]) == snap.quantiles([0.5, 0.99]))
        #expect(throws: SparseBuckets.DecodeError.oddLength(3)) { try SparseBuckets.decode([1, 2, 3], maxNs: 0) }
        #expect(throws: SparseBuckets.DecodeError.badIndex(position: 1)) {
            try SparseBuckets.decode([4, 1, 0, 1], maxNs: 0)  // the same bucket twice
        }
        #expect(throws: SparseBuckets.DecodeError.badIndex(position: 0)) {
            try SparseBuckets.decode([UInt64(HistogramLayout.bucketCount), 1], maxNs: 0)
        }
    }

    /// Issue 15, defect 5: a slow host that stopped taking requests (drained) keeps a since-start p99 of 118 ms for
    /// ever; over the window it has no samples, and the fast host's p99 no longer carries the old slow values.
    @Test func windowForgetsWhatHappenedBeforeIt() {
        let slow = LatencyHistogram()
        let fast = LatencyHistogram()
        var w = FrameWindow(windowMs: 10_000)
        w.add(Self.frame(ts: 1_000, slow: slow, fast: fast))
        #expect(w.host(cluster: "c", address: "slow:1") == nil, "one frame: no window yet")
        // 0-5 s: the slow host answers in 118 ms, the fast one in 2 ms, both in the cluster's figures.
        for _ in 0..<100 {
            slow.record(ns: 118_000_000)
            fast.record(ns: 2_000_000)
        }
        w.add(Self.frame(ts: 6_000, slow: slow, fast: fast))
        #expect((117...119).contains(w.host(cluster: "c", address: "slow:1").map { $0.p99Us / 1000 } ?? 0))
        #expect((117...119).contains(w.cluster("c").map { $0.p99Us / 1000 } ?? 0))
        // 6-20 s: the slow host is drained; the fast one keeps answering in 2 ms.
        for ts in stride(from: UInt64(7_000), through: 20_000, by: 1_000) {
            for _ in 0..<20 { fast.record(ns: 2_000_000) }
            w.add(Self.frame(ts: ts, slow: slow, fast: fast))
        }
        let f = Self.frame(ts: 20_000, slow: slow, fast: fast)
        #expect((117...119).contains(f.clusters[0].latency.p99Us / 1000), "since start, the slow host still shows")
        #expect(w.host(cluster: "c", address: "slow:1")?.count == 0, "no samples in the window")
        #expect(w.host(cluster: "c", address: "fast:1")?.count == 200)
        #expect(w.cluster("c").map { $0.p99Us / 1000 } == 2)
        #expect(w.spanMs == 10_000)
    }

    /// A new pid (the daemon restarted, its counters from zero) starts the window afresh instead of subtracting
    /// the old process's counters.
    @Test func restartStartsAfresh() {
        let before = LatencyHistogram()
        for _ in 0..<50 { before.record(ns: 50_000_000) }
        var w = FrameWindow(windowMs: 10_000)
        w.add(Self.frame(ts: 1_000, slow: before, fast: before))
        let after = LatencyHistogram()
        for _ in 0..<5 { after.record(ns: 1_000_000) }
        w.add(Self.frame(ts: 2_000, slow: after, fast: after, pid: 8))
        #expect(w.host(cluster: "c", address: "fast:1") == nil, "one frame of the new process: no window yet")
        for _ in 0..<5 { after.record(ns: 1_000_000) }
        w.add(Self.frame(ts: 3_000, slow: after, fast: after, pid: 8))
        #expect(w.host(cluster: "c", address: "fast:1")?.count == 5)
        #expect(w.host(cluster: "c", address: "fast:1").map { $0.p99Us / 1000 } == 1)
    }

    @Test func writesOverTheWindow() {
        var a = Frame.Writes()
        (a.buffers, a.writev, a.hist, a.readPauses, a.peakQueue) = (100, 50, [40, 10, 0, 0, 0], 2, 9)
        var b = a
        (b.buffers, b.writev, b.hist, b.readPauses) = (400, 100, [40, 10, 50, 0, 0], 5)
        let d = b.since(a)
        #expect(d.writev == 50 && d.buffers == 300 && d.hist == [0, 0, 50, 0, 0] && d.readPauses == 3)
        #expect(d.buffersPerWritev == 6 && d.peakQueue == 9)
    }
}

/// A long window over fast frames keeps a bounded number of points, and its figures stay right.
@Suite struct FrameWindowBoundTests {
    @Test func anHourOfFiftyMillisecondFramesKeepsAtMostAboutFiveHundredPoints() {
        var w = FrameWindow(windowMs: 3_600_000)
        var f = TelemetryFrame()
        f.pid = 7
        var l = TelemetryFrame.Listener()
        l.name = "l"
        for i in 0..<20_000 {
            f.ts = 1_000_000 + UInt64(i) * 50
            l.writes.writev = UInt64(i)
            f.listeners = [l]
            w.add(f)
        }
        #expect(w.pointCount <= 520, "\(w.pointCount) points kept")
        // 20,000 frames 50 ms apart, all inside the hour: the window spans them all.
        #expect(w.listenerWrites("l")?.writev == 19_999)
    }
}
