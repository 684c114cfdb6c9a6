import Glibc

/// Paces one demo client on a fixed schedule: request `k` is due at `start + k * interval`, so the time a request
/// takes (a slow backend, the loopback round trip, the sleep's own overshoot) is not added to every period, which
/// is what held the demo's 200 req/s at 128. A client that falls more than a second behind forgets the backlog
/// instead of bursting. Owned by its client thread.
struct DemoPacer {
    let intervalNs: UInt64
    private var nextNs: UInt64

    /// `phase` of `of`: clients start spread over one interval, not all at once.
    init(intervalNs: UInt64, phase: Int = 0, of clients: Int = 1) {
        self.intervalNs = max(1, intervalNs)
        nextNs = Self.nowNs() + self.intervalNs * UInt64(phase) / UInt64(max(1, clients))
    }

    /// Sleeps until the next request is due.
    mutating func wait() {
        nextNs += intervalNs
        let now = Self.nowNs()
        if nextNs > now {
            // An absolute deadline: an interrupted sleep resumes towards the same moment.
            var due = timespec(tv_sec: Int(nextNs / 1_000_000_000), tv_nsec: Int(nextNs % 1_000_000_000))
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, nil) == EINTR {}
        } else if now - nextNs > 1_000_000_000 {
            nextNs = now
        }
    }

    static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
