/// A timer that can be armed again and again without allocating: each arm pushes a heap entry stamped with a new
/// generation, and entries whose generation is stale are dropped when they surface. Confined to one executor (a
/// poller or a worker shard): armed, cancelled and fired there.
public final class PollerTimer: @unchecked Sendable {
    /// Bumped by every arm and cancel; a heap entry fires only if it still carries the current value.
    var generation: UInt64 = 0
    /// Deadline of the live arm (monotonic ns), 0 when not armed.
    public private(set) var deadline: UInt64 = 0
    let action: () -> Void

    public init(_ action: @escaping () -> Void) {
        self.action = action
    }

    /// Stops a pending fire (no-op when not armed).
    public func cancel() {
        generation &+= 1
        deadline = 0
    }

    public var isArmed: Bool { deadline != 0 }

    /// Starts a new arm; returns the generation its heap entry must carry.
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

/// A binary min-heap of (deadline, generation, timer) entries. Stale entries are discarded lazily.
struct TimerHeap {
    struct Entry {
        let deadline: UInt64
        let generation: UInt64
        let timer: PollerTimer
    }

    private var items: [Entry] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }

    /// Earliest deadline among live entries.
    mutating func nextDeadline() -> UInt64? {
        while let top = items.first, top.generation != top.timer.generation { _ = pop() }
        return items.first?.deadline
    }

    mutating func push(_ timer: PollerTimer, at deadline: UInt64) {
        let g = timer.arm(at: deadline)
        items.append(Entry(deadline: timer.deadline, generation: g, timer: timer))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent].deadline <= items[i].deadline { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let t = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < items.count && items[l].deadline < items[m].deadline { m = l }
            if r < items.count && items[r].deadline < items[m].deadline { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return t
    }

    /// Removes the entries due at `now` (live or not; `fire` sorts that out).
    mutating func popExpired(now: UInt64, into out: inout [Entry]) {
        while let top = items.first, top.deadline <= now {
            out.append(pop()!)
        }
    }
}
