import Glibc
import Synchronization

/// Told about every accepted connection.
public protocol ListenerDelegate: AnyObject, Sendable {
    /// Returns the handler for a new connection, or nil to close it at once. Called on the accepting thread before
    /// the connection starts reading.
    func listener(_ listener: Listener, accepted connection: Connection) -> (any ConnectionHandler)?
}

/// How a listener is set up.
public struct ListenerOptions: Sendable {
    public var name: String
    public var address: SocketAddress
    public var backlog: Int32
    /// 0 = unlimited.
    public var maxConnections: Int
    public var connection: ConnectionOptions
    /// A listening socket to serve instead of binding one: a dup of another listener's (a reload that changes a
    /// listener in place) or one received from the process being upgraded. Its accept queue carries over, so no
    /// connection is refused during the handover. The listener owns it from here.
    public var inheritedFD: Int32?
    /// Speak TLS on accepted connections (the listener's contexts, `inspector`, counters); nil = plaintext.
    public var tls: TLSServerEndpoint?

    public init(
        name: String, address: SocketAddress, backlog: Int32 = 1024, maxConnections: Int = 0,
        connection: ConnectionOptions = ConnectionOptions(), inheritedFD: Int32? = nil
    ) {
        self.inheritedFD = inheritedFD
        self.name = name
        self.address = address
        self.backlog = backlog
        self.maxConnections = maxConnections
        self.connection = connection
    }
}

/// A listening socket served by one thread model: accepted on every poller of a `NetPollGroup` (EPOLLEXCLUSIVE), or
/// by a dedicated accept thread in a `RWLoopGroup`.
///
/// netpoll spreads connections: EPOLLEXCLUSIVE wakes whichever poller is idle, and an idle proxy keeps waking the
/// same one, so every accepted connection is dealt round robin over the group's pollers (`handoffTargets`) and a
/// connection meant for another poller is adopted there (`Poller.execute`). The turn counter is touched once per
/// accept, never per request.
///
/// Threads: `acceptBurst` runs on pollers; `pollSlots[i]` is touched only by poller i. Counters are atomic.
public final class Listener: @unchecked Sendable {
    public let name: String
    public let fd: Int32
    /// The bound address (the real port when configured with port 0).
    public let address: SocketAddress
    public let model: NetModel
    public let maxConnections: Int
    public let stats = ListenerStats()
    let connectionOptions: ConnectionOptions
    /// TLS on accepted connections; nil = plaintext.
    public let tls: TLSServerEndpoint?
    let delegate: any ListenerDelegate
    var pollSlots: [Int?]
    let stopping = Atomic<Bool>(false)
    /// True once the group was told to stop accepting on it (its descriptor is then closed soon, on another thread).
    public var isStopping: Bool { stopping.load(ordering: .relaxed) }
    private let closed = Atomic<Bool>(false)
    /// True once its descriptor is closed after a stop: from then on a connect to its address is refused (unless a
    /// dup of the socket lives elsewhere: a reload's replacement, an upgraded process).
    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Closes the listening descriptor once its group has let go of it.
    func closeDescriptor() {
        Glibc.close(fd)
        closed.store(true, ordering: .releasing)
    }
    private let pollersLeft = Atomic<Int>(0)
    /// The pollers accepted connections are dealt to, in turn (empty for rwloop). Set once by the group before any
    /// poller accepts.
    var handoffTargets: [Poller] = []
    /// The pollers serving a netpoll listener (empty for rwloop).
    public var pollers: [Poller] { handoffTargets }
    private let nextTarget = Atomic<Int>(0)

    /// The poller the next accepted connection belongs to (round robin over `handoffTargets`, else `acceptor`).
    func takeTarget(acceptor: Poller) -> Poller {
        let n = handoffTargets.count
        guard n > 1 else { return acceptor }
        let turn = nextTarget.wrappingAdd(1, ordering: .relaxed).oldValue
        return handoffTargets[Int(UInt(bitPattern: turn) % UInt(n))]
    }

    init(options: ListenerOptions, model: NetModel, pollerCount: Int, delegate: any ListenerDelegate)
        throws(SystemError)
    {
        self.name = options.name
        self.model = model
        self.maxConnections = options.maxConnections
        self.connectionOptions = options.connection
        self.tls = options.tls
        self.delegate = delegate
        // Always non-blocking: a socket handed between models (and processes) shares its file status flags, and the
        // rwloop accept thread polls before accepting.
        if let fd = options.inheritedFD {
            SocketIO.setBlocking(fd, false)
            self.fd = fd
        } else {
            self.fd = try Socket.listen(on: options.address, backlog: options.backlog, nonBlocking: true)
        }
        self.address = Socket.localAddress(fd) ?? options.address
        self.pollSlots = Array(repeating: nil, count: pollerCount)
        self.pollersLeft.store(pollerCount, ordering: .relaxed)
    }

    /// Counts one more active connection unless that passes `max_connections` (then false, nothing counted). Taken
    /// where the connection is accepted, before anything else (netpoll may adopt it later on another poller). With a
    /// limit, a compare-and-swap: the gauge never shows more than the limit, even for a moment (an add-then-undo
    /// let a reader sample 5 of 4 while pollers raced).
    @inline(__always) func reserveSlot() -> Bool {
        guard maxConnections > 0 else {
            stats.active.wrappingAdd(1, ordering: .relaxed)
            return true
        }
        var now = stats.active.load(ordering: .relaxed)
        while now < maxConnections {
            let (exchanged, seen) = stats.active.compareExchange(
                expected: now, desired: now + 1, ordering: .relaxed)
            if exchanged { return true }
            now = seen
        }
        return false
    }

    func refuse(_ fd: Int32) {
        stats.refusedOverLimit.wrappingAdd(1, ordering: .relaxed)
        Glibc.close(fd)
    }

    /// Accepts what is waiting (up to 64 at a time so one listener cannot starve a poller's connections).
    /// On EMFILE/ENFILE the listener leaves this poller for 100 ms instead of spinning on a ready socket it cannot
    /// accept from.
    func acceptBurst(on poller: Poller) {
        for _ in 0..<64 {
            if stopping.load(ordering: .relaxed) { return }
            let (r, newFD) = Socket.accept(fd)
            switch r {
            case .done:
                // The slot is taken here, before a handoff: counted only when the target adopts it, a burst
                // dealt to other pollers would pass `max_connections` (and look like no connection at all to a
                // reload deciding whether a retired listener is empty).
                guard reserveSlot() else {
                    refuse(newFD)
                    continue
                }
                let target = takeTarget(acceptor: poller)
                if target === poller || !target.isRunning {
                    poller.adopt(fd: newFD, listener: self)
                } else {
                    target.execute { [self] in target.adopt(fd: newFD, listener: self) }
                }
            case .wouldBlock:
                return
            case .error(let e):
                stats.acceptErrors.wrappingAdd(1, ordering: .relaxed)
                if e == ECONNABORTED || e == EPROTO { continue }
                poller.deregister(listener: self)
                _ = poller.schedule(after: 100_000_000) { [weak self] in
                    guard let self, !self.stopping.load(ordering: .relaxed) else { return }
                    _ = poller.register(listener: self)
                }
                return
            }
        }
    }

    /// Poller i has let go of the socket; the last one closes it (never while another may still accept on it).
    func pollerReleased() {
        if pollersLeft.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            closeDescriptor()
        }
    }
}
