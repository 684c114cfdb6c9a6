import CSkiffLinux
import Synchronization

/// A serial executor with no thread of its own: L7 on rwloop with `workers: 0` runs on it, inline on the threads
/// that have something for it (a client connection's reader, its upstream connections' readers, a writer thread
/// reporting writability, the accept thread), one at a time and in order — MOSN's model, without a hop to a worker.
///
/// Threads: any thread may submit. One that finds the strand idle runs the work on the spot, then whatever others
/// queued meanwhile, then lets go; one that finds it running queues the work and goes on (nobody waits for a
/// strand). A thread already running a strand never runs a second one nested: it queues the work and hands the
/// strand to the clock thread (`RWLoopClock`), which also runs strands whose timers are due. `lock` guards the queue
/// and `running`; the timer heap, `spare` and everything the work touches belong to the current runner.
public final class RWLoopStrand: EventExecutor, @unchecked Sendable {
    public let executorIndex = ExecutorIndices.allocate()
    /// Position in its pool (for names and telemetry).
    public let index: Int
    private let lock = ConditionLock()
    private var queue: [WorkerShard.Item] = []
    private var running = false
    /// Runner-only.
    private var spare: [WorkerShard.Item] = []
    private let timers = TimerHeap()
    private var expired: [TimerHeap.Entry] = []
    /// Direct writes made by the work, written after each batch of it.
    private let flushes = RWDeferredFlushes()
    /// The deadline the clock thread holds for this strand (0: none). The runner raises it (earlier), the clock
    /// thread clears it when it fires.
    let clockDeadline = Atomic<UInt64>(0)
    /// Connections leased to it (guarded by the pool's lock).
    var users = 0
    /// Items run, for telemetry.
    public let processed = Atomic<UInt64>(0)
    /// Runs that passed their remaining work to the clock thread (`fairShare`).
    public let handOffs = Atomic<UInt64>(0)

    init(index: Int) { self.index = index }

    private var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// True on the thread running this strand now.
    public var inExecutor: Bool { cskiff_current_strand() == opaque }

    public func execute(_ task: @escaping @Sendable () -> Void) {
        if inExecutor {
            task()
        } else {
            submit(.task(task))
        }
    }

    /// Arms `timer` on this strand: in place when running it, else by a queued task (the heap is the runner's).
    public func arm(_ timer: PollerTimer, afterNs ns: UInt64) {
        timers.arm(timer, afterNs: ns, onOwner: inExecutor, submit: submit)
    }

    /// Runs `item` now on this thread if the strand is idle (and this thread runs no strand), else queues it.
    func submit(_ item: WorkerShard.Item) {
        let busyThread = cskiff_current_strand() != nil
        lock.lock()
        if running || busyThread {
            queue.append(item)
            let handOff = !running
            if handOff { running = true }
            lock.unlock()
            if handOff { RWLoopClock.shared.run(self) }
            return
        }
        running = true
        lock.unlock()
        run(first: item)
    }

    /// Items one run takes on before it passes the rest on: a connection's reader that runs its shared strand while
    /// others keep feeding it would otherwise never get back to its own socket.
    static let fairShare: UInt64 = 64

    /// Runs the strand, which the caller has claimed (`running` set): `first`, then the queue until it stays empty,
    /// firing due timers between batches. Past `fairShare` items the rest goes to the clock thread, still claimed.
    func run(first: WorkerShard.Item?) {
        cskiff_set_current_strand(opaque)
        let outerBatch = cskiff_current_flush_batch()  // a worker shard's, when one of its threads runs the strand
        RWDeferredFlushes.install(flushes)
        var count: UInt64 = 0
        if let first {
            perform(first)
            flushes.flush()
            count += 1
        }
        while true {
            count += fireDueTimers()
            flushes.flush()
            scheduleClock()
            lock.lock()
            if queue.isEmpty || count >= Self.fairShare {
                let handOff = !queue.isEmpty
                if !handOff { running = false }
                cskiff_set_current_strand(nil)
                cskiff_set_current_flush_batch(outerBatch)
                lock.unlock()
                if handOff {
                    handOffs.wrappingAdd(1, ordering: .relaxed)
                    RWLoopClock.shared.run(self)
                }
                break
            }
            swap(&queue, &spare)
            lock.unlock()
            for item in spare { perform(item) }
            flushes.flush()
            count += UInt64(spare.count)
            spare.removeAll(keepingCapacity: true)
        }
        processed.wrappingAdd(count, ordering: .relaxed)
    }

    @inline(__always)
    private func perform(_ item: WorkerShard.Item) {
        switch item {
        case .event(let c, let e): c.handle(e)
        case .task(let t): t()
        }
    }

    private func fireDueTimers() -> UInt64 {
        guard let d = timers.nextDeadline(), d <= MonotonicClock.coarse() else { return 0 }
        timers.popExpired(now: MonotonicClock.coarse(), into: &expired)
        for e in expired { e.timer.fire(generation: e.generation) }
        let n = UInt64(expired.count)
        expired.removeAll(keepingCapacity: true)
        return n
    }

    /// Tells the clock thread the next deadline when it is earlier than the one it holds (a later one needs no
    /// word: the clock wakes at the held one, finds nothing due, and the run then registers the next).
    private func scheduleClock() {
        guard let next = timers.nextDeadline() else { return }
        let held = clockDeadline.load(ordering: .acquiring)
        if held != 0 && held <= next { return }
        clockDeadline.store(next, ordering: .releasing)
        RWLoopClock.shared.wake(self, at: next)
    }

    /// Timers waiting on this strand (runner-only; for tests).
    var timerCount: Int { timers.count }
}

