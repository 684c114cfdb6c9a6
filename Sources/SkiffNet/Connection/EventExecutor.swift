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
/// Used for per-executor upstream connection pools, so pollers never share one.
public final class ExecutorLocal<T: AnyObject>: @unchecked Sendable {
    public static var capacity: Int { 1024 }
    private let slots: UnsafeMutablePointer<Unmanaged<T>?>

    public init() {
        slots = .allocate(capacity: Self.capacity)
        slots.initialize(repeating: nil, count: Self.capacity)
    }

    deinit {
        for i in 0..<Self.capacity { slots[i]?.release() }
        slots.deallocate()
    }

    /// The value for `executor`; call only on that executor (debug builds check).
    @inline(__always)
    public subscript(_ executor: any EventExecutor) -> T? {
        get {
            assert(executor.inExecutor, "ExecutorLocal read off its executor's thread")
            return slots[executor.executorIndex]?.takeUnretainedValue()
        }
        set {
            assert(executor.inExecutor, "ExecutorLocal written off its executor's thread")
            let i = executor.executorIndex
            slots[i]?.release()
            slots[i] = newValue.map { Unmanaged.passRetained($0) }
        }
    }

    /// Visits every value (from any thread; for stats. Values must be safe to read concurrently).
    public func forEach(_ body: (T) -> Void) {
        for i in 0..<ExecutorIndices.next.load(ordering: .relaxed) {
            if let v = slots[i]?.takeUnretainedValue() { body(v) }
        }
    }
}
