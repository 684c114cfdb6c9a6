import Glibc
import Synchronization

/// A pool of worker threads, each with its own FIFO queue; a connection always goes to the same worker
/// (shard = connection shard key % size), so one connection's events stay ordered.
///
/// Used by both thread models when `workers > 0` (and always for L7 on rwloop). Items are enum values, not closures,
/// so dispatching a read allocates nothing.
public final class WorkerPool: Sendable {
    public let name: String
    public let shards: [WorkerShard]

    public init(name: String, size: Int) throws(SystemError) {
        precondition(size > 0)
        self.name = name
        self.shards = (0..<size).map { WorkerShard(index: $0) }
        for (i, w) in shards.enumerated() {
            try NetThread.start(name: "\(name)-w\(i)") { w.run() }
        }
    }

    public var size: Int { shards.count }

    @inline(__always) public func shard(for key: UInt64) -> WorkerShard {
        shards[Int(key % UInt64(shards.count))]
    }

    @inline(__always) func submit(shard key: UInt64, _ item: WorkerShard.Item) {
        shard(for: key).submit(item)
    }

    /// Runs `task` on the worker that owns `shard`.
    public func execute(shard key: UInt64, _ task: @escaping @Sendable () -> Void) {
        shard(for: key).submit(.task(task))
    }

    /// Lets workers finish their queues and exit.
    public func shutdown() {
        for w in shards { w.stop() }
    }

    /// Per-worker figures for the Threads view.
    public var snapshot: [WorkerSnapshot] { shards.map(\.snapshot) }
}

/// One worker thread and its queue: a serial executor. The queue is guarded by `lock`; counters are atomic.
public final class WorkerShard: EventExecutor, @unchecked Sendable {
    enum Item {
        case event(Connection, Connection.Event)
        case task(@Sendable () -> Void)
        case timer(PollerTimer, UInt64)
    }

    public let index: Int
    public let executorIndex = ExecutorIndices.allocate()
    let lock = ConditionLock()
    var queue: [Item] = []
    var spare: [Item] = []
    var stopping = false
    private let threadHandle = Atomic<UInt>(0)
    let busy = Atomic<Bool>(false)
    let processed = Atomic<UInt64>(0)
    let depth = Atomic<Int>(0)
    let maxDepth = Atomic<Int>(0)
    let tid = Atomic<Int32>(0)

    init(index: Int) { self.index = index }

    public var inExecutor: Bool {
        pthread_equal(pthread_self(), pthread_t(threadHandle.load(ordering: .relaxed))) != 0
    }

    public func execute(_ task: @escaping @Sendable () -> Void) {
        if inExecutor {
            task()
        } else {
            submit(.task(task))
        }
    }

    public func arm(_ timer: PollerTimer, afterNs ns: UInt64) {
        TimerThread.shared.arm(timer, at: MonotonicClock.coarse() &+ ns, on: self)
    }

    func submit(_ item: Item) {
        lock.lock()
        queue.append(item)
        let d = queue.count
        if d == 1 { lock.signal() }
        lock.unlock()
        depth.store(d, ordering: .relaxed)
        if d > maxDepth.load(ordering: .relaxed) { maxDepth.store(d, ordering: .relaxed) }
    }

    func stop() {
        lock.withLock {
            stopping = true
            lock.signal()
        }
    }

    func run() {
        threadHandle.store(UInt(pthread_self()), ordering: .relaxed)
        tid.store(currentThreadID(), ordering: .relaxed)
        while true {
            lock.lock()
            while queue.isEmpty && !stopping { lock.wait() }
            if queue.isEmpty && stopping {
                lock.unlock()
                return
            }
            // Swap the queue out so producers never wait on the handler's work.
            swap(&queue, &spare)
            lock.unlock()
            depth.store(0, ordering: .relaxed)
            busy.store(true, ordering: .relaxed)
            for item in spare {
                switch item {
                case .event(let c, let e): c.handle(e)
                case .task(let t): t()
                case .timer(let t, let g): t.fire(generation: g)
                }
            }
            processed.wrappingAdd(UInt64(spare.count), ordering: .relaxed)
            spare.removeAll(keepingCapacity: true)
            busy.store(false, ordering: .relaxed)
        }
    }

    var snapshot: WorkerSnapshot {
        WorkerSnapshot(
            tid: tid.load(ordering: .relaxed), busy: busy.load(ordering: .relaxed),
            processed: processed.load(ordering: .relaxed), queueDepth: depth.load(ordering: .relaxed),
            maxQueueDepth: maxDepth.load(ordering: .relaxed))
    }
}

public struct WorkerSnapshot: Sendable, Equatable {
    public var tid: Int32
    public var busy: Bool
    public var processed: UInt64
    public var queueDepth: Int
    public var maxQueueDepth: Int
}

/// One thread that keeps the worker shards' timers and posts each due timer to its shard. Generations are checked
/// on the shard, so this thread never touches a timer's state.
final class TimerThread: @unchecked Sendable {  // heap guarded by `lock`
    static let shared = TimerThread()

    private struct Entry {
        let deadline: UInt64
        let generation: UInt64
        let timer: PollerTimer
        let shard: WorkerShard
    }

    private let lock = ConditionLock()
    private var heap: [Entry] = []
    private var started = false

    /// Called on `shard`: stamps a new generation there, then queues the entry.
    func arm(_ timer: PollerTimer, at deadline: UInt64, on shard: WorkerShard) {
        let g = timer.arm(at: deadline)
        lock.lock()
        if !started {
            started = true
            try? NetThread.start(name: "skiff-timers") { [self] in self.run() }
        }
        heap.append(Entry(deadline: deadline, generation: g, timer: timer, shard: shard))
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if heap[p].deadline <= heap[i].deadline { break }
            heap.swapAt(p, i)
            i = p
        }
        if i == 0 { lock.signal() }
        lock.unlock()
    }

    private func popTop() -> Entry {
        heap.swapAt(0, heap.count - 1)
        let e = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < heap.count && heap[l].deadline < heap[m].deadline { m = l }
            if r < heap.count && heap[r].deadline < heap[m].deadline { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        return e
    }

    private func run() {
        var due: [Entry] = []
        while true {
            lock.lock()
            while true {
                guard let top = heap.first else {
                    lock.wait()
                    continue
                }
                let now = MonotonicClock.coarse()
                if top.deadline <= now { break }
                _ = lock.wait(untilMonotonicNs: MonotonicClock.now() &+ (top.deadline - now))
            }
            let now = MonotonicClock.coarse()
            while let top = heap.first, top.deadline <= now { due.append(popTop()) }
            lock.unlock()
            for e in due { e.shard.submit(.timer(e.timer, e.generation)) }
            due.removeAll(keepingCapacity: true)
        }
    }
}
