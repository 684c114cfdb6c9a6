import SkiffEngine
import Testing

/// `ServerLifecycle` on its own: every event from every state, legal or refused, with no server and no I/O.
@Suite struct ServerLifecycleTests {
    /// Events that bring a fresh lifecycle to `state`.
    static func reach(_ state: ServerState) throws -> ServerLifecycle {
        var l = ServerLifecycle()
        let path: [LifecycleEvent]
        switch state {
        case .starting: path = []
        case .running: path = [.started]
        case .reloading: path = [.started, .reloadBegan]
        case .draining: path = [.started, .stopRequested(now: false)]
        case .stopped: path = [.started, .stopRequested(now: false), .finished]
        }
        for e in path { try l.apply(e) }
        #expect(l.state == state)
        return l
    }

    enum Outcome: Equatable {
        case to(ServerState)
        case refused
    }

    /// Every (state, event) pair and what it does. The table is complete: each state is tried with each event.
    static let table: [(ServerState, LifecycleEvent, Outcome)] = [
        (.starting, .started, .to(.running)),
        (.starting, .startFailed, .to(.stopped)),
        (.starting, .reloadBegan, .refused),
        (.starting, .reloadEnded, .refused),
        (.starting, .stopRequested(now: false), .refused),
        (.starting, .handedOver(to: 42), .refused),
        (.starting, .handoverAbandoned, .refused),
        (.starting, .finished, .refused),

        (.running, .started, .refused),
        (.running, .startFailed, .refused),
        (.running, .reloadBegan, .to(.reloading)),
        (.running, .reloadEnded, .refused),
        (.running, .stopRequested(now: false), .to(.draining)),
        (.running, .handedOver(to: 42), .to(.running)),
        (.running, .handoverAbandoned, .refused),  // nothing was handed over
        (.running, .finished, .refused),

        (.reloading, .started, .refused),
        (.reloading, .startFailed, .refused),
        (.reloading, .reloadBegan, .refused),  // one at a time
        (.reloading, .reloadEnded, .to(.running)),
        (.reloading, .stopRequested(now: false), .to(.draining)),
        (.reloading, .handedOver(to: 42), .to(.reloading)),
        (.reloading, .handoverAbandoned, .refused),
        (.reloading, .finished, .refused),

        (.draining, .started, .refused),
        (.draining, .startFailed, .refused),
        (.draining, .reloadBegan, .refused),
        (.draining, .reloadEnded, .to(.draining)),  // a reload under way when the stop came
        (.draining, .stopRequested(now: false), .to(.draining)),  // the second one: stop at once
        (.draining, .handedOver(to: 42), .refused),
        (.draining, .handoverAbandoned, .refused),
        (.draining, .finished, .to(.stopped)),

        (.stopped, .started, .refused),
        (.stopped, .startFailed, .refused),
        (.stopped, .reloadBegan, .refused),
        (.stopped, .reloadEnded, .refused),
        (.stopped, .stopRequested(now: false), .refused),
        (.stopped, .handedOver(to: 42), .refused),
        (.stopped, .handoverAbandoned, .refused),
        (.stopped, .finished, .refused),
    ]

    @Test func everyEventFromEveryState() throws {
        let events = Set(Self.table.map { "\($0.1)" })
        #expect(Self.table.count == ServerState.allCases.count * events.count, "the table covers every pair")
        for (state, event, outcome) in Self.table {
            var l = try Self.reach(state)
            let before = l
            switch outcome {
            case .to(let next):
                let t = try l.apply(event)
                #expect(t == LifecycleTransition(from: state, to: next), "\(event) from \(state)")
                #expect(l.state == next, "\(event) from \(state)")
            case .refused:
                #expect(throws: LifecycleRefusal.illegal(event, in: state), "\(event) from \(state)") {
                    try l.apply(event)
                }
                #expect(l == before, "a refused \(event) from \(state) changes nothing")
            }
        }
    }

    @Test func aSecondStopRequestStopsAtOnce() throws {
        var l = try Self.reach(.running)
        try l.apply(.stopRequested(now: false))
        #expect(l.state == .draining && !l.stopAtOnce)
        try l.apply(.stopRequested(now: false))
        #expect(l.state == .draining && l.stopAtOnce)
    }

    @Test func stopNowSkipsTheWaitFromTheStart() throws {
        var l = try Self.reach(.running)
        try l.apply(.stopRequested(now: true))
        #expect(l.state == .draining && l.stopAtOnce)
    }

    @Test func aStopDuringAReloadDrainsAndTheReloadEndsInDraining() throws {
        var l = try Self.reach(.reloading)
        try l.apply(.stopRequested(now: false))
        #expect(l.state == .draining)
        try l.apply(.reloadEnded)
        #expect(l.state == .draining, "the end of the reload does not bring the server back to running")
        try l.apply(.finished)
        #expect(l.state == .stopped)
    }

    @Test func reloadsAreRefusedWhileHandingOverUntilTheHandoverIsAbandoned() throws {
        var l = try Self.reach(.running)
        try l.apply(.handedOver(to: 4242))
        #expect(l.handedOverTo == 4242)
        #expect(throws: LifecycleRefusal.upgradeUnderWay(pid: 4242)) { try l.apply(.reloadBegan) }
        #expect(l.state == .running)
        try l.apply(.handoverAbandoned)
        #expect(l.handedOverTo == nil)
        try l.apply(.reloadBegan)
        #expect(l.state == .reloading)
    }

    @Test func refusalsSayWhyInWords() {
        #expect(
            LifecycleRefusal.upgradeUnderWay(pid: 7).description.hasPrefix("a binary upgrade to pid 7 is under way"))
        #expect(LifecycleRefusal.illegal(.reloadBegan, in: .draining).description.contains("skiff is stopping"))
        #expect(LifecycleRefusal.illegal(.reloadBegan, in: .starting).description == "skiff is still starting")
        #expect(LifecycleRefusal.illegal(.started, in: .running).description == "start is not possible while running")
    }
}
