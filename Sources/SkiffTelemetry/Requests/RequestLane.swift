import SkiffJSON
import SkiffSystem
import Synchronization

/// One executor's share of the request tap: a small ring of encoded `TelemetryRequestSample`s and the per-second
/// budget that caps what this executor samples.
///
/// Threads: `admit` and `push` only on the executor the lane belongs to (one producer, so the ring needs no lock
/// shared with other executors); readers follow `ring` from any thread; the counters are relaxed atomics any thread
/// may read.
public final class RequestLane: @unchecked Sendable {
    /// The encoded samples; readers (`RequestTapReader`) follow it with their own cursors.
    public let ring: RecordRing<SingleProducer>
    /// At most this many samples per second on this executor.
    public let maxPerSecond: Int
    /// Requests seen while watched, and how many of them were sampled (the rest were over budget).
    public let seen = Atomic<UInt64>(0)
    public let sampled = Atomic<UInt64>(0)

    // Executor-confined.
    private var windowSecond: UInt64 = 0
    private var usedInWindow = 0
    private var skippedSinceLast: UInt64 = 0
    private var writer = JSONWriter(capacity: 512)
    /// The tap's watch count when this lane last admitted: a new watch starts its skip count from zero (what was
    /// skipped for an earlier watcher is not this one's business).
    private let epoch: WatchEpoch
    private var epochSeen: UInt64 = 0

    init(maxPerSecond: Int, epoch: WatchEpoch = WatchEpoch(), ringBytes: Int = 64 << 10) {
        self.maxPerSecond = maxPerSecond
        self.epoch = epoch
        ring = RecordRing(capacityBytes: ringBytes)
    }

    /// Whether the request starting now is sampled: true while this second's budget lasts. Executor thread.
    public func admit(nowNs: UInt64) -> Bool {
        seen.wrappingAdd(1, ordering: .relaxed)
        let e = epoch.value.load(ordering: .relaxed)
        if e != epochSeen {
            epochSeen = e
            skippedSinceLast = 0
        }
        let second = nowNs / 1_000_000_000
        if second != windowSecond {
            windowSecond = second
            usedInWindow = 0
        }
        guard usedInWindow < maxPerSecond else {
            skippedSinceLast &+= 1
            return false
        }
        usedInWindow += 1
        return true
    }

    /// Encodes `sample` (with `skipped` filled in) into the ring. Executor thread, after `admit` said yes.
    public func push(_ sample: inout TelemetryRequestSample) {
        sample.skipped = skippedSinceLast
        sample.budget = maxPerSecond
        skippedSinceLast = 0
        writer.reset()
        sample.encode(into: &writer)
        writer.bytes.withUnsafeBytes { _ = ring.push($0) }
        sampled.wrappingAdd(1, ordering: .relaxed)
    }
}
