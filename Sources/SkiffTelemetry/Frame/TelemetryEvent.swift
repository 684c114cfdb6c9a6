import SkiffJSON

/// One event line: `{"type":"event","ts":...,"kind":"host.admin",<the kind's members>}`. Events are rare (health
/// transitions, admin actions and who did them, reloads, drains, connection open/close within a budget), never one
/// per request. The kinds and their members are the payload types in `EventPayloads.swift`; a kind this build does not
/// know (from a newer skiff) decodes as ``Body/other(kind:fields:)`` and encodes back unchanged.
///
/// ```swift
/// hub.event(.hostAdmin(.init(cluster: "c1", host: "10.0.0.3:8080", from: "READY", to: "DRAIN", uid: 0, via: "ctl")))
/// ```
public struct TelemetryEvent: TelemetryRecord {
    /// The `type` of an event line.
    public static let type: StaticString = "event"
    static let tsKey: StaticString = "ts"
    static let kindKey: StaticString = "kind"

    /// Wall clock, milliseconds since the epoch.
    public var ts: UInt64 = 0
    public var body: Body = .other(kind: "", fields: [])

    public init() {}

    public init(ts: UInt64, _ body: Body) {
        self.ts = ts
        self.body = body
    }

    /// `host.admin`, `conn.open`, ...
    public var kind: String { body.kind }

    public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
        c.tag(TelemetryLine.typeKey, Self.type)
        c.field(Self.tsKey, &ts)
        let before = body.kind
        var kind = before
        c.field(Self.kindKey, &kind)
        // Decoding: the kind read names the payload type that reads the other members.
        if kind != before { body = Body.empty(kind: kind) }
        body.fields(&c)
    }

    /// The kind's members in wire order, for people (`key=value` in the console and `skiff ctl events`).
    public var payloadMembers: [JSONMember] {
        guard case .object(let members) = jsonValue else { return [] }
        let envelope = [TelemetryLine.typeKey, Self.tsKey, Self.kindKey].map(\.description)
        return members.filter { !envelope.contains($0.key) }
    }

    /// What an event is about; each case's payload type names its kind.
    public enum Body: Sendable, Equatable {
        case engineStart(EngineStart)
        case configReload(ConfigReload)
        case adminReload(AdminReload)
        case adminStop(AdminStop)
        case adminUpgrade(AdminUpgrade)
        case hostAdmin(HostAdmin)
        case hostWeight(HostWeight)
        case hostHealth(HostHealth)
        case hostDrained(HostDrained)
        case hostDrainTimeout(HostDrainTimeout)
        case connectionOpen(ConnectionOpen)
        case connectionClose(ConnectionClose)
        case serverState(ServerState)
        case engineError(EngineError)
        case xdsConnected(XDSConnected)
        case xdsDisconnected(XDSDisconnected)
        case xdsAck(XDSAck)
        case xdsNack(XDSNack)
        /// A kind this build does not know, with its members other than `type`, `ts` and `kind`.
        case other(kind: String, fields: [JSONMember])

        public var kind: String {
            switch self {
            case .engineStart: return EngineStart.kind.description
            case .configReload: return ConfigReload.kind.description
            case .adminReload: return AdminReload.kind.description
            case .adminStop: return AdminStop.kind.description
            case .adminUpgrade: return AdminUpgrade.kind.description
            case .hostAdmin: return HostAdmin.kind.description
            case .hostWeight: return HostWeight.kind.description
            case .hostHealth: return HostHealth.kind.description
            case .hostDrained: return HostDrained.kind.description
            case .hostDrainTimeout: return HostDrainTimeout.kind.description
            case .connectionOpen: return ConnectionOpen.kind.description
            case .connectionClose: return ConnectionClose.kind.description
            case .serverState: return ServerState.kind.description
            case .engineError: return EngineError.kind.description
            case .xdsConnected: return XDSConnected.kind.description
            case .xdsDisconnected: return XDSDisconnected.kind.description
            case .xdsAck: return XDSAck.kind.description
            case .xdsNack: return XDSNack.kind.description
            case .other(let kind, _): return kind
            }
        }

        /// A payload of `kind` with every member at its default, for a decoder to fill.
        static func empty(kind: String) -> Body {
            switch kind {
            case EngineStart.kind.description: return .engineStart(EngineStart())
            case ConfigReload.kind.description: return .configReload(ConfigReload())
            case AdminReload.kind.description: return .adminReload(AdminReload())
            case AdminStop.kind.description: return .adminStop(AdminStop())
            case AdminUpgrade.kind.description: return .adminUpgrade(AdminUpgrade())
            case HostAdmin.kind.description: return .hostAdmin(HostAdmin())
            case HostWeight.kind.description: return .hostWeight(HostWeight())
            case HostHealth.kind.description: return .hostHealth(HostHealth())
            case HostDrained.kind.description: return .hostDrained(HostDrained())
            case HostDrainTimeout.kind.description: return .hostDrainTimeout(HostDrainTimeout())
            case ConnectionOpen.kind.description: return .connectionOpen(ConnectionOpen())
            case ConnectionClose.kind.description: return .connectionClose(ConnectionClose())
            case ServerState.kind.description: return .serverState(ServerState())
            case EngineError.kind.description: return .engineError(EngineError())
            case XDSConnected.kind.description: return .xdsConnected(XDSConnected())
            case XDSDisconnected.kind.description: return .xdsDisconnected(XDSDisconnected())
            case XDSAck.kind.description: return .xdsAck(XDSAck())
            case XDSNack.kind.description: return .xdsNack(XDSNack())
            default: return .other(kind: kind, fields: [])
            }
        }

        mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            switch self {
            case .engineStart(var p): p.fields(&c); self = .engineStart(p)
            case .configReload(var p): p.fields(&c); self = .configReload(p)
            case .adminReload(var p): p.fields(&c); self = .adminReload(p)
            case .adminStop(var p): p.fields(&c); self = .adminStop(p)
            case .adminUpgrade(var p): p.fields(&c); self = .adminUpgrade(p)
            case .hostAdmin(var p): p.fields(&c); self = .hostAdmin(p)
            case .hostWeight(var p): p.fields(&c); self = .hostWeight(p)
            case .hostHealth(var p): p.fields(&c); self = .hostHealth(p)
            case .hostDrained(var p): p.fields(&c); self = .hostDrained(p)
            case .hostDrainTimeout(var p): p.fields(&c); self = .hostDrainTimeout(p)
            case .connectionOpen(var p): p.fields(&c); self = .connectionOpen(p)
            case .connectionClose(var p): p.fields(&c); self = .connectionClose(p)
            case .serverState(var p): p.fields(&c); self = .serverState(p)
            case .engineError(var p): p.fields(&c); self = .engineError(p)
            case .xdsConnected(var p): p.fields(&c); self = .xdsConnected(p)
            case .xdsDisconnected(var p): p.fields(&c); self = .xdsDisconnected(p)
            case .xdsAck(var p): p.fields(&c); self = .xdsAck(p)
            case .xdsNack(var p): p.fields(&c); self = .xdsNack(p)
            case .other(let kind, var members):
                c.otherMembers(&members, known: [TelemetryLine.typeKey, TelemetryEvent.tsKey, TelemetryEvent.kindKey])
                self = .other(kind: kind, fields: members)
            }
        }
    }
}

/// The members of one event kind (after `type`, `ts` and `kind`).
public protocol EventPayload: TelemetryRecord {
    /// The `kind` member's value.
    static var kind: StaticString { get }
}
