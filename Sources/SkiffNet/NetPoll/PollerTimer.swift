/// A timer that can be armed again and again without allocating. Confined to one executor (a poller or a worker
/// shard): armed, cancelled and fired there.
///
/// The timer sits in its executor's `TimerHeap` (a poller's or a worker shard's) at most once: re-arming moves it,
/// cancelling takes it out, so a heap holds live timers only — a connection that arms a 5 s linger and closes in a
/// millisecond leaves nothing behind. The generation tells a fire that was due from one re-armed since.
public final class PollerTimer: @unchecked Sendable {
    /// Bumped by every arm and cancel; a popped entry fires only if it still carries the current value.
    var generation: UInt64 = 0
    /// Deadline of the live arm (monotonic ns), 0 when not armed.
    public private(set) var deadline: UInt64 = 0
    let action: () -> Void
    /// The heap holding this timer, and where in it (-1 when in none).
    var heap: TimerHeap?
    var heapIndex = -1

    public init(_ action: @escaping () -> Void) {
        self.action = action
    }

    /// Stops a pending fire (no-op when not armed).
    public func cancel() {
        generation &+= 1
        deadline = 0
        heap?.remove(self)
    }

    public var isArmed: Bool { deadline != 0 }

    /// Starts a new arm; returns the generation its entry must carry.
    func arm(at deadline: UInt64) -> UInt64 {
        generation &+= 1
        self.deadline = max(1, deadline)
        return generation
    }

    /// Called when an entry surfaces: fires if it is the live arm.
    func fire(generation g: UInt64) {
        guard g == generation, deadline != 0 else { return }
        deadline = 0
        action()
    }
}

/// An executor's timers (a poller's, a worker shard's): a binary min-heap on deadline, indexed (each timer knows its
/// slot), so re-arming and cancelling are O(log n) in place and the heap never carries dead entries. Confined to the
/// executor's thread.
final class TimerHeap {
    struct Entry {
        let deadline: UInt64
        let generation: UInt64
        let timer: PollerTimer
    }

    private var items: [PollerTimer] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }

    /// Earliest deadline.
    func nextDeadline() -> UInt64? { items.first?.deadline }

    func push(_ timer: PollerTimer, at deadline: UInt64) {
        _ = timer.arm(at: deadline)
        if timer.heap === self, timer.heapIndex >= 0 {
            let i = timer.heapIndex
            siftUp(i)
            siftDown(timer.heapIndex)
            return
        }
        timer.heap?.remove(timer)
        timer.heap = self
        timer.heapIndex = items.count
        items.append(timer)
        siftUp(items.count - 1)
    }

    func remove(_ timer: PollerTimer) {
        let i = timer.heapIndex
        guard timer.heap === self, i >= 0, i < items.count, items[i] === timer else { return }
        let last = items.count - 1
        if i != last { swapAt(i, last) }
        items.removeLast()
        timer.heap = nil
        timer.heapIndex = -1
        if i < items.count {
            siftUp(i)
            siftDown(items[i].heapIndex)
        }
    }

    /// Takes out the timers due at `now`, with the generation each was armed with (`fire` checks it).
    func popExpired(now: UInt64, into out: inout [Entry]) {
        while let top = items.first, top.deadline <= now {
            out.append(Entry(deadline: top.deadline, generation: top.generation, timer: top))
            remove(top)
        }
    }

    private func swapAt(_ a: Int, _ b: Int) {
        items.swapAt(a, b)
        items[a].heapIndex = a
        items[b].heapIndex = b
    }

    private func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent].deadline <= items[i].deadline { break }
            swapAt(parent, i)
            i = parent
        }
    }

    private func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < items.count && items[l].deadline < items[m].deadline { m = l }
            if r < items.count && items[r].deadline < items[m].deadline { m = r }
            if m == i { break }
            swapAt(i, m)
            i = m
        }
    }
}
