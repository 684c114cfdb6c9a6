import Glibc
import SkiffJSON
import SkiffNet
import SkiffTelemetry
import Synchronization

/// Takes a snapshot of every counter each tick and pushes it as one JSON frame (a ``TelemetryFrame``) into the frame
/// ring. The sections are read in `FramePublisher+Listeners.swift`, `+Clusters`, `+Threads`, `+Connections` and `+XDS`.
///
/// One thread, never on the hot path: it reads relaxed atomics the hot path owns and walks each poller's
/// connection registry. Per-connection records carry only connections that changed since the last frame (and the
/// ids of those that closed), so 10,000 idle connections cost a walk and a comparison each, not a record.
/// A full connection table is built on request (`fullFrame`).
public final class FramePublisher: @unchecked Sendable {  // `last*` state is publisher-thread only
    unowned let engine: Engine
    let hub: TelemetryHub
    /// Tick, milliseconds (1 s by default; 250 ms while a console is attached).
    public let intervalMs = Atomic<Int>(1000)
    /// Shorter intervals readers asked for (`subscribe` with `interval_ms`, the console's `+`/`-`).
    public let asks = IntervalAsks()
    /// Threads' CPU read from /proc at most once a second each, however fast frames go (publisher thread only).
    let threadCPU = ThreadCPUCache()
    /// The publishing thread; `stop` wakes it and waits until it has left (see `stop`).
    private let loop = EngineLoopThread(name: "skiff-publisher", stackSize: 1 << 20)
    /// The longest tick `--publish-interval` may ask for, in milliseconds.
    public static let intervalRange: ClosedRange<Int> = 50...60_000
    public let ticks = Atomic<UInt64>(0)
    /// CPU nanoseconds the publisher thread spent building and pushing frames (for the cost budget).
    public let busyNs = Atomic<UInt64>(0)
    public let lastFrameBytes = Atomic<Int>(0)
    /// Each live connection as the last pushed frame saw it (publisher thread only).
    var lastConnection: [UInt64: ConnectionBaseline] = [:]
    /// The changed-connection records of the last pushed frame, kept for their capacity (publisher thread only):
    /// growing a fresh array of records every tick cost more than filling them.
    var changedRecords: [TelemetryFrame.Connection] = []

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
        try loop.start(
            intervalMs: { [self] in effectiveIntervalMs },
            tick: { [self] in publishOnce() })
    }

    /// The tick: the configured interval, or a shorter one a reader asked for.
    public var effectiveIntervalMs: Int {
        let range = Self.intervalRange
        let own = intervalMs.load(ordering: .relaxed)
        return min(max(range.lowerBound, min(own, asks.shortest ?? own)), range.upperBound)
    }

    /// Stops the thread and returns once it has left its loop: the publisher reads the engine (which does not
    /// own a strong reference back), so nothing of it may still run when the engine is torn down.
    func stop() { loop.stop() }

    /// Whether the publishing thread has left its loop (or never started).
    public var threadFinished: Bool { loop.isFinished }

    /// Builds and pushes one frame now (also used by tests).
    @discardableResult
    public func publishOnce() -> UInt64 {
        let t0 = ThreadCPUClock.nanoseconds()
        let frame = buildFrame(connections: .changed)
        writer.reset()
        frame.encode(into: &writer)
        let seq = writer.bytes.withUnsafeBytes { hub.frames.push($0) }
        lastFrameBytes.store(writer.bytes.count, ordering: .relaxed)
        ticks.wrappingAdd(1, ordering: .relaxed)
        busyNs.wrappingAdd(ThreadCPUClock.nanoseconds() &- t0, ordering: .relaxed)
        return seq
    }

    /// A frame with every live connection (the `snapshot` command), not pushed into the ring. Any thread.
    public func fullFrame() -> TelemetryFrame {
        buildFrame(connections: .full, updateBaseline: false)
    }

    /// A frame without connection records (the `stats` command). Any thread.
    public func statsFrame() -> TelemetryFrame {
        buildFrame(connections: .none, updateBaseline: false)
    }

    /// Every cluster with its hosts (the `hosts` command, `GET /api/v1/clusters`). Any thread.
    public func hosts() -> HostsReply {
        HostsReply(clusters: clusterRecords(live: engine.liveConnectionsByOwner()))
    }

    /// Which connection records a frame carries: those that changed since the last pushed frame (and the ids of
    /// those that closed), all of them, or none.
    enum ConnectionDetail { case changed, full, none }

    /// Reads every counter into a frame. `.changed` with `updateBaseline` is the publisher thread's alone (it moves
    /// the baseline the next frame compares with); the other details read no publisher state.
    func buildFrame(connections detail: ConnectionDetail, updateBaseline: Bool = true) -> TelemetryFrame {
        // One walk of the connection registries per frame, shared by the listener, cluster and connection sections.
        let all = engine.allLiveConnections()
        let byOwner = Dictionary(grouping: all, by: \.label)
        var f = TelemetryFrame()
        f.seq = hub.frames.latestSeq + 1
        f.ts = TelemetryHub.wallMillis()
        f.uptimeMs = (MonotonicClock.now() - startedMono) / 1_000_000
        f.intervalMs = effectiveIntervalMs
        f.pid = Int(getpid())
        f.version = engine.version
        f.config = engine.configPath
        f.listeners = listenerRecords(live: byOwner)
        f.clusters = clusterRecords(live: byOwner)
        f.threads = threadRecords()
        addThreadDetail(&f.threads, live: byOwner, listeners: f.listeners)
        if detail != .none {
            f.connections = connectionRecords(all, full: detail == .full, updateBaseline: updateBaseline)
        }
        f.xds = xdsRecord()
        f.eventsLatest = hub.events.latestSeq
        f.publisher.ticks = ticks.load(ordering: .relaxed)
        f.publisher.busyUs = busyNs.load(ordering: .relaxed) / 1000
        f.publisher.lastFrameBytes = lastFrameBytes.load(ordering: .relaxed)
        f.publisher.frameRingBytes = hub.frames.capacityBytes
        f.publisher.frameRingUsed = hub.frames.usedBytes
        f.publisher.connEventsDropped = hub.connectionEventsDropped.load(ordering: .relaxed)
        return f
    }
}
