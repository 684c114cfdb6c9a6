import Synchronization

/// A serial place where a connection's handler logic runs: a poller (netpoll, `workers: 0`) or one shard of a worker
/// pool. Everything scheduled on one executor runs in order on one thread at a time, so per-executor state (upstream
/// connection pools, sessions) needs no lock.
public protocol EventExecutor: AnyObject, Sendable {
    /// A small process-wide unique number, for `ExecutorLocal` slots.
    var executorIndex: Int { get }
    /// True on the executor's own thread.
    var inExecutor: Bool { get }
    /// Runs `task` on the executor (now, if already there).
    func execute(_ task: @escaping @Sendable () -> Void)
    /// Arms (or re-arms) `timer` to fire on this executor after `ns` nanoseconds. Executor-confined.
    func arm(_ timer: PollerTimer, afterNs ns: UInt64)
}

/// Hands out executor indices.
enum ExecutorIndices {
    static let next = Atomic<Int>(0)
    static func allocate() -> Int {
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        precondition(i < ExecutorLocal<AnyObject>.capacity, "more than \(ExecutorLocal<AnyObject>.capacity) executors")
        return i
    }
}

/// One value per executor, without locks: slot i is read and written only on executor i.
///
/// Used for per-executor upstream connection pools, so pollers never share one. The slots come in chunks of 32,
/// allocated when an executor of that chunk first stores a value: a host of a 10,000-endpoint EDS cluster costs
/// 256 bytes here until a poller uses it, not 8 KiB.
public final class ExecutorLocal<T: AnyObject>: @unchecked Sendable {
    public static var capacity: Int { 1024 }
    static var chunkBits: Int { 5 }
    static var chunkSize: Int { 1 << chunkBits }
    typealias Chunk = UnsafeMutablePointer<Unmanaged<T>?>
    /// `capacity / chunkSize` chunk pointers, each set once (by a compare-exchange) and never replaced.
    private let chunks: UnsafeMutablePointer<Atomic<Chunk?>>

    public init() {
        let n = Self.capacity / Self.chunkSize
        chunks = .allocate(capacity: n)
        for i in 0..<n { (chunks + i).initialize(to: Atomic<Chunk?>(nil)) }
    }

    deinit {
        for c in 0..<Self.capacity / Self.chunkSize {
            guard let chunk = chunks[c].load(ordering: .acquiring) else { continue }
            for i in 0..<Self.chunkSize { chunk[i]?.release() }
            chunk.deallocate()
        }
        chunks.deinitialize(count: Self.capacity / Self.chunkSize)
        chunks.deallocate()
    }

    /// The chunk holding slot `i`, allocated if `create`.
    @inline(__always)
    private func chunk(_ i: Int, create: Bool) -> Chunk? {
        if let c = chunks[i >> Self.chunkBits].load(ordering: .acquiring) { return c }
        return create ? allocateChunk(i >> Self.chunkBits) : nil
    }

    @inline(never)
    private func allocateChunk(_ c: Int) -> Chunk {
        let fresh = Chunk.allocate(capacity: Self.chunkSize)
        fresh.initialize(repeating: nil, count: Self.chunkSize)
        let (won, current) = chunks[c].compareExchange(expected: nil, desired: fresh, ordering: .acquiringAndReleasing)
        if won { return fresh }
        fresh.deallocate()
        return current!
    }

    /// The value for `executor`; call only on that executor (debug builds check).
    @inline(__always)
    public subscript(_ executor: any EventExecutor) -> T? {
        get {
            assert(executor.inExecutor, "ExecutorLocal read off its executor's thread")
            let i = executor.executorIndex
            return chunk(i, create: false)?[i & (Self.chunkSize - 1)]?.takeUnretainedValue()
        }
        set {
            assert(executor.inExecutor, "ExecutorLocal written off its executor's thread")
            let i = executor.executorIndex
            let slots = chunk(i, create: true)!
            let slot = i & (Self.chunkSize - 1)
            slots[slot]?.release()
            slots[slot] = newValue.map { Unmanaged.passRetained($0) }
        }
    }

    /// Visits every value (from any thread; for stats. Values must be safe to read concurrently).
    public func forEach(_ body: (T) -> Void) {
        for i in 0..<ExecutorIndices.next.load(ordering: .relaxed) {
            if let v = chunk(i, create: false)?[i & (Self.chunkSize - 1)]?.takeUnretainedValue() { body(v) }
        }
    }
}
