/// A one-shot timer on a poller. Poller-thread only: created, fired and cancelled there.
final class PollerTimer {
    let deadline: UInt64
    var cancelled = false
    let action: () -> Void

    init(deadline: UInt64, action: @escaping () -> Void) {
        self.deadline = deadline
        self.action = action
    }

    func cancel() { cancelled = true }
}

/// A binary min-heap of timers by deadline. Cancelled timers are dropped lazily when they reach the top.
struct TimerHeap {
    private var items: [PollerTimer] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }

    /// Earliest live deadline, discarding cancelled timers on top.
    mutating func nextDeadline() -> UInt64? {
        while let top = items.first, top.cancelled { _ = pop() }
        return items.first?.deadline
    }

    mutating func push(_ t: PollerTimer) {
        items.append(t)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent].deadline <= items[i].deadline { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> PollerTimer? {
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

    /// Removes and returns the live timers due at `now`.
    mutating func popExpired(now: UInt64, into out: inout [PollerTimer]) {
        while let top = items.first, top.deadline <= now {
            let t = pop()!
            if !t.cancelled { out.append(t) }
        }
    }
}
