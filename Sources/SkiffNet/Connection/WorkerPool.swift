import Synchronization

/// A pool of worker threads, each with its own FIFO queue; a connection always goes to the same worker
/// (shard = connection id % size), so one connection's events stay ordered.
///
/// Used by both thread models when `workers > 0`. Items are enum values, not closures, so dispatching a read
/// allocates nothing.
public final class WorkerPool: @unchecked Sendable {
    enum Item {
        case event(Connection, Connection.Event)
        case task(@Sendable () -> Void)
    }

    /// One worker: a queue guarded by a condition lock, drained by one thread.
    final class Worker: @unchecked Sendable {  // queue guarded by `lock`; counters atomic
        let lock = ConditionLock()
        var queue: [Item] = []
        var spare: [Item] = []
        var stopping = false
        let busy = Atomic<Bool>(false)
        let processed = Atomic<UInt64>(0)
        let depth = Atomic<Int>(0)
        let maxDepth = Atomic<Int>(0)
        let tid = Atomic<Int32>(0)
    }

    public let name: String
    let workers: [Worker]

    public init(name: String, size: Int) throws(SystemError) {
        precondition(size > 0)
        self.name = name
        self.workers = (0..<size).map { _ in Worker() }
        for (i, w) in workers.enumerated() {
            try NetThread.start(name: "\(name)-w\(i)") { WorkerPool.run(w) }
        }
    }

    public var size: Int { workers.count }

    func submit(shard: UInt64, _ item: Item) {
        let w = workers[Int(shard % UInt64(workers.count))]
        w.lock.lock()
        w.queue.append(item)
        let d = w.queue.count
        w.lock.unlock()
        w.depth.store(d, ordering: .relaxed)
        if d > w.maxDepth.load(ordering: .relaxed) { w.maxDepth.store(d, ordering: .relaxed) }
        if d == 1 { w.lock.withLock { w.lock.signal() } }
    }

    /// Runs `task` on the worker that owns `shard`.
    public func execute(shard: UInt64, _ task: @escaping @Sendable () -> Void) {
        submit(shard: shard, .task(task))
    }

    private static func run(_ w: Worker) {
        w.tid.store(currentThreadID(), ordering: .relaxed)
        while true {
            w.lock.lock()
            while w.queue.isEmpty && !w.stopping { w.lock.wait() }
            if w.queue.isEmpty && w.stopping {
                w.lock.unlock()
                return
            }
            // Swap the queue out so producers never wait on the handler's work.
            swap(&w.queue, &w.spare)
            w.lock.unlock()
            w.depth.store(0, ordering: .relaxed)
            w.busy.store(true, ordering: .relaxed)
            for item in w.spare {
                switch item {
                case .event(let c, let e): c.handle(e)
                case .task(let t): t()
                }
            }
            w.processed.wrappingAdd(UInt64(w.spare.count), ordering: .relaxed)
            w.spare.removeAll(keepingCapacity: true)
            w.busy.store(false, ordering: .relaxed)
        }
    }

    /// Lets workers finish their queues and exit.
    public func shutdown() {
        for w in workers {
            w.lock.withLock {
                w.stopping = true
                w.lock.signal()
            }
        }
    }

    /// Per-worker figures for the Threads view.
    public var snapshot: [WorkerSnapshot] {
        workers.map {
            WorkerSnapshot(
                tid: $0.tid.load(ordering: .relaxed), busy: $0.busy.load(ordering: .relaxed),
                processed: $0.processed.load(ordering: .relaxed), queueDepth: $0.depth.load(ordering: .relaxed),
                maxQueueDepth: $0.maxDepth.load(ordering: .relaxed))
        }
    }
}

public struct WorkerSnapshot: Sendable, Equatable {
    public var tid: Int32
    public var busy: Bool
    public var processed: UInt64
    public var queueDepth: Int
    public var maxQueueDepth: Int
}
