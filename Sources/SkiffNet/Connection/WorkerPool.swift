import Glibc
import Synchronization

/// A pool of worker threads, each with its own FIFO queue; a connection always goes to the same worker
/// (shard = connection shard key % size), so one connection's events stay ordered.
///
/// Used by both thread models when `workers > 0` (rwloop L7 with `workers: 0` runs on strands instead). Items are
/// enum values, not closures, so dispatching a read allocates nothing.
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

/// One worker thread and its queue: a serial executor. The queue is guarded by `lock`; counters are atomic. Its
/// timers sit in its own `TimerHeap`, touched only on the shard's thread (timers are armed and cancelled by the code
/// the shard runs), and the thread sleeps until the next item or the next deadline, whichever comes first.
public final class WorkerShard: EventExecutor, @unchecked Sendable {
    enum Item {
        case event(Connection, Connection.Event)
        case task(@Sendable () -> Void)
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
    /// Shard-thread only.
    private let timers = TimerHeap()
    private var expired: [TimerHeap.Entry] = []
    /// rwloop direct writes made by a batch, written when it is done.
    private let flushes = RWDeferredFlushes()

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

    /// Arms `timer` on this shard. On the shard's thread the heap is changed in place; from anywhere else the arm is
    /// queued to the shard, so the heap stays confined to it.
    public func arm(_ timer: PollerTimer, afterNs ns: UInt64) {
        timers.arm(timer, afterNs: ns, onOwner: inExecutor, submit: submit)
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
        RWDeferredFlushes.install(flushes)
        while true {
            lock.lock()
            while queue.isEmpty && !stopping {
                guard let due = timers.nextDeadline() else {
                    lock.wait()
                    continue
                }
                let now = MonotonicClock.coarse()
                if due <= now { break }
                _ = lock.wait(untilMonotonicNs: MonotonicClock.now() &+ (due - now))
            }
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
                }
            }
            processed.wrappingAdd(UInt64(spare.count), ordering: .relaxed)
            spare.removeAll(keepingCapacity: true)
            fireDueTimers()
            flushes.flush()
            busy.store(false, ordering: .relaxed)
        }
    }

    private func fireDueTimers() {
        guard let d = timers.nextDeadline(), d <= MonotonicClock.coarse() else { return }
        timers.popExpired(now: MonotonicClock.coarse(), into: &expired)
        for e in expired { e.timer.fire(generation: e.generation) }
        processed.wrappingAdd(UInt64(expired.count), ordering: .relaxed)
        expired.removeAll(keepingCapacity: true)
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

extension TimerHeap {
    /// Arms `timer` `ns` from now on this heap, which only its owner's thread touches (a worker shard's, a strand's):
    /// in place on that thread (`onOwner`), else by a task `submit` queues to the owner.
    func arm(_ timer: PollerTimer, afterNs ns: UInt64, onOwner: Bool, submit: (WorkerShard.Item) -> Void) {
        let deadline = MonotonicClock.coarse() &+ ns
        if onOwner {
            push(timer, at: deadline)
        } else {
            let queued = QueuedArm(heap: self, timer: timer)
            submit(.task { queued.heap.push(queued.timer, at: deadline) })
        }
    }
}

/// Carries a heap and a timer into the task that arms it on the heap's owner: both are only touched there.
private struct QueuedArm: @unchecked Sendable {
    let heap: TimerHeap
    let timer: PollerTimer
}
