import SkiffJSON

/// One live connection as the console shows it (from a frame's `connections.changed[]` or `table[]`).
public struct ConnectionRow: Sendable, Equatable {
    public var id: UInt64
    public var dir: String
    public var model: String
    public var owner: String
    public var peer: String
    /// `age_ms` as of `seenTs`.
    public var ageMs: UInt64
    public var seenTs: UInt64
    public var thread: String
    public var handler: String
    public var bytesIn: UInt64
    public var bytesOut: UInt64
    public var writev: UInt64
    public var buffers: UInt64
    public var paused: Bool

    public init(_ v: JSONValue, ts: UInt64) {
        id = v["id"].u
        dir = v["dir"].str ?? ""
        model = v["model"].str ?? ""
        owner = v["owner"].str ?? ""
        peer = v["peer"].str ?? ""
        ageMs = v["age_ms"].u
        seenTs = ts
        thread = v["thread"].str ?? v["thread"]?.scalarText ?? ""
        handler = v["handler"].str ?? ""
        bytesIn = v["bytes_in"].u
        bytesOut = v["bytes_out"].u
        writev = v["writev"].u
        buffers = v["buffers"].u
        paused = v["paused"].bool ?? false
    }

    /// Age as of a later frame time.
    public func age(at ts: UInt64) -> UInt64 { ageMs &+ (ts > seenTs ? ts - seenTs : 0) }
    public var buffersPerWritev: Double { writev == 0 ? 0 : Double(buffers) / Double(writev) }
    public var state: String { paused ? "paused" : "open" }
    /// Lowercased text the filter matches against.
    var searchText: String { "\(id) \(dir) \(model) \(owner) \(peer) \(thread) \(handler) \(state)".lowercased() }
}

/// One event line (`{"type":"event","ts":...,"kind":...,...}`).
public struct ConsoleEvent: Sendable, Equatable {
    public var seq: UInt64
    public var ts: UInt64
    public var kind: String
    /// The remaining members as `key=value`, in document order.
    public var fields: [(key: String, value: String)]

    public init(_ v: JSONValue) {
        seq = v["seq"].u
        ts = v["ts"].u
        kind = v["kind"].str ?? "?"
        var f: [(key: String, value: String)] = []
        if case .object(let members) = v {
            for m in members where !["type", "seq", "ts", "kind"].contains(m.key) {
                f.append((m.key, m.value.scalarText))
            }
        }
        fields = f
    }

    public var fieldText: String { fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }

    public static func == (a: ConsoleEvent, b: ConsoleEvent) -> Bool {
        a.seq == b.seq && a.ts == b.ts && a.kind == b.kind && a.fieldText == b.fieldText
    }
}

/// The key counters of one frame, for sparklines (rates between this frame and the one before).
public struct FrameSample: Sendable, Equatable {
    public var ts: UInt64
    public var rps: Double
    public var errors5xx: Double
    public var activeCx: Int
    public var activeRq: Int
    /// p99 in microseconds per cluster.
    public var p99Us: [String: Double]
    public var listenerRPS: [String: Double]
}

/// Everything a render needs, as a value: the model's current data, or what a paused screen froze.
public struct ConsoleSnapshot: Sendable {
    public var latest: JSONValue?
    public var previous: JSONValue?
    public var history: [FrameSample] = []
    public var connections: [UInt64: ConnectionRow] = [:]
    public var events: [ConsoleEvent] = []
    /// Per-second rates between the last two frames, keyed `listener:NAME`, `listener5xx:NAME`, `cluster:NAME`,
    /// `host:CLUSTER/ADDRESS`, `poller:GROUP/INDEX`, `pollerev:GROUP/INDEX`, `worker:POOL/INDEX`.
    public var rates: [String: Double] = [:]
    public var framesSeen = 0
    public var missedFrames = 0
    public var missedEvents = 0

    public init() {}

    public func rate(_ key: String) -> Double? { rates[key] }
    public var ts: UInt64 { latest["ts"].u }
    public var totalRPS: Double { history.last?.rps ?? 0 }
    public var total5xx: Double { history.last?.errors5xx ?? 0 }
}

/// What the console knows: the latest frame, a short history for sparklines, the connection table, recent events.
/// Confined to the console's thread.
public final class ConsoleModel {
    public static let historyCapacity = 120
    public static let eventCapacity = 1000

    public private(set) var snapshot = ConsoleSnapshot()

    public init() {}

    public var latest: JSONValue? { snapshot.latest }
    public var history: [FrameSample] { snapshot.history }
    public var connections: [UInt64: ConnectionRow] { snapshot.connections }
    public var events: [ConsoleEvent] { snapshot.events }

    /// A stream line of any type: `frame`, `event` or `gap`.
    public func ingest(line: JSONValue) {
        switch line["type"].str {
        case "event": ingest(event: line)
        case "gap": gap(missed: line["missed"].i, ring: line["ring"].str ?? "frames")
        default: ingest(line)
        }
    }

    public func ingest(_ frame: JSONValue) {
        let prev = snapshot.latest
        let ts = frame["ts"].u
        snapshot.previous = prev
        snapshot.latest = frame
        snapshot.framesSeen += 1

        // Connections: a full table replaces, changes merge.
        let conns = frame["connections"]
        if let table = conns["table"], case .array(let rows) = table {
            var all: [UInt64: ConnectionRow] = [:]
            all.reserveCapacity(rows.count)
            for r in rows { let c = ConnectionRow(r, ts: ts); all[c.id] = c }
            snapshot.connections = all
        } else {
            for r in conns["changed"].arr { let c = ConnectionRow(r, ts: ts); snapshot.connections[c.id] = c }
        }
        for id in conns["closed"].arr { snapshot.connections.removeValue(forKey: id.u) }

        // Rates.
        var rates: [String: Double] = [:]
        var sample = FrameSample(
            ts: ts, rps: 0, errors5xx: 0, activeCx: 0, activeRq: 0, p99Us: [:], listenerRPS: [:])
        for l in frame["listeners"].arr {
            sample.activeCx += l["cx_active"].i
            sample.activeRq += l["rq_active"].i
        }
        for c in frame["clusters"].arr {
            sample.p99Us[c["name"].str ?? ""] = c["latency"]["p99_us"].num
        }
        if let prev, ts > prev["ts"].u {
            let dt = Double(ts - prev["ts"].u) / 1000
            func delta(_ a: JSONValue?, _ b: JSONValue?, _ key: String) -> Double {
                let now = a[key].u
                let before = b[key].u
                return now >= before ? Double(now - before) / dt : 0
            }
            func byName(_ list: [JSONValue], _ key: String = "name") -> [String: JSONValue] {
                var d: [String: JSONValue] = [:]
                for v in list { d[v[key].str ?? ""] = v }
                return d
            }
            let prevListeners = byName(prev["listeners"].arr)
            for l in frame["listeners"].arr {
                let name = l["name"].str ?? ""
                let p = prevListeners[name]
                let requestKey = l["rq_total"] != nil ? "rq_total" : (l["sessions"] != nil ? "sessions" : "cx_total")
                let r = delta(l, p, requestKey)
                let e = delta(l, p, "rq_5xx")
                rates["listener:\(name)"] = r
                rates["listener5xx:\(name)"] = e
                sample.listenerRPS[name] = r
                sample.rps += r
                sample.errors5xx += e
            }
            let prevClusters = byName(prev["clusters"].arr)
            for c in frame["clusters"].arr {
                let name = c["name"].str ?? ""
                let p = prevClusters[name]
                rates["cluster:\(name)"] = delta(c, p, "rq_total")
                let prevHosts = byName(p["hosts"].arr, "address")
                for h in c["hosts"].arr {
                    let a = h["address"].str ?? ""
                    rates["host:\(name)/\(a)"] = delta(h, prevHosts[a], "rq_total")
                }
            }
            var prevPollers: [String: JSONValue] = [:]
            for p in prev["threads"]["pollers"].arr { prevPollers["\(p["group"].str ?? "")/\(p["index"].i)"] = p }
            for p in frame["threads"]["pollers"].arr {
                let k = "\(p["group"].str ?? "")/\(p["index"].i)"
                rates["poller:\(k)"] = delta(p, prevPollers[k], "wakeups")
                rates["pollerev:\(k)"] = delta(p, prevPollers[k], "events")
            }
            var prevWorkers: [String: JSONValue] = [:]
            for w in prev["threads"]["workers"].arr { prevWorkers["\(w["pool"].str ?? "")/\(w["index"].i)"] = w }
            for w in frame["threads"]["workers"].arr {
                let k = "\(w["pool"].str ?? "")/\(w["index"].i)"
                rates["worker:\(k)"] = delta(w, prevWorkers[k], "processed")
            }
            snapshot.history.append(sample)
            if snapshot.history.count > Self.historyCapacity {
                snapshot.history.removeFirst(snapshot.history.count - Self.historyCapacity)
            }
        }
        snapshot.rates = rates
    }

    public func ingest(event: JSONValue) {
        snapshot.events.append(ConsoleEvent(event))
        if snapshot.events.count > Self.eventCapacity {
            snapshot.events.removeFirst(snapshot.events.count - Self.eventCapacity)
        }
    }

    /// The reader fell behind a ring and lost `missed` entries.
    public func gap(missed: Int, ring: String = "frames") {
        if ring == "events" { snapshot.missedEvents += missed } else { snapshot.missedFrames += missed }
    }

    // MARK: lookups on the latest frame

    /// The host's entry in the latest frame.
    public func host(cluster: String, address: String) -> JSONValue? {
        Self.host(in: snapshot.latest, cluster: cluster, address: address)
    }

    static func host(in frame: JSONValue?, cluster: String, address: String) -> JSONValue? {
        guard let c = frame["clusters"].arr.first(where: { $0["name"].str == cluster }) else { return nil }
        return c["hosts"].arr.first(where: { $0["address"].str == address })
    }
}
