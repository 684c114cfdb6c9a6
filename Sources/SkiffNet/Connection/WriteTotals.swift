import Synchronization

/// Running totals of closed connections' counters for one owner (a listener, or a cluster's upstream connections),
/// so a listener's Writes figures stay cumulative after its connections go. Live connections are added on top by
/// whoever reads (the telemetry publisher).
public final class WriteTotals: Sendable {
    public let connections = Atomic<UInt64>(0)
    let bytesRead = Atomic<UInt64>(0)
    let readCalls = Atomic<UInt64>(0)
    let bytesWritten = Atomic<UInt64>(0)
    let buffersQueued = Atomic<UInt64>(0)
    let writevCalls = Atomic<UInt64>(0)
    let partialWrites = Atomic<UInt64>(0)
    let eagain = Atomic<UInt64>(0)
    let peak = Atomic<Int>(0)
    let hist = (0..<5).map { _ in HistSlot() }
    let readPauses = Atomic<UInt64>(0)

    final class HistSlot: Sendable {
        let value = Atomic<UInt64>(0)
    }

    public init() {}

    /// Adds a closing connection's counters, read straight from its atomics (a snapshot would allocate its
    /// histogram array, once per closed connection).
    func absorb(_ s: ConnectionStats) {
        connections.wrappingAdd(1, ordering: .relaxed)
        bytesRead.wrappingAdd(s.bytesRead.load(ordering: .relaxed), ordering: .relaxed)
        readCalls.wrappingAdd(s.readCalls.load(ordering: .relaxed), ordering: .relaxed)
        bytesWritten.wrappingAdd(s.bytesWritten.load(ordering: .relaxed), ordering: .relaxed)
        buffersQueued.wrappingAdd(s.buffersQueued.load(ordering: .relaxed), ordering: .relaxed)
        writevCalls.wrappingAdd(s.writevCalls.load(ordering: .relaxed), ordering: .relaxed)
        partialWrites.wrappingAdd(s.partialWrites.load(ordering: .relaxed), ordering: .relaxed)
        eagain.wrappingAdd(s.eagain.load(ordering: .relaxed), ordering: .relaxed)
        readPauses.wrappingAdd(s.readPauses.load(ordering: .relaxed), ordering: .relaxed)
        let p = s.peakQueueDepth.load(ordering: .relaxed)
        if p > peak.load(ordering: .relaxed) { peak.store(p, ordering: .relaxed) }
        hist[0].value.wrappingAdd(s.perWritev1.load(ordering: .relaxed), ordering: .relaxed)
        hist[1].value.wrappingAdd(s.perWritev2to3.load(ordering: .relaxed), ordering: .relaxed)
        hist[2].value.wrappingAdd(s.perWritev4to7.load(ordering: .relaxed), ordering: .relaxed)
        hist[3].value.wrappingAdd(s.perWritev8to15.load(ordering: .relaxed), ordering: .relaxed)
        hist[4].value.wrappingAdd(s.perWritev16plus.load(ordering: .relaxed), ordering: .relaxed)
    }

    /// The closed connections' totals as one snapshot.
    public var snapshot: WriteStatsSnapshot {
        WriteStatsSnapshot(
            bytesRead: bytesRead.load(ordering: .relaxed), readCalls: readCalls.load(ordering: .relaxed),
            bytesWritten: bytesWritten.load(ordering: .relaxed), buffersQueued: buffersQueued.load(ordering: .relaxed),
            writevCalls: writevCalls.load(ordering: .relaxed), partialWrites: partialWrites.load(ordering: .relaxed),
            eagain: eagain.load(ordering: .relaxed), peakQueueDepth: peak.load(ordering: .relaxed),
            perWritev: hist.map { $0.value.load(ordering: .relaxed) }, readPauses: readPauses.load(ordering: .relaxed))
    }
}

/// Told when connections open and close (registration for telemetry, events). Called on the connection's I/O
/// thread; must be quick and must not call back into the connection.
public protocol ConnectionObserver: AnyObject, Sendable {
    func connectionOpened(_ connection: Connection)
    func connectionClosed(_ connection: Connection, reason: CloseReason)
}

/// The live connections of one poller or rwloop group, for the publisher to walk. Its mutex is per poller (never
/// shared across pollers) and is taken on open and close only, never per request.
public final class ConnectionRegistry: Sendable {
    private let live = Mutex<[UInt64: Connection]>([:])

    public init() {}

    func add(_ c: Connection) { live.withLock { $0[c.id] = c } }
    func remove(_ c: Connection) { live.withLock { _ = $0.removeValue(forKey: c.id) } }

    public var count: Int { live.withLock { $0.count } }

    /// A copy of the live set (the publisher's tick; allocates, off the hot path).
    public var connections: [Connection] { live.withLock { Array($0.values) } }
}
