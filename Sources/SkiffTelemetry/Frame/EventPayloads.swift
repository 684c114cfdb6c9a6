extension TelemetryEvent {
    /// `engine.start`: the engine is up with this many listeners.
    public struct EngineStart: EventPayload {
        public static let kind: StaticString = "engine.start"
        public var listeners: Int = 0
        public var config = ""

        public init() {}
        public init(listeners: Int, config: String) {
            self.listeners = listeners
            self.config = config
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("listeners", &listeners)
            c.field("config", &config)
        }
    }

    /// `config.reload`: a reload applied, with what it changed.
    public struct ConfigReload: EventPayload {
        public static let kind: StaticString = "config.reload"
        public var config = ""
        public var changes: [String] = []

        public init() {}
        public init(config: String, changes: [String]) {
            self.config = config
            self.changes = changes
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("config", &config)
            c.field("changes", &changes)
        }
    }

    /// `admin.reload`: someone asked for a reload over the control socket.
    public struct AdminReload: EventPayload {
        public static let kind: StaticString = "admin.reload"
        public var uid: UInt64 = 0

        public init() {}
        public init(uid: UInt64) { self.uid = uid }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("uid", &uid)
        }
    }

    /// `admin.stop`: someone asked the process to stop (`now`: without the graceful drain).
    public struct AdminStop: EventPayload {
        public static let kind: StaticString = "admin.stop"
        public var uid: UInt64 = 0
        public var now = false

        public init() {}
        public init(uid: UInt64, now: Bool) {
            self.uid = uid
            self.now = now
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("uid", &uid)
            c.field("now", &now)
        }
    }

    /// `server.state`: the server's lifecycle moved (`starting`, `running`, `reloading`, `draining`, `stopped`).
    public struct ServerState: EventPayload {
        public static let kind: StaticString = "server.state"
        public var from = ""
        public var to = ""
        public var why = ""

        public init() {}
        public init(from: String, to: String, why: String) {
            self.from = from
            self.to = to
            self.why = why
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("from", &from)
            c.field("to", &to)
            c.field("why", &why)
        }
    }

    /// `engine.error`: an error on a thread nobody waited for, logged and counted in `engine_errors`.
    public struct EngineError: EventPayload {
        public static let kind: StaticString = "engine.error"
        public var context = ""
        public var error = ""

        public init() {}
        public init(context: String, error: String) {
            self.context = context
            self.error = error
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("context", &context)
            c.field("error", &error)
        }
    }

    /// `admin.upgrade`: the listening sockets were handed to a new process (a binary upgrade).
    public struct AdminUpgrade: EventPayload {
        public static let kind: StaticString = "admin.upgrade"
        public var uid: UInt64 = 0
        public var peerPid: Int = 0
        public var listeners: Int = 0

        public init() {}
        public init(uid: UInt64, peerPid: Int, listeners: Int) {
            self.uid = uid
            self.peerPid = peerPid
            self.listeners = listeners
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("uid", &uid)
            c.field("peer_pid", &peerPid)
            c.field("listeners", &listeners)
        }
    }

    /// `host.admin`: a host's admin state changed (`from`/`to`: READY, DRAIN, MAINT), by whom (`uid`, 4294967295 for a
    /// token holder on another host) and through what (`via`); `kill` is `true` when MAINT also closed the host's
    /// connections, absent otherwise.
    public typealias HostAdmin = HostChange<AdminStateChange>

    /// `host.weight`: an operator set a host's load-balancing weight at run time (`skiff ctl weight`, the admin API,
    /// the console), by whom and through what, as `host.admin`.
    public typealias HostWeight = HostChange<WeightChange>

    /// An operator's change to one setting of a host: the members `host.admin` and `host.weight` share.
    public struct HostChange<Kind: HostChangeKind>: EventPayload {
        public static var kind: StaticString { Kind.kind }
        public var cluster = ""
        public var host = ""
        public var from = Kind.Value()
        public var to = Kind.Value()
        public var uid: UInt64 = 0
        public var via = ""
        public var kill: Bool?

        public init() {}
        public init(
            cluster: String, host: String, from: Kind.Value, to: Kind.Value, uid: UInt64, via: String, kill: Bool? = nil
        ) {
            self.cluster = cluster
            self.host = host
            self.from = from
            self.to = to
            self.uid = uid
            self.via = via
            self.kill = kill
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("cluster", &cluster)
            c.field("host", &host)
            Kind.Value.code("from", &from, &c)
            Kind.Value.code("to", &to, &c)
            c.field("uid", &uid)
            c.field("via", &via)
            c.field("kill", &kill)
        }
    }

    /// `host.health`: an active check moved a host UP or DOWN.
    public struct HostHealth: EventPayload {
        public static let kind: StaticString = "host.health"
        public var cluster = ""
        public var host = ""
        /// `UP` or `DOWN`.
        public var to = ""
        public var reason = ""
        public var latencyUs: UInt64 = 0

        public init() {}
        public init(cluster: String, host: String, to: String, reason: String, latencyUs: UInt64) {
            self.cluster = cluster
            self.host = host
            self.to = to
            self.reason = reason
            self.latencyUs = latencyUs
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("cluster", &cluster)
            c.field("host", &host)
            c.field("to", &to)
            c.field("reason", &reason)
            c.field("latency_us", &latencyUs)
        }
    }

    /// `host.drained`: a draining host has no work left (safe to remove).
    public struct HostDrained: EventPayload {
        public static let kind: StaticString = "host.drained"
        public var cluster = ""
        public var host = ""
        public var elapsedMs: UInt64 = 0

        public init() {}
        public init(cluster: String, host: String, elapsedMs: UInt64) {
            self.cluster = cluster
            self.host = host
            self.elapsedMs = elapsedMs
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("cluster", &cluster)
            c.field("host", &host)
            c.field("elapsed_ms", &elapsedMs)
        }
    }

    /// `host.drain_timeout`: a drain ran past `drain_timeout`; `action` is `close` (its connections closed) or
    /// `wait`.
    public struct HostDrainTimeout: EventPayload {
        public static let kind: StaticString = "host.drain_timeout"
        public var cluster = ""
        public var host = ""
        public var action = ""
        public var activeRq: Int = 0
        public var activeCx: Int = 0

        public init() {}
        public init(cluster: String, host: String, action: String, activeRq: Int, activeCx: Int) {
            self.cluster = cluster
            self.host = host
            self.action = action
            self.activeRq = activeRq
            self.activeCx = activeCx
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("cluster", &cluster)
            c.field("host", &host)
            c.field("action", &action)
            c.field("active_rq", &activeRq)
            c.field("active_cx", &activeCx)
        }
    }

    /// `conn.open`: a connection opened (within the per-second budget).
    public struct ConnectionOpen: EventPayload {
        public static let kind: StaticString = "conn.open"
        public var conn: UInt64 = 0
        public var dir = ""
        public var owner = ""
        public var peer = ""

        public init() {}
        public init(conn: UInt64, dir: String, owner: String, peer: String) {
            self.conn = conn
            self.dir = dir
            self.owner = owner
            self.peer = peer
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("conn", &conn)
            c.field("dir", &dir)
            c.field("owner", &owner)
            c.field("peer", &peer)
        }
    }

    /// `conn.close`: a connection closed, why, and what it carried (within the per-second budget).
    public struct ConnectionClose: EventPayload {
        public static let kind: StaticString = "conn.close"
        public var conn: UInt64 = 0
        public var owner = ""
        public var reason = ""
        public var bytesIn: UInt64 = 0
        public var bytesOut: UInt64 = 0

        public init() {}
        public init(conn: UInt64, owner: String, reason: String, bytesIn: UInt64, bytesOut: UInt64) {
            self.conn = conn
            self.owner = owner
            self.reason = reason
            self.bytesIn = bytesIn
            self.bytesOut = bytesOut
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("conn", &conn)
            c.field("owner", &owner)
            c.field("reason", &reason)
            c.field("bytes_in", &bytesIn)
            c.field("bytes_out", &bytesOut)
        }
    }
}

/// Which host setting a `HostChange` event is about: its kind and the setting's value type.
public protocol HostChangeKind: Sendable {
    associatedtype Value: HostSettingValue
    static var kind: StaticString { get }
}

/// The admin state (`host.admin`).
public enum AdminStateChange: HostChangeKind {
    public typealias Value = String
    public static let kind: StaticString = "host.admin"
}

/// The load-balancing weight (`host.weight`).
public enum WeightChange: HostChangeKind {
    public typealias Value = Int
    public static let kind: StaticString = "host.weight"
}

/// A host setting's value as an event member: written and read through the coder's own overload.
public protocol HostSettingValue: Sendable, Equatable {
    init()
    static func code<C: TelemetryCoder>(_ key: StaticString, _ value: inout Self, _ coder: inout C)
}

extension String: HostSettingValue {
    public static func code<C: TelemetryCoder>(_ key: StaticString, _ value: inout String, _ coder: inout C) {
        coder.field(key, &value)
    }
}

extension Int: HostSettingValue {
    public static func code<C: TelemetryCoder>(_ key: StaticString, _ value: inout Int, _ coder: inout C) {
        coder.field(key, &value)
    }
}
