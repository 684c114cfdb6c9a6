import SkiffJSON
import SkiffSystem

/// What `skiff ctl xds`, the console and `/metrics` show of the control plane: the connection and, per resource
/// type, the accepted version, how many resources, the last ACK or NACK and the counters. A value copied out of the
/// session under its lock.
public struct XDSStatus: Sendable, Equatable {
    /// `host:port` of the ADS cluster's endpoint.
    public var controlPlane: String
    public var connected = false
    /// The first config is in (or the initial-fetch timeout passed): the sidecar is ready.
    public var initialized = false
    /// Wall clock (ms since the epoch) of the current connection's start, or of the loss of the last one.
    public var since: UInt64 = 0
    /// Streams opened (the first one included).
    public var connects = 0
    /// Why the last stream ended or the last attempt failed ("" before any did).
    public var lastDisconnect = ""
    /// Attempts that failed or streams that ended since the last stream opened.
    public var failures = 0
    /// Why the engine refused a snapshot nothing could NACK (a listener bound at its initial-fetch timeout).
    public var lastApplyError = ""
    public var types: [XDSTypeStatus] = XDSResourceType.allCases.map { XDSTypeStatus(type: $0) }
    /// LDS listeners not bound yet, with what each waits for.
    public var waiting: [String: String] = [:]
    /// Snapshots applied, and the engine's CPU time for the last one and for all (thread CPU, ns).
    public var applied = 0
    public var lastApplyCPUNs: UInt64 = 0
    public var totalApplyCPUNs: UInt64 = 0
    /// Responses handled, and the CPU time of the last one and of all (decode, translate, assemble, apply, answer).
    public var updates = 0
    public var lastUpdateCPUNs: UInt64 = 0
    public var totalUpdateCPUNs: UInt64 = 0
    public var maxUpdateCPUNs: UInt64 = 0

    mutating func recordUpdate(cpuNs: UInt64) {
        updates += 1
        lastUpdateCPUNs = cpuNs
        totalUpdateCPUNs &+= cpuNs
        maxUpdateCPUNs = max(maxUpdateCPUNs, cpuNs)
    }

    public init(controlPlane: String) { self.controlPlane = controlPlane }

    public subscript(_ type: XDSResourceType) -> XDSTypeStatus {
        get { types.first { $0.type == type }! }
        set { types[types.firstIndex { $0.type == type }!] = newValue }
    }

    public var json: JSONValue {
        .object([
            JSONMember(key: "control_plane", value: .string(controlPlane)),
            JSONMember(key: "connected", value: .bool(connected)),
            JSONMember(key: "initialized", value: .bool(initialized)),
            JSONMember(key: "since_ms", value: .number(String(since))),
            JSONMember(key: "connects", value: .number(String(connects))),
            JSONMember(key: "last_disconnect", value: .string(lastDisconnect)),
            JSONMember(key: "failures", value: .number(String(failures))),
            JSONMember(key: "last_apply_error", value: .string(lastApplyError)),
            JSONMember(key: "applied", value: .number(String(applied))),
            JSONMember(key: "last_apply_cpu_us", value: .number(String(lastApplyCPUNs / 1000))),
            JSONMember(key: "total_apply_cpu_us", value: .number(String(totalApplyCPUNs / 1000))),
            JSONMember(key: "updates", value: .number(String(updates))),
            JSONMember(key: "last_update_cpu_us", value: .number(String(lastUpdateCPUNs / 1000))),
            JSONMember(key: "max_update_cpu_us", value: .number(String(maxUpdateCPUNs / 1000))),
            JSONMember(key: "total_update_cpu_us", value: .number(String(totalUpdateCPUNs / 1000))),
            JSONMember(
                key: "waiting",
                value: .object(waiting.keys.sorted().map { JSONMember(key: $0, value: .string(waiting[$0]!)) })),
            JSONMember(key: "types", value: .array(types.map(\.json))),
        ])
    }
}

/// One resource type's subscription as the protocol sees it.
public struct XDSTypeStatus: Sendable, Equatable {
    public var type: XDSResourceType
    /// The version last accepted ("" before any).
    public var version = ""
    /// The nonce of the last response received.
    public var nonce = ""
    public var resources = 0
    /// The names subscribed to (RDS and EDS; empty for the wildcard types).
    public var names: [String] = []
    /// Responses received, ACKed and NACKed.
    public var pushes = 0
    public var acks = 0
    public var nacks = 0
    /// The last response's outcome: `ack` or `nack`, its version, wall clock (ms), and the NACK's error.
    public var lastOutcome = ""
    public var lastVersion = ""
    public var lastAt: UInt64 = 0
    public var lastError = ""

    public init(type: XDSResourceType) { self.type = type }

    /// A response's outcome: ACKed (`error` nil) or NACKed with `error`, now.
    mutating func record(version: String, error: String?) {
        if error == nil { acks += 1 } else { nacks += 1 }
        lastOutcome = error == nil ? "ack" : "nack"
        lastVersion = version
        lastAt = WallClock.millis()
        lastError = error ?? ""
    }

    public var json: JSONValue {
        .object([
            JSONMember(key: "type", value: .string(type.rawValue)),
            JSONMember(key: "type_url", value: .string(type.typeURL)),
            JSONMember(key: "version", value: .string(version)),
            JSONMember(key: "nonce", value: .string(nonce)),
            JSONMember(key: "resources", value: .number(String(resources))),
            JSONMember(key: "names", value: .array(names.map { .string($0) })),
            JSONMember(key: "pushes", value: .number(String(pushes))),
            JSONMember(key: "acks", value: .number(String(acks))),
            JSONMember(key: "nacks", value: .number(String(nacks))),
            JSONMember(key: "last", value: .string(lastOutcome)),
            JSONMember(key: "last_version", value: .string(lastVersion)),
            JSONMember(key: "last_at_ms", value: .number(String(lastAt))),
            JSONMember(key: "last_error", value: .string(lastError)),
        ])
    }
}
