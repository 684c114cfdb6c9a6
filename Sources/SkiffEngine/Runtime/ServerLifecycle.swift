/// Where a running skiff is in its life. `skiff ctl stats` shows it (`server.state`) and every change is logged.
public enum ServerState: String, Sendable, CaseIterable {
    /// Binding listeners, the admin API and the control socket; nothing is handled yet.
    case starting
    /// Serving.
    case running
    /// Serving, and applying a new config file (SIGHUP, `skiff reload`).
    case reloading
    /// A stop was asked: no new connections; in-flight requests, streams and sessions finish up to
    /// `graceful_timeout`.
    case draining
    /// Everything closed (or start failed).
    case stopped
}

/// What moves a server from one state to another.
public enum LifecycleEvent: Sendable, Equatable, CustomStringConvertible {
    /// Everything listens.
    case started
    /// Start failed; whatever was started is closed again.
    case startFailed
    /// A reload begins (one at a time: the server serialises them).
    case reloadBegan
    /// The reload in progress ended, applied or refused.
    case reloadEnded
    /// SIGTERM, SIGINT, `skiff stop`; `now` skips the graceful wait. A second request while draining stops at once.
    case stopRequested(now: Bool)
    /// A binary upgrade's new process (`pid`) took the listening sockets: reloads are refused while it lives.
    case handedOver(to: Int32)
    /// The process the sockets were handed to has gone without taking over: reloads are allowed again.
    case handoverAbandoned
    /// The drain is over and everything is closed.
    case finished

    public var description: String {
        switch self {
        case .started: return "start"
        case .startFailed: return "start failure"
        case .reloadBegan: return "reload"
        case .reloadEnded: return "end of reload"
        case .stopRequested(let now): return now ? "stop now" : "stop"
        case .handedOver(let pid): return "handover to pid \(pid)"
        case .handoverAbandoned: return "abandoned handover"
        case .finished: return "end of stop"
        }
    }
}

/// Why a lifecycle event was refused. The state is unchanged.
public enum LifecycleRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The event makes no sense in this state (a reload while draining, a second start).
    case illegal(LifecycleEvent, in: ServerState)
    /// A reload while a binary upgrade's new process is taking over.
    case upgradeUnderWay(pid: Int32)

    public var description: String {
        switch self {
        case .illegal(.reloadBegan, .draining), .illegal(.reloadBegan, .stopped):
            return "skiff is stopping (\(ServerState.draining.rawValue)): nothing to reload"
        case .illegal(.reloadBegan, .starting):
            return "skiff is still starting"
        case .illegal(let event, let state):
            return "\(event) is not possible while \(state.rawValue)"
        case .upgradeUnderWay(let pid):
            return "a binary upgrade to pid \(pid) is under way and this process is handing over; reload that one "
                + "once it has started (skiff reload, or SIGHUP to the pid in the pid file)"
        }
    }
}

/// One step of the lifecycle: the state before and after (equal when the event changed only a flag).
public struct LifecycleTransition: Sendable, Equatable {
    public var from: ServerState
    public var to: ServerState

    public init(from: ServerState, to: ServerState) {
        self.from = from
        self.to = to
    }
}

/// A server's lifecycle as a value: the state and the explicit transitions between states. An event that does not
/// fit the state is refused and changes nothing. Pure: no I/O, no clocks, tested on its own
/// (`ServerLifecycleTests`).
///
/// ```text
/// starting --started--> running --reloadBegan--> reloading --reloadEnded--> running
///     |                    |                        |
///     +--startFailed--> stopped <--finished-- draining <--stopRequested--+ (from running or reloading)
/// ```
/// A stop that arrives while reloading drains at once; the reload still in progress ends without leaving
/// `draining`. A second stop request while draining sets `stopAtOnce`.
///
/// Not thread-safe by itself: `SkiffServer` keeps it under a mutex.
public struct ServerLifecycle: Sendable, Equatable {
    public private(set) var state: ServerState = .starting
    /// The graceful wait is over: a second stop request, or a stop asked with `now`.
    public private(set) var stopAtOnce = false
    /// The pid of a binary upgrade's new process that holds duplicates of our listening sockets.
    public private(set) var handedOverTo: Int32?

    public init() {}

    /// Applies `event`, or throws why not (and changes nothing).
    @discardableResult
    public mutating func apply(_ event: LifecycleEvent) throws(LifecycleRefusal) -> LifecycleTransition {
        let from = state
        switch (event, state) {
        case (.started, .starting):
            state = .running
        case (.startFailed, .starting):
            state = .stopped
        case (.reloadBegan, .running):
            if let pid = handedOverTo { throw .upgradeUnderWay(pid: pid) }
            state = .reloading
        case (.reloadEnded, .reloading):
            state = .running
        case (.reloadEnded, .draining):
            break  // the stop came while reloading; draining goes on
        case (.stopRequested(let now), .running), (.stopRequested(let now), .reloading):
            state = .draining
            stopAtOnce = now
        case (.stopRequested, .draining):
            stopAtOnce = true
        case (.handedOver(let pid), .running), (.handedOver(let pid), .reloading):
            handedOverTo = pid
        case (.handoverAbandoned, _) where handedOverTo != nil:
            handedOverTo = nil
        case (.finished, .draining):
            state = .stopped
        default:
            throw .illegal(event, in: state)
        }
        return LifecycleTransition(from: from, to: state)
    }

    /// Serving: running or reloading.
    public var isServing: Bool { state == .running || state == .reloading }
}
