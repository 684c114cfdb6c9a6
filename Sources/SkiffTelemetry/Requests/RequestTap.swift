import Synchronization

/// The live request tap: finished requests sampled into per-executor lanes while somebody watches (the console's
/// Requests view, `skiff ctl requests`, a control-socket client that asked for `requests`).
///
/// Cost on the request path: while nobody watches, one relaxed atomic load (`isWatched`) per request and nothing
/// else. While watched, each executor samples at most `maxPerSecond` requests per second into its own lane (no lock
/// shared across executors; a lane is created under `lanesLock` once per executor, on its first sampled request), and
/// every sample says how many requests went unsampled before it.
///
/// Threads: `lane(executorIndex:)` only on that executor's thread; `watch()` and readers on any thread.
public final class RequestTap: @unchecked Sendable {
    /// Executor indices are below this (the same bound as `ExecutorLocal`).
    public static let maxExecutors = 1024
    /// The default per-executor budget.
    public static let defaultMaxPerSecond = 200

    /// A tap nobody can watch: what a proxy built without an engine (tests, benches) gets.
    public static let inert = RequestTap()

    private let watchers = Atomic<Int>(0)
    /// Counts `watch()` calls, so a lane can tell a new watch began (and forget what it skipped before it).
    let watchEpoch = WatchEpoch()
    public let maxPerSecond: Int
    /// Slot i is written once, by executor i; readers use `lanesLock`'s list.
    private let slots: UnsafeMutablePointer<RequestLane?>
    private let lanesLock = Mutex<[RequestLane]>([])

    public init(maxPerSecond: Int = RequestTap.defaultMaxPerSecond) {
        self.maxPerSecond = max(1, maxPerSecond)
        slots = .allocate(capacity: Self.maxExecutors)
        slots.initialize(repeating: nil, count: Self.maxExecutors)
    }

    deinit {
        slots.deinitialize(count: Self.maxExecutors)
        slots.deallocate()
    }

    /// True while at least one reader watches. The request path's one relaxed load.
    @inline(__always) public var isWatched: Bool { watchers.load(ordering: .relaxed) > 0 }

    /// Readers watching now.
    public var watcherCount: Int { watchers.load(ordering: .relaxed) }

    /// The calling executor's lane, made on first use. Call only on executor `executorIndex`'s own thread.
    public func lane(executorIndex i: Int) -> RequestLane {
        precondition(i >= 0 && i < Self.maxExecutors, "executor index \(i) out of range")
        if let l = slots[i] { return l }
        let l = RequestLane(maxPerSecond: maxPerSecond, epoch: watchEpoch)
        slots[i] = l
        lanesLock.withLock { $0.append(l) }
        return l
    }

    /// Every lane made so far (any thread).
    public var lanes: [RequestLane] { lanesLock.withLock { $0 } }

    /// Starts watching: samples are taken from now until the reader is closed.
    public func watch() -> RequestTapReader {
        watchEpoch.value.wrappingAdd(1, ordering: .relaxed)
        watchers.wrappingAdd(1, ordering: .relaxed)
        return RequestTapReader(tap: self)
    }

    func unwatch() { watchers.wrappingSubtract(1, ordering: .relaxed) }
}

/// One watcher of a `RequestTap`: follows every lane with its own cursor. `close()` (or deinit) stops watching.
///
/// Threads: one reader thread at a time.
public final class RequestTapReader: @unchecked Sendable {
    let tap: RequestTap
    private var cursors: [ObjectIdentifier: UInt64] = [:]
    private var closed = false
    private var record: [UInt8] = []
    /// Samples lost because a lane overwrote them before this reader got to them.
    public private(set) var missed: UInt64 = 0

    init(tap: RequestTap) {
        self.tap = tap
        // Only what finishes from now on: start each existing lane at its newest record.
        for l in tap.lanes { cursors[ObjectIdentifier(l)] = l.ring.latestSeq }
    }

    deinit { close() }

    /// Stops watching (idempotent).
    public func close() {
        guard !closed else { return }
        closed = true
        tap.unwatch()
    }

    /// Calls `body` with each new encoded sample (one JSON object), lane by lane. Returns how many were read.
    @discardableResult
    public func poll(_ body: ([UInt8]) -> Void) -> Int {
        var n = 0
        for l in tap.lanes {
            let key = ObjectIdentifier(l)
            var cursor = cursors[key] ?? 0
            while case .frame(let seq, let lost) = l.ring.read(after: cursor, into: &record) {
                cursor = seq
                missed &+= lost
                body(record)
                n += 1
            }
            cursors[key] = cursor
        }
        return n
    }

    /// Requests seen and sampled so far over every lane (for "sampled N of M").
    public var totals: (seen: UInt64, sampled: UInt64) {
        var s: UInt64 = 0
        var k: UInt64 = 0
        for l in tap.lanes {
            s &+= l.seen.load(ordering: .relaxed)
            k &+= l.sampled.load(ordering: .relaxed)
        }
        return (s, k)
    }
}

/// How many watches a tap has begun; lanes compare it with the last one they saw.
final class WatchEpoch: Sendable {
    let value = Atomic<UInt64>(0)
}
