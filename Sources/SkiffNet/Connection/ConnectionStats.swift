import Synchronization

/// Counters owned by one connection, written by its I/O threads with relaxed atomics and read by the telemetry
/// publisher from any thread. No lock, no allocation per update.
public final class ConnectionStats: Sendable {
    public let bytesRead = Atomic<UInt64>(0)
    public let readCalls = Atomic<UInt64>(0)
    public let bytesWritten = Atomic<UInt64>(0)
    /// Buffers handed to `write` (each is one iovec candidate).
    public let buffersQueued = Atomic<UInt64>(0)
    public let writevCalls = Atomic<UInt64>(0)
    /// writev calls that wrote less than was gathered.
    public let partialWrites = Atomic<UInt64>(0)
    /// writev calls answered EAGAIN.
    public let eagain = Atomic<UInt64>(0)
    /// Largest number of buffers ever waiting in the write queue.
    public let peakQueueDepth = Atomic<Int>(0)
    /// Buffers per writev: 1, 2-3, 4-7, 8-15, 16+.
    public let perWritev1 = Atomic<UInt64>(0)
    public let perWritev2to3 = Atomic<UInt64>(0)
    public let perWritev4to7 = Atomic<UInt64>(0)
    public let perWritev8to15 = Atomic<UInt64>(0)
    public let perWritev16plus = Atomic<UInt64>(0)
    /// Times reading was paused because the peer's write queue was over its limit.
    public let readPauses = Atomic<UInt64>(0)

    public init() {}

    @inline(__always) func recordWritev(buffers: Int) {
        switch buffers {
        case ...1: perWritev1.wrappingAdd(1, ordering: .relaxed)
        case 2...3: perWritev2to3.wrappingAdd(1, ordering: .relaxed)
        case 4...7: perWritev4to7.wrappingAdd(1, ordering: .relaxed)
        case 8...15: perWritev8to15.wrappingAdd(1, ordering: .relaxed)
        default: perWritev16plus.wrappingAdd(1, ordering: .relaxed)
        }
        writevCalls.wrappingAdd(1, ordering: .relaxed)
    }

    @inline(__always) func notePeak(_ depth: Int) {
        if depth > peakQueueDepth.load(ordering: .relaxed) { peakQueueDepth.store(depth, ordering: .relaxed) }
    }

    /// A plain copy for reports and tests.
    public var snapshot: WriteStatsSnapshot {
        WriteStatsSnapshot(
            bytesRead: bytesRead.load(ordering: .relaxed), readCalls: readCalls.load(ordering: .relaxed),
            bytesWritten: bytesWritten.load(ordering: .relaxed), buffersQueued: buffersQueued.load(ordering: .relaxed),
            writevCalls: writevCalls.load(ordering: .relaxed), partialWrites: partialWrites.load(ordering: .relaxed),
            eagain: eagain.load(ordering: .relaxed), peakQueueDepth: peakQueueDepth.load(ordering: .relaxed),
            perWritev: [
                perWritev1.load(ordering: .relaxed), perWritev2to3.load(ordering: .relaxed),
                perWritev4to7.load(ordering: .relaxed), perWritev8to15.load(ordering: .relaxed),
                perWritev16plus.load(ordering: .relaxed),
            ],
            readPauses: readPauses.load(ordering: .relaxed))
    }
}

/// A point-in-time copy of a connection's counters.
public struct WriteStatsSnapshot: Sendable, Equatable {
    public var bytesRead: UInt64
    public var readCalls: UInt64
    public var bytesWritten: UInt64
    public var buffersQueued: UInt64
    public var writevCalls: UInt64
    public var partialWrites: UInt64
    public var eagain: UInt64
    public var peakQueueDepth: Int
    /// Histogram buckets: 1, 2-3, 4-7, 8-15, 16+ buffers per writev.
    public var perWritev: [UInt64]
    public var readPauses: UInt64

    /// Mean buffers per writev.
    public var buffersPerWritev: Double {
        writevCalls == 0 ? 0 : Double(buffersQueued) / Double(writevCalls)
    }

    public static func + (a: WriteStatsSnapshot, b: WriteStatsSnapshot) -> WriteStatsSnapshot {
        WriteStatsSnapshot(
            bytesRead: a.bytesRead + b.bytesRead, readCalls: a.readCalls + b.readCalls,
            bytesWritten: a.bytesWritten + b.bytesWritten, buffersQueued: a.buffersQueued + b.buffersQueued,
            writevCalls: a.writevCalls + b.writevCalls, partialWrites: a.partialWrites + b.partialWrites,
            eagain: a.eagain + b.eagain, peakQueueDepth: max(a.peakQueueDepth, b.peakQueueDepth),
            perWritev: zip(a.perWritev, b.perWritev).map { $0 + $1 }, readPauses: a.readPauses + b.readPauses)
    }

    public static let zero = WriteStatsSnapshot(
        bytesRead: 0, readCalls: 0, bytesWritten: 0, buffersQueued: 0, writevCalls: 0, partialWrites: 0, eagain: 0,
        peakQueueDepth: 0, perWritev: [0, 0, 0, 0, 0], readPauses: 0)
}
