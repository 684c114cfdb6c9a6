import SkiffJSON
import SkiffTelemetry

@testable import SkiffConsole

/// Frames and events built as typed values and sent through the schema's encoder, then parsed and decoded as the
/// console reads a control-socket line: the fixtures are the bytes the publisher would send, so they cannot drift
/// from it.
enum Fixtures {
    typealias Frame = TelemetryFrame

    static func writes(
        bytesIn: UInt64, bytesOut: UInt64, buffers: UInt64, writev: UInt64, hist: [UInt64], partial: UInt64,
        eagain: UInt64, peakQueue: Int
    ) -> Frame.Writes {
        var w = Frame.Writes()
        w.bytesIn = bytesIn
        w.bytesOut = bytesOut
        w.buffers = buffers
        w.writev = writev
        w.hist = hist
        w.partial = partial
        w.eagain = eagain
        w.peakQueue = peakQueue
        return w
    }

    static func latency(count: UInt64, p50: UInt64, p90: UInt64, p99: UInt64, p999: UInt64, max: UInt64) -> Frame.Latency {
        var l = Frame.Latency()
        l.count = count
        l.p50Us = p50
        l.p90Us = p90
        l.p99Us = p99
        l.p999Us = p999
        l.maxUs = max
        // Buckets as a histogram with these quantiles would carry them: half at p50, 40 % at p90, 9 % at p99,
        // 0.9 % at p999, the rest at max (so two frames' difference has the same quantiles).
        let h = LatencyHistogram()
        var recorded: UInt64 = 0
        for (us, share) in [(p50, count * 50 / 100), (p90, count * 40 / 100), (p99, count * 9 / 100), (p999, count * 9 / 1000)] {
            for _ in 0..<share { h.record(ns: us * 1000) }
            recorded += share
        }
        for _ in recorded..<Swift.max(recorded, count) { h.record(ns: max * 1000) }
        l.buckets = SparseBuckets.encode(h.snapshot())
        return l
    }

    static func host(
        _ address: String, weight: Int = 1, admin: String, health: String, drain: Frame.Drain? = nil,
        nextCheckMs: UInt64? = nil, checks: [Frame.Check]? = nil, cx: (active: Int, idle: Int, total: UInt64, fail: UInt64),
        rq: (total: UInt64, active: Int, retry: UInt64), success: UInt64, failed: UInt64, latency: Frame.Latency
    ) -> Frame.Host {
        var h = Frame.Host()
        h.address = address
        h.weight = weight
        h.admin = admin
        h.health = health
        h.drain = drain
        h.nextCheckMs = nextCheckMs
        h.checks = checks
        h.cxActive = cx.active
        h.cxIdle = cx.idle
        h.cxTotal = cx.total
        h.cxConnectFail = cx.fail
        h.rqTotal = rq.total
        h.rqActive = rq.active
        h.rqRetry = rq.retry
        h.respSuccess = success
        h.respFailed = failed
        h.latency = latency
        return h
    }

    static func drain(elapsed: UInt64, active: Int, activeCx: Int, drained: Bool) -> Frame.Drain {
        var d = Frame.Drain()
        d.elapsedMs = elapsed
        d.timeoutMs = 30_000
        d.activeRq = active
        d.activeCx = activeCx
        d.drained = drained
        return d
    }

    static func connection(
        _ id: UInt64, model: String, owner: String, peer: String, ageMs: UInt64, thread: String, handler: String,
        bytesIn: UInt64, bytesOut: UInt64, writev: UInt64, buffers: UInt64, paused: Bool
    ) -> Frame.Connection {
        var c = Frame.Connection()
        c.id = id
        c.dir = "inbound"
        c.model = model
        c.owner = owner
        c.peer = peer
        c.ageMs = ageMs
        c.thread = thread
        c.handler = handler
        c.bytesIn = bytesIn
        c.bytesOut = bytesOut
        c.writev = writev
        c.buffers = buffers
        c.paused = paused
        return c
    }

    /// An HTTP listener and a tcp_proxy one, a cluster with a draining, a down and a drained host, two pollers, two
    /// workers, rwloop threads; `rq` drives every counter rates are computed from.
    static func frame(
        seq: UInt64, ts: UInt64, rq: UInt64, fivexx: UInt64, drainActive: Int, elapsed: UInt64,
        connections: Frame.Connections = {
            var c = Frame.Connections()
            c.live = 123
            return c
        }()
    ) -> Frame {
        var f = Frame()
        f.seq = seq
        f.ts = ts
        f.uptimeMs = 3_723_000 + (ts - t0)
        f.intervalMs = 1000
        f.pid = 4242
        f.version = "0.4.0"
        f.config = "/etc/skiff/skiff.json"
        f.eventsLatest = 12

        var http = Frame.Listener()
        http.name = "http_in"
        http.address = "0.0.0.0:8080"
        http.model = "netpoll"
        http.protocol = "http1"
        http.workers = 2
        http.cxActive = 120
        http.cxTotal = 1000 + rq / 10
        http.rqTotal = rq
        http.rqActive = 4
        http.rq1xx = 0
        http.rq2xx = rq - fivexx
        http.rq3xx = 0
        http.rq4xx = 0
        http.rq5xx = fivexx
        http.localReplies = 0
        http.protocolErrors = 1
        http.routeTimeouts = 0
        http.retries = 0
        http.writes = writes(
            bytesIn: 1_048_576, bytesOut: 4_194_304, buffers: 9000, writev: 3000, hist: [1500, 800, 400, 200, 100],
            partial: 7, eagain: 3, peakQueue: 12)
        var tcp = Frame.Listener()
        tcp.name = "tcp_in"
        tcp.address = "127.0.0.1:9090"
        tcp.model = "rwloop"
        tcp.protocol = "tcp"
        tcp.cxActive = 3
        tcp.cxTotal = 30
        tcp.sessions = 30 + rq / 100
        tcp.sessionsActive = 3
        tcp.upstreamConnectFailures = 0
        tcp.writes = writes(
            bytesIn: 2048, bytesOut: 4096, buffers: 20, writev: 20, hist: [20, 0, 0, 0, 0], partial: 0, eagain: 0,
            peakQueue: 1)
        f.listeners = [http, tcp]

        var c1 = Frame.Cluster()
        c1.name = "c1"
        c1.lb = "LB_ROUNDROBIN"
        c1.rqTotal = rq
        c1.rqActive = 4
        c1.cxActive = 9
        c1.latency = latency(count: rq, p50: 410, p90: 1200, p99: 2300, p999: 5000, max: 9000)
        c1.writes = writes(
            bytesIn: 4000, bytesOut: 8000, buffers: 600, writev: 300, hist: [111, 222, 33, 4, 5], partial: 1, eagain: 2,
            peakQueue: 4)
        let hostLatency = latency(count: 10, p50: 400, p90: 1000, p99: 2100, p999: 3000, max: 4000)
        let busyHostLatency = latency(count: rq / 2, p50: 400, p90: 1000, p99: 2100, p999: 3000, max: 4000)
        c1.hosts = [
            host(
                "10.0.0.3:8080", admin: "DRAIN", health: "UP",
                drain: drain(elapsed: elapsed, active: drainActive, activeCx: 1, drained: false), nextCheckMs: ts + 2000,
                checks: [
                    Frame.Check(ok: true, reason: "L7OK", latencyUs: 800, at: ts - 3000),
                    Frame.Check(ok: false, reason: "L7STS 503", latencyUs: 900, at: ts - 2000),
                    Frame.Check(ok: true, reason: "L7OK", latencyUs: 700, at: ts - 1000),
                ],
                cx: (1, 0, 50, 0), rq: (rq / 2, drainActive, 37), success: rq / 2, failed: 3, latency: busyHostLatency),
            host(
                "10.0.0.4:8080", weight: 2, admin: "READY", health: "DOWN 1/2",
                checks: [Frame.Check(ok: false, reason: "L4CON refused", latencyUs: 100, at: ts - 500)],
                cx: (8, 2, 90, 4), rq: (rq / 2, 2, 0), success: rq / 2, failed: 0,
                latency: latency(count: 10, p50: 420, p90: 1300, p99: 2500, p999: 3000, max: 4000)),
            host(
                "10.0.0.5:8080", admin: "DRAINED", health: "UP",
                drain: drain(elapsed: 5000, active: 0, activeCx: 0, drained: true),
                cx: (0, 0, 5, 0), rq: (10, 0, 0), success: 10, failed: 0, latency: hostLatency),
        ]
        f.clusters = [c1]

        var p0 = Frame.Poller()
        p0.group = "http_in"
        p0.index = 0
        p0.tid = 101
        p0.fds = 64
        p0.wakeups = rq * 2
        p0.events = rq * 3
        p0.cpuMs = 1500
        var p1 = p0
        p1.index = 1
        p1.tid = 102
        p1.fds = 60
        p1.wakeups = rq
        p1.events = rq
        p1.cpuMs = 1400
        var w0 = Frame.Worker()
        w0.pool = "http_in"
        w0.index = 0
        w0.tid = 201
        w0.busy = true
        w0.queue = 3
        w0.maxQueue = 17
        w0.processed = rq
        w0.cpuMs = 900
        var w1 = w0
        w1.index = 1
        w1.tid = 202
        w1.busy = false
        w1.queue = 0
        w1.maxQueue = 9
        w1.processed = rq / 2
        w1.cpuMs = 800
        f.threads.pollers = [p0, p1]
        f.threads.workers = [w0, w1]
        f.threads.rwloop.readers = 3
        f.threads.rwloop.writers = 3
        f.threads.rwloop.connections = 3
        f.connections = connections

        f.publisher.ticks = seq
        f.publisher.busyUs = 120
        f.publisher.lastFrameBytes = 4000
        f.publisher.frameRingBytes = 8_388_608
        f.publisher.frameRingUsed = 40_000
        return f
    }

    static let t0: UInt64 = 1_795_768_000_000

    /// Every live connection (as `snapshot` sends them).
    static var f1: Frame {
        var table = Frame.Connections()
        table.live = 123
        table.table = [
            connection(
                1, model: "netpoll", owner: "http_in", peer: "192.168.1.10:50000", ageMs: 5000, thread: "poller-0",
                handler: "http1", bytesIn: 100, bytesOut: 2000, writev: 4, buffers: 8, paused: false),
            connection(
                2, model: "rwloop", owner: "tcp_in", peer: "192.168.1.11:50001", ageMs: 9000, thread: "rw-2",
                handler: "tcp", bytesIn: 10, bytesOut: 20, writev: 2, buffers: 2, paused: true),
        ]
        return frame(seq: 1, ts: t0, rq: 10_000, fivexx: 10, drainActive: 5, elapsed: 11_000, connections: table)
    }

    /// One connection changed, one closed.
    static var f2: Frame {
        var changes = Frame.Connections()
        changes.live = 123
        changes.changed = [
            connection(
                3, model: "netpoll", owner: "http_in", peer: "192.168.1.12:50002", ageMs: 100, thread: "poller-1",
                handler: "http1", bytesIn: 1, bytesOut: 2, writev: 1, buffers: 1, paused: false)
        ]
        changes.closed = [2]
        return frame(seq: 2, ts: t0 + 1000, rq: 11_200, fivexx: 15, drainActive: 2, elapsed: 12_000, connections: changes)
    }

    static var f3: Frame {
        frame(seq: 3, ts: t0 + 2000, rq: 12_600, fivexx: 15, drainActive: 7, elapsed: 13_000)
    }

    static let events: [TelemetryEvent] = [
        TelemetryEvent(ts: t0 + 500, .engineStart(.init(listeners: 2, config: "/etc/skiff/skiff.json"))),
        TelemetryEvent(
            ts: t0 + 900,
            .hostAdmin(.init(cluster: "c1", host: "10.0.0.3:8080", from: "READY", to: "DRAIN", uid: 0, via: "ctl"))),
    ]

    /// What a reader gets from the control socket for `record`: its encoded line, parsed and decoded by type.
    static func line(_ record: some TelemetryRecord) -> TelemetryLine {
        TelemetryLine(json: try! JSONParser.parse(record.jsonBytes))
    }

    static func model(frames: [Frame] = [f1, f2]) -> ConsoleModel {
        let m = ConsoleModel()
        for f in frames { m.ingest(line: line(f)) }
        for e in events { m.ingest(line: line(e)) }
        return m
    }

    static func render(_ m: ConsoleModel, _ s: ConsoleState, _ w: Int = 100, _ h: Int = 30) -> Grid {
        var g = Grid(width: w, height: h)
        ConsoleRenderer.render(model: m, state: s, into: &g)
        return g
    }

    static func state(_ view: ConsoleView, w: Int = 100, h: Int = 30) -> ConsoleState {
        var s = ConsoleState()
        s.view = view
        s.screenWidth = w
        s.screenHeight = h
        return s
    }
}
