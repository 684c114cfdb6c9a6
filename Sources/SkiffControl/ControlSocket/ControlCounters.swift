import Synchronization

/// The control server's counters: relaxed atomics, bumped by its threads, read by anyone (the engine's stats, tests).
public final class ControlCounters: Sendable {
    private let _clientsActive = Atomic<Int>(0)
    private let _clientsTotal = Atomic<Int>(0)
    private let _requests = Atomic<Int>(0)
    private let _errors = Atomic<Int>(0)
    private let _permissionDenied = Atomic<Int>(0)
    private let _droppedSlowClients = Atomic<Int>(0)
    private let _oversizeLines = Atomic<Int>(0)
    private let _refusedClients = Atomic<Int>(0)

    init() {}

    /// Connections open now.
    public var clientsActive: Int { _clientsActive.load(ordering: .relaxed) }
    /// Connections accepted since start (refused ones excluded).
    public var clientsTotal: Int { _clientsTotal.load(ordering: .relaxed) }
    /// Request lines received (blank lines excluded, bad ones included).
    public var requests: Int { _requests.load(ordering: .relaxed) }
    /// Replies with `"ok":false`, permission denials included.
    public var errors: Int { _errors.load(ordering: .relaxed) }
    /// Mutations refused because of the peer's uid.
    public var permissionDenied: Int { _permissionDenied.load(ordering: .relaxed) }
    /// Clients closed because their unsent output passed the bound.
    public var droppedSlowClients: Int { _droppedSlowClients.load(ordering: .relaxed) }
    /// Connections closed for a line over the limit.
    public var oversizeLines: Int { _oversizeLines.load(ordering: .relaxed) }
    /// Connections refused at the client cap.
    public var refusedClients: Int { _refusedClients.load(ordering: .relaxed) }

    func clientOpened() {
        _clientsActive.add(1, ordering: .relaxed)
        _clientsTotal.add(1, ordering: .relaxed)
    }
    func clientClosed() { _clientsActive.subtract(1, ordering: .relaxed) }
    func request() { _requests.add(1, ordering: .relaxed) }
    func error() { _errors.add(1, ordering: .relaxed) }
    func denied() { _permissionDenied.add(1, ordering: .relaxed) }
    func droppedSlow() { _droppedSlowClients.add(1, ordering: .relaxed) }
    func oversize() { _oversizeLines.add(1, ordering: .relaxed) }
    func refused() { _refusedClients.add(1, ordering: .relaxed) }
}
