import Glibc
import Synchronization

/// The one thread behind every `RWLoopStrand`: it wakes strands whose timers are due, and runs strands handed to it
/// by a thread that was already running another strand (so no thread ever runs two nested). Created on first use
/// and kept for the life of the process; it sleeps until the earliest registered deadline.
///
/// Threads: `wake` and `run` from any thread; `lock` guards the heap and the hand-offs.
final class RWLoopClock: @unchecked Sendable {
    static let shared = RWLoopClock()

    private struct Entry {
        let deadline: UInt64
        let strand: RWLoopStrand
    }

    private let lock = ConditionLock()
    /// Min-heap on deadline; an entry whose strand has since asked for an earlier deadline is dropped when popped.
    private var heap: [Entry] = []
    private var handedOff: [RWLoopStrand] = []
    private var started = false
    private var sleepingUntil: UInt64 = 0

    /// A coarse-clock tick and a little more (CONFIG_HZ=250 ticks are 4 ms).
    static let coarseSlackNs: UInt64 = 5_000_000

    /// Empty work that makes an idle strand run once (it fires its due timers and registers its next deadline).
    private static let tick: @Sendable () -> Void = {}

    /// Registers `strand`'s next timer deadline (coarse monotonic ns).
    func wake(_ strand: RWLoopStrand, at deadline: UInt64) {
        lock.lock()
        startIfNeeded()
        push(Entry(deadline: deadline, strand: strand))
        if deadline < sleepingUntil { lock.signal() }  // asleep (not 0) and due later than this
        lock.unlock()
    }

    /// Runs `strand` (already claimed by the caller) on the clock thread.
    func run(_ strand: RWLoopStrand) {
        lock.lock()
        startIfNeeded()
        handedOff.append(strand)
        if handedOff.count == 1 { lock.signal() }
        lock.unlock()
    }

    private func startIfNeeded() {
        guard !started else { return }
        started = true
        do {
            try NetThread.start(name: "rwloop-clock") { [self] in self.loop() }
        } catch {
            preconditionFailure("rwloop: cannot start the strands' clock thread: \(error)")
        }
    }

    private func loop() {
        var due: [RWLoopStrand] = []
        var runs: [RWLoopStrand] = []
        while true {
            lock.lock()
            while handedOff.isEmpty {
                let now = MonotonicClock.coarse()
                guard let top = heap.first else {
                    sleepingUntil = .max
                    lock.wait()
                    continue
                }
                if top.deadline <= now { break }
                sleepingUntil = top.deadline
                // Deadlines are on the coarse clock, which trails the fine one by up to a tick: sleep past it.
                _ = lock.wait(untilMonotonicNs: top.deadline &+ RWLoopClock.coarseSlackNs)
            }
            sleepingUntil = 0
            let now = MonotonicClock.coarse()
            while let top = heap.first, top.deadline <= now {
                popTop()
                if top.strand.clockDeadline.compareExchange(
                    expected: top.deadline, desired: 0, ordering: .acquiringAndReleasing
                ).exchanged {
                    due.append(top.strand)
                }
            }
            swap(&runs, &handedOff)
            lock.unlock()
            for s in runs { s.run(first: nil) }
            for s in due { s.submit(.task(RWLoopClock.tick)) }
            runs.removeAll(keepingCapacity: true)
            due.removeAll(keepingCapacity: true)
        }
    }

    // MARK: - Heap

    private func push(_ e: Entry) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if heap[p].deadline <= heap[i].deadline { break }
            heap.swapAt(p, i)
            i = p
        }
    }

    private func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
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
    }
}
