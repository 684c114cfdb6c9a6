/// A poller's figures for the Threads view: read from any thread (atomics), so a frame never waits on the loop.
public struct PollerSnapshot: Sendable, Equatable {
    public var index: Int
    public var tid: Int32
    public var registered: Int
    public var wakeups: UInt64
    public var events: UInt64
}

extension Poller {
    /// Figures for the Threads view.
    public var snapshot: PollerSnapshot {
        PollerSnapshot(
            index: index, tid: tid.load(ordering: .relaxed), registered: registered.load(ordering: .relaxed),
            wakeups: wakeups.load(ordering: .relaxed), events: events.load(ordering: .relaxed))
    }
}
