import SkiffTelemetry
import Testing

@testable import SkiffConsole

/// Issue 15: the numbers the console shows are over the recent window, failures show where they happen, and health
/// says what is known.
@Suite struct ConsoleTruthTests {
    typealias Frame = TelemetryFrame

    /// Cluster `c` with a drained slow host and a busy one; `slowCount`/`busyCount` requests so far, `local`
    /// error replies Skiff made for the busy host.
    static func frame(ts: UInt64, slowCount: UInt64, busyCount: UInt64, local: UInt64, checkRun: Int? = nil) -> Frame {
        var f = Frame()
        (f.ts, f.pid) = (ts, 1)
        var l = Frame.Listener()
        (l.name, l.model, l.protocol) = ("web", "netpoll", "http1")
        (l.rqTotal, l.rq2xx, l.rq4xx, l.rq5xx) = (busyCount + local, busyCount, 0, local)
        var bolt = Frame.Listener()
        (bolt.name, bolt.protocol, bolt.rqTotal, bolt.responses, bolt.localReplies) = ("rpc", "bolt", 40, 40, 4)
        f.listeners = [l, bolt]
        var c = Frame.Cluster()
        (c.name, c.lb, c.localFailed) = ("c", "LB_ROUNDROBIN", local)
        let slow = Fixtures.latency(count: slowCount, p50: 118_000, p90: 118_000, p99: 118_000, p999: 118_000, max: 118_000)
        let busy = Fixtures.latency(count: busyCount, p50: 900, p90: 1_000, p99: 2_000, p999: 2_000, max: 2_000)
        var drained = Fixtures.host(
            "10.0.0.9:80", admin: "DRAINED", health: "UP", cx: (0, 0, 5, 0), rq: (slowCount, 0, 0), success: slowCount,
            failed: 0, latency: slow)
        drained.drain = nil
        var up = Fixtures.host(
            "10.0.0.1:80", admin: "READY", health: "UP", nextCheckMs: ts + 1000,
            checks: Array(repeating: Frame.Check(ok: true, reason: "L7OK", latencyUs: 300, at: ts - 100), count: 20),
            cx: (1, 0, 1, 0), rq: (busyCount, 0, 0), success: busyCount, failed: 0, latency: busy)
        up.localFailed = local
        up.checkRun = checkRun
        let maint = Fixtures.host(
            "10.0.0.5:80", admin: "MAINT", health: "MAINT", cx: (0, 0, 0, 0), rq: (0, 0, 0), success: 0, failed: 0,
            latency: Frame.Latency(HistogramSnapshot()))
        c.hosts = [drained, up, maint]
        c.latency = Frame.Latency(slow.histogram!.merging(busy.histogram!))
        f.clusters = [c]
        return f
    }

    static func model(_ frames: [Frame]) -> ConsoleModel {
        let m = ConsoleModel(windowMs: 10_000)
        for f in frames { m.ingest(line: Fixtures.line(f)) }
        return m
    }

    static func row(_ m: ConsoleModel, _ view: ConsoleView, _ needle: String) -> String {
        Fixtures.render(m, Fixtures.state(view, w: 120), 120).text().first { $0.contains(needle) } ?? ""
    }

    /// Defect 5 and 15: after the window passes, a drained host shows `-` (not its since-start 118 ms, not 0ns); the
    /// busy host shows its recent p99; the cumulative figures stay available for a details panel.
    @Test func latencyIsOverTheWindowAndEmptyIsADash() {
        let t0: UInt64 = 1_000_000
        var frames = [Self.frame(ts: t0, slowCount: 0, busyCount: 0, local: 0)]
        frames.append(Self.frame(ts: t0 + 1000, slowCount: 200, busyCount: 100, local: 0))
        for s in 2...14 { frames.append(Self.frame(ts: t0 + UInt64(s) * 1000, slowCount: 200, busyCount: 100 * UInt64(s), local: 0)) }
        let m = Self.model(frames)
        let drained = Self.row(m, .clusters, "10.0.0.9:80")
        #expect(!drained.contains("118ms") && !drained.contains("0ns"), "\(drained)")
        #expect(drained.contains(" - "), "\(drained)")
        let busy = Self.row(m, .clusters, "10.0.0.1:80")
        #expect(busy.contains("2.0ms"), "\(busy)")
        let cluster = Self.row(m, .clusters, "c  ")
        #expect(cluster.contains("2.0ms") && !cluster.contains("118ms"), "\(cluster)")
        let snap = m.snapshot
        #expect(snap.windowLatency(cluster: "c", host: "10.0.0.9:80") == nil)
        #expect(snap.cumulativeLatency(cluster: "c", host: "10.0.0.9:80")?.p99Us == 118_000)
        #expect((117_000...119_000).contains(snap.cumulativeLatency(cluster: "c")?.p99Us ?? 0))
        #expect(snap.windowLatency(cluster: "c", host: "10.0.0.1:80")?.count == 1000)
        #expect((1990...2010).contains(m.history.last?.p99Us["c"] ?? 0), "the sparkline follows the window")
        let overview = Fixtures.render(m, Fixtures.state(.overview, w: 120), 120).plainText
        #expect(overview.contains("p99 (10s) 2.0ms"), "\(overview)")
        // A host with no samples at all: `-`, never 0ns.
        #expect(!Self.row(m, .clusters, "10.0.0.5:80").contains("0ns"))
    }

    /// Defect 6: Skiff's own error replies for a host show as ERR/s on the host and the cluster; the Listeners view
    /// shows answers per class per second and since start (Bolt's error replies as 5xx).
    @Test func localRepliesShowWhereTheyHappen() {
        let m = Self.model([
            Self.frame(ts: 1000, slowCount: 0, busyCount: 100, local: 0),
            Self.frame(ts: 2000, slowCount: 0, busyCount: 150, local: 57),
        ])
        let host = Self.row(m, .clusters, "10.0.0.1:80")
        #expect(host.contains("57/s"), "\(host)")
        let cluster = Self.row(m, .clusters, "c  ")
        #expect(cluster.contains("57/s"), "\(cluster)")
        #expect(m.snapshot.rate("listener5xx:web") == 57 && m.snapshot.rate("listener2xx:web") == 50)
        let lt = Fixtures.render(m, Fixtures.state(.listeners, w: 120), 120).text()
        #expect(lt[2].contains("2XX/S") && lt[2].contains("5XX/S") && lt[2].contains("2XX/4XX/5XX"), "\(lt[2])")
        let web = lt.first { $0.hasPrefix("web") } ?? ""
        #expect(web.contains("57/s") && web.contains("150/0/57"), "\(web)")
        let rpc = lt.first { $0.hasPrefix("rpc") } ?? ""
        #expect(rpc.contains("36/0/4"), "\(rpc)")
        #expect(m.history.last?.errors5xx == 57)
    }

    /// Defects 7 and 8: MAINT shows as health MAINT with no next check; the streak is the run, not the 20 kept.
    @Test func maintAndTheRealRun() {
        let m = Self.model([Self.frame(ts: 1000, slowCount: 0, busyCount: 0, local: 0, checkRun: 57)])
        let maint = Self.row(m, .health, "10.0.0.5:80")
        #expect(maint.contains("MAINT") && !maint.contains("UP"), "\(maint)")
        let up = Self.row(m, .health, "10.0.0.1:80")
        #expect(up.contains("57 ok in a row"), "\(up)")
    }
}
