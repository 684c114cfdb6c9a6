import Glibc
import SkiffJSON
import SkiffNet
import SkiffConfig
import SkiffProxy
import SkiffTelemetry
import SkiffUpstream
import Synchronization

/// Takes a snapshot of every counter each tick and pushes it as one JSON frame into the frame ring.
///
/// One thread, never on the hot path: it reads relaxed atomics the hot path owns and walks each poller's
/// connection registry. Per-connection records carry only connections that changed since the last frame (and the
/// ids of those that closed), so 10,000 idle connections cost a walk and a comparison each, not a record.
/// A full connection table is built on request (`fullConnectionTable`).
public final class FramePublisher: @unchecked Sendable {  // `last*` state is publisher-thread only
    unowned let engine: Engine
    let hub: TelemetryHub
    /// Tick, milliseconds (1 s by default; 250 ms while a console is attached).
    public let intervalMs = Atomic<Int>(1000)
    private let running = Atomic<Bool>(false)
    /// Between ticks the thread sleeps here; `stop` wakes it and waits until it has left (see `stop`).
    private let pause = StoppableSleep()
    /// The longest tick `--publish-interval` may ask for, in milliseconds.
    public static let intervalRange: ClosedRange<Int> = 50...60_000
    public let ticks = Atomic<UInt64>(0)
    /// CPU nanoseconds the publisher thread spent building and pushing frames (for the cost budget).
    public let busyNs = Atomic<UInt64>(0)
    public let lastFrameBytes = Atomic<Int>(0)
    private var lastConnection: [UInt64: (UInt64, UInt64)] = [:]

    private var writer = JSONWriter()
    let startedWall = TelemetryHub.wallMillis()
    let startedMono = MonotonicClock.now()

    init(engine: Engine, hub: TelemetryHub) {
        self.engine = engine
        self.hub = hub
    }

    /// Starts the publisher thread; a thread that cannot start is an error for the caller (a skiff without frames
    /// would show operators an idle process that is really serving).
    func start() throws(SystemError) {
        guard !running.exchange(true, ordering: .relaxed) else { return }
        pause.began()
        do {
            try NetThread.start(name: "skiff-publisher", stackSize: 1 << 20) { [self] in
                self.run()
                self.pause.finished()
            }
        } catch {
            pause.finished()
            running.store(false, ordering: .relaxed)
            throw error
        }
    }

    /// Stops the thread and returns once it has left its loop: the publisher reads the engine (which does not
    /// own a strong reference back), so nothing of it may still run when the engine is torn down.
    func stop() {
        running.store(false, ordering: .relaxed)
        let me = pthread_self()
        let onLoopThread = thread.withLock { $0.map { pthread_equal($0, me) != 0 } ?? false }
        pause.stopAndWait(fromLoopThread: onLoopThread)
    }

    /// Whether the publishing thread has left its loop (or never started).
    public var threadFinished: Bool { pause.isFinished }

    /// The publishing thread, so a `stop` from that thread itself does not wait for itself.
    private let thread = Mutex<pthread_t?>(nil)

    private func run() {
        thread.withLock { $0 = pthread_self() }
        while running.load(ordering: .relaxed) && !pause.isStopped {
            publishOnce()
            let range = Self.intervalRange
            pause.sleep(ms: min(max(range.lowerBound, intervalMs.load(ordering: .relaxed)), range.upperBound))
        }
    }

    /// Builds and pushes one frame now (also used by tests and `snapshot`).
    @discardableResult
    public func publishOnce() -> UInt64 {
        let t0 = threadCPUNs()
        writer.reset()
        encodeFrame(into: &writer, connections: .changed)
        let seq = writer.bytes.withUnsafeBytes { hub.frames.push($0) }
        lastFrameBytes.store(writer.bytes.count, ordering: .relaxed)
        ticks.wrappingAdd(1, ordering: .relaxed)
        busyNs.wrappingAdd(threadCPUNs() &- t0, ordering: .relaxed)
        return seq
    }

    /// A frame with every live connection (the `snapshot` command), not pushed into the ring.
    public func fullSnapshot() -> [UInt8] {
        var w = JSONWriter()
        encodeFrame(into: &w, connections: .full, updateBaseline: false)
        return w.bytes
    }

    /// A frame without connection records (the `stats` command, the admin API).
    public func statsSnapshot() -> [UInt8] {
        var w = JSONWriter()
        encodeFrame(into: &w, connections: .none, updateBaseline: false)
        return w.bytes
    }

    /// `{"clusters":[...]}` with every host (the `hosts` command).
    public func hostsObject() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        encodeClusters(&w, live: engine.liveConnectionsByOwner())
        w.endObject()
        return w.bytes
    }

    enum ConnectionDetail { case changed, full, none }

    private func threadCPUNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    // MARK: - Encoding

    func encodeFrame(into w: inout JSONWriter, connections: ConnectionDetail, updateBaseline: Bool = true) {
        // One walk of the connection registries per frame, shared by the listener, cluster and connection sections.
        let all = engine.allLiveConnections()
        let byOwner = Dictionary(grouping: all, by: \.label)
        w.beginObject()
        w.key("type")
        w.string("frame")
        w.key("seq")
        w.uint(hub.frames.latestSeq + 1)
        w.key("ts")
        w.uint(TelemetryHub.wallMillis())
        w.key("uptime_ms")
        w.uint((MonotonicClock.now() - startedMono) / 1_000_000)
        w.key("interval_ms")
        w.int(intervalMs.load(ordering: .relaxed))
        w.key("pid")
        w.int(Int(getpid()))
        w.key("version")
        w.string(engine.version)
        w.key("config")
        w.string(engine.configPath)
        encodeListeners(&w, live: byOwner)
        encodeClusters(&w, live: byOwner)
        encodeThreads(&w)
        if connections != .none {
            encodeConnections(&w, all, full: connections == .full, updateBaseline: updateBaseline)
        }
        w.key("events_latest")
        w.uint(hub.events.latestSeq)
        w.key("publisher")
        w.beginObject()
        w.key("ticks")
        w.uint(ticks.load(ordering: .relaxed))
        w.key("busy_us")
        w.uint(busyNs.load(ordering: .relaxed) / 1000)
        w.key("last_frame_bytes")
        w.int(lastFrameBytes.load(ordering: .relaxed))
        w.key("frame_ring_bytes")
        w.int(hub.frames.capacityBytes)
        w.key("frame_ring_used")
        w.int(hub.frames.usedBytes)
        w.key("conn_events_dropped")
        w.uint(hub.connectionEventsDropped.load(ordering: .relaxed))
        w.endObject()
        w.endObject()
    }

    private func encodeWrites(_ w: inout JSONWriter, _ s: WriteStatsSnapshot) {
        w.key("writes")
        w.beginObject()
        w.key("bytes_in")
        w.uint(s.bytesRead)
        w.key("bytes_out")
        w.uint(s.bytesWritten)
        w.key("buffers")
        w.uint(s.buffersQueued)
        w.key("writev")
        w.uint(s.writevCalls)
        w.key("hist")
        w.beginArray()
        for v in s.perWritev { w.uint(v) }
        w.endArray()
        w.key("partial")
        w.uint(s.partialWrites)
        w.key("eagain")
        w.uint(s.eagain)
        w.key("peak_queue")
        w.int(s.peakQueueDepth)
        w.key("read_pauses")
        w.uint(s.readPauses)
        w.endObject()
    }

    private func encodeListeners(_ w: inout JSONWriter, live: [String: [Connection]]) {
        w.key("listeners")
        w.beginArray()
        for l in engine.listeners {
            let st = l.listener.stats
            w.beginObject()
            w.key("name")
            w.string(l.name)
            w.key("address")
            w.string(l.address.description)
            w.key("model")
            w.string(l.model.rawValue)
            w.key("protocol")
            w.string(l.protocolName)
            w.key("workers")
            w.int(l.workers?.size ?? 0)
            w.key("cx_active")
            w.int(st.active.load(ordering: .relaxed))
            w.key("cx_total")
            w.uint(st.accepted.load(ordering: .relaxed))
            w.key("cx_refused")
            w.uint(st.refusedOverLimit.load(ordering: .relaxed))
            w.key("accept_errors")
            w.uint(st.acceptErrors.load(ordering: .relaxed))
            if let h = l.http?.stats ?? l.autoHTTPStats {
                w.key("rq_total")
                w.uint(h.requestTotal.load(ordering: .relaxed))
                w.key("rq_active")
                w.int(h.requestActive.load(ordering: .relaxed))
                w.key("rq_1xx")
                w.uint(h.responses1xx.load(ordering: .relaxed))
                w.key("rq_2xx")
                w.uint(h.responses2xx.load(ordering: .relaxed))
                w.key("rq_3xx")
                w.uint(h.responses3xx.load(ordering: .relaxed))
                w.key("rq_4xx")
                w.uint(h.responses4xx.load(ordering: .relaxed))
                w.key("rq_5xx")
                w.uint(h.responses5xx.load(ordering: .relaxed))
                w.key("local_replies")
                w.uint(h.localReplies.load(ordering: .relaxed))
                w.key("protocol_errors")
                w.uint(h.protocolErrors.load(ordering: .relaxed))
                w.key("route_timeouts")
                w.uint(h.routeTimeouts.load(ordering: .relaxed))
                w.key("retries")
                w.uint(h.retries.load(ordering: .relaxed))
            }
            if let r = l.rpcStats {
                w.key("rq_total")
                w.uint(r.requestTotal.load(ordering: .relaxed))
                w.key("rq_active")
                w.int(r.requestActive.load(ordering: .relaxed))
                w.key("oneway")
                w.uint(r.oneway.load(ordering: .relaxed))
                w.key("responses")
                w.uint(r.responses.load(ordering: .relaxed))
                w.key("heartbeats")
                w.uint(r.heartbeats.load(ordering: .relaxed))
                w.key("local_replies")
                w.uint(r.localReplies.load(ordering: .relaxed))
                w.key("timeouts")
                w.uint(r.timeouts.load(ordering: .relaxed))
                w.key("protocol_errors")
                w.uint(r.protocolErrors.load(ordering: .relaxed))
                w.key("unknown_responses")
                w.uint(r.unknownResponses.load(ordering: .relaxed))
                w.key("upstream_resets")
                w.uint(r.upstreamResets.load(ordering: .relaxed))
                w.key("retries")
                w.uint(r.retries.load(ordering: .relaxed))
            }
            if let t = l.tcpProxy?.stats {
                w.key("sessions")
                w.uint(t.sessions.load(ordering: .relaxed))
                w.key("sessions_active")
                w.int(t.activeSessions.load(ordering: .relaxed))
                w.key("upstream_connect_failures")
                w.uint(t.upstreamConnectFailures.load(ordering: .relaxed))
            }
            var writes = l.totals.snapshot
            for c in live[l.name] ?? [] where c.direction == .inbound { writes = writes + c.stats.snapshot }
            encodeWrites(&w, writes)
            w.endObject()
        }
        w.endArray()
    }

    private func encodeLatency(_ w: inout JSONWriter, _ s: HistogramSnapshot) {
        w.key("latency")
        w.beginObject()
        w.key("count")
        w.uint(s.count)
        w.key("p50_us")
        w.uint(s.quantile(0.50) / 1000)
        w.key("p90_us")
        w.uint(s.quantile(0.90) / 1000)
        w.key("p99_us")
        w.uint(s.quantile(0.99) / 1000)
        w.key("p999_us")
        w.uint(s.quantile(0.999) / 1000)
        w.key("max_us")
        w.uint(s.max / 1000)
        w.endObject()
    }

    private func encodeClusters(_ w: inout JSONWriter, live: [String: [Connection]]) {
        w.key("clusters")
        w.beginArray()
        for c in engine.clusters.clusters.values.sorted(by: { $0.name < $1.name }) {
            let s = c.stats
            w.beginObject()
            w.key("name")
            w.string(c.name)
            w.key("lb")
            w.string(c.config.lbType.rawValue)
            w.key("rq_total")
            w.uint(s.requestTotal.load(ordering: .relaxed))
            w.key("rq_active")
            w.int(s.requestActive.load(ordering: .relaxed))
            w.key("rq_pending")
            w.int(s.requestPending.load(ordering: .relaxed))
            w.key("cx_active")
            w.int(s.connectionActive.load(ordering: .relaxed))
            w.key("retries")
            w.uint(s.retryTotal.load(ordering: .relaxed))
            w.key("overflow")
            w.beginObject()
            w.key("max_connections")
            w.uint(s.overflowConnections.load(ordering: .relaxed))
            w.key("max_pending_requests")
            w.uint(s.overflowPending.load(ordering: .relaxed))
            w.key("max_requests")
            w.uint(s.overflowRequests.load(ordering: .relaxed))
            w.key("max_retries")
            w.uint(s.overflowRetries.load(ordering: .relaxed))
            w.endObject()
            w.key("no_healthy_upstream")
            w.uint(s.noHealthyUpstream.load(ordering: .relaxed))
            if let service = c.config.healthCheck?.serviceName, !service.isEmpty {
                w.key("health_check_service")
                w.string(service)
            }
            encodeLatency(&w, c.latency.snapshot())
            var writes = c.upstreamWrites.snapshot
            for conn in live[c.name] ?? [] where conn.direction == .outbound { writes = writes + conn.stats.snapshot }
            encodeWrites(&w, writes)
            w.key("hosts")
            w.beginArray()
            for h in c.hosts { encodeHost(&w, h, cluster: c) }
            w.endArray()
            w.endObject()
        }
        w.endArray()
    }

    func encodeHost(_ w: inout JSONWriter, _ h: Host, cluster c: Cluster) {
        let s = h.stats
        w.beginObject()
        w.key("address")
        w.string(h.description)
        w.key("weight")
        w.int(h.weight)
        if !h.config.metadata.isEmpty {
            w.key("metadata")
            w.beginObject()
            for (k, v) in h.config.metadata.sorted(by: { $0.key < $1.key }) {
                w.key(dynamic: k)
                w.string(v)
            }
            w.endObject()
        }
        let admin = h.adminState
        let drained = admin == .drain && h.isDrained
        w.key("admin")
        w.string(drained ? "DRAINED" : admin.description)
        let health = h.health.snapshot
        w.key("health")
        w.string(h.health.isEjected ? "EJECTED" : health.text)
        w.key("available")
        w.bool(h.isAvailable)
        if admin == .drain {
            let elapsed = MonotonicClock.now() &- h.drainStartedNs.load(ordering: .relaxed)
            w.key("drain")
            w.beginObject()
            w.key("elapsed_ms")
            w.uint(elapsed / 1_000_000)
            w.key("timeout_ms")
            w.uint(Connection.nanoseconds(c.config.drainTimeout) / 1_000_000)
            w.key("active_rq")
            w.int(s.requestActive.load(ordering: .relaxed))
            w.key("active_cx")
            w.int(s.connectionActive.load(ordering: .relaxed) - s.connectionIdle.load(ordering: .relaxed))
            w.key("idle_cx")
            w.int(s.connectionIdle.load(ordering: .relaxed))
            w.key("drained")
            w.bool(drained)
            w.endObject()
        }
        if let next = engine.healthChecker?.nextCheckMs(h) {
            w.key("next_check_ms")
            w.uint(next)
        }
        if h.health.isEjected {
            w.key("ejected_until_ms")
            w.uint(health.ejectedUntilMs)
        }
        if health.checked {
            w.key("checks")
            w.beginArray()
            for r in health.last {
                w.beginObject()
                w.key("ok")
                w.bool(r.ok)
                w.key("reason")
                w.string(r.reason)
                w.key("latency_us")
                w.uint(r.latencyNs / 1000)
                w.key("at")
                w.uint(r.at)
                w.endObject()
            }
            w.endArray()
        }
        w.key("cx_active")
        w.int(s.connectionActive.load(ordering: .relaxed))
        w.key("cx_idle")
        w.int(s.connectionIdle.load(ordering: .relaxed))
        w.key("cx_total")
        w.uint(s.connectionTotal.load(ordering: .relaxed))
        w.key("cx_connect_fail")
        w.uint(s.connectionConFail.load(ordering: .relaxed))
        w.key("rq_total")
        w.uint(s.requestTotal.load(ordering: .relaxed))
        w.key("rq_active")
        w.int(s.requestActive.load(ordering: .relaxed))
        w.key("rq_timeout")
        w.uint(s.requestTimeout.load(ordering: .relaxed))
        w.key("rq_retry")
        w.uint(s.requestRetry.load(ordering: .relaxed))
        w.key("rq_remote_reset")
        w.uint(s.requestRemoteReset.load(ordering: .relaxed))
        w.key("resp_success")
        w.uint(s.responseSuccess.load(ordering: .relaxed))
        w.key("resp_failed")
        w.uint(s.responseFailed.load(ordering: .relaxed))
        encodeLatency(&w, h.latency.snapshot())
        w.endObject()
    }

    private func encodeThreads(_ w: inout JSONWriter) {
        w.key("threads")
        w.beginObject()
        w.key("pollers")
        w.beginArray()
        for g in engine.pollerGroups {
            for p in g.pollers {
                let s = p.snapshot
                w.beginObject()
                w.key("group")
                w.string(g.name)
                w.key("index")
                w.int(s.index)
                w.key("tid")
                w.int(Int(s.tid))
                w.key("fds")
                w.int(s.registered)
                w.key("wakeups")
                w.uint(s.wakeups)
                w.key("events")
                w.uint(s.events)
                w.key("cpu_ms")
                w.uint(threadCPUMillis(tid: s.tid))
                w.endObject()
            }
        }
        w.endArray()
        w.key("workers")
        w.beginArray()
        for l in engine.listeners {
            guard let pool = l.workers else { continue }
            for (i, s) in pool.snapshot.enumerated() {
                w.beginObject()
                w.key("pool")
                w.string(pool.name)
                w.key("index")
                w.int(i)
                w.key("tid")
                w.int(Int(s.tid))
                w.key("busy")
                w.bool(s.busy)
                w.key("queue")
                w.int(s.queueDepth)
                w.key("max_queue")
                w.int(s.maxQueueDepth)
                w.key("processed")
                w.uint(s.processed)
                w.key("cpu_ms")
                w.uint(threadCPUMillis(tid: s.tid))
                w.endObject()
            }
        }
        w.endArray()
        w.key("rwloop")
        w.beginObject()
        w.key("readers")
        w.int(engine.rwloop?.readers.load(ordering: .relaxed) ?? 0)
        w.key("writers")
        w.int(engine.rwloop?.writers.load(ordering: .relaxed) ?? 0)
        w.key("connections")
        w.int(engine.rwloop?.registry.count ?? 0)
        w.key("spawn_failures")
        w.uint(engine.rwloop?.spawnFailures.load(ordering: .relaxed) ?? 0)
        w.endObject()
        w.endObject()
    }

    /// utime+stime of one of our threads, from /proc (0 when unknown).
    private func threadCPUMillis(tid: Int32) -> UInt64 {
        guard tid > 0, let f = fopen("/proc/self/task/\(tid)/stat", "r") else { return 0 }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 512)
        guard fgets(&buf, 512, f) != nil else { return 0 }
        let line = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard let close = line.lastIndex(of: ")") else { return 0 }
        let fields = line[line.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = UInt64(fields[11]), let s = UInt64(fields[12]) else { return 0 }
        return (u + s) * 1000 / UInt64(sysconf(Int32(_SC_CLK_TCK)))
    }

    private func encodeConnections(_ w: inout JSONWriter, _ all: [Connection], full: Bool, updateBaseline: Bool) {
        w.key("connections")
        w.beginObject()
        w.key("live")
        w.int(all.count)
        w.key(full ? "table" : "changed")
        w.beginArray()
        var seen: [UInt64: (UInt64, UInt64)] = [:]
        seen.reserveCapacity(all.count)
        let now = MonotonicClock.now()
        for c in all {
            let s = c.stats
            let key = (s.bytesRead.load(ordering: .relaxed), s.bytesWritten.load(ordering: .relaxed))
            seen[c.id] = key
            if !full, let old = lastConnection[c.id], old == key { continue }
            let snap = s.snapshot
            w.beginObject()
            w.key("id")
            w.uint(c.id)
            w.key("dir")
            w.string(c.direction.rawValue)
            w.key("model")
            w.string(c.model.rawValue)
            w.key("owner")
            w.string(c.label)
            w.key("peer")
            w.string(c.peerAddress?.description ?? "")
            w.key("age_ms")
            w.uint((now &- c.openedAt) / 1_000_000)
            w.key("thread")
            w.string(c.ioThread)
            w.key("handler")
            w.string(c.callbackThread)
            w.key("bytes_in")
            w.uint(snap.bytesRead)
            w.key("bytes_out")
            w.uint(snap.bytesWritten)
            w.key("writev")
            w.uint(snap.writevCalls)
            w.key("buffers")
            w.uint(snap.buffersQueued)
            w.key("paused")
            w.bool(c.isReadingPaused)
            w.endObject()
        }
        w.endArray()
        if !full {
            w.key("closed")
            w.beginArray()
            for id in lastConnection.keys where seen[id] == nil { w.uint(id) }
            w.endArray()
        }
        w.endObject()
        if updateBaseline { lastConnection = seen }
    }
}
