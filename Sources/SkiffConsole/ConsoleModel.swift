import SkiffJSON
import SkiffTelemetry

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
    /// What its TLS handshake agreed on; nil for plaintext (or a handshake not finished yet).
    public var tls: TelemetryFrame.ConnectionTLS?

    public init(_ c: TelemetryFrame.Connection, ts: UInt64) {
        id = c.id
        dir = c.dir
        model = c.model
        owner = c.owner
        peer = c.peer
        ageMs = c.ageMs
        seenTs = ts
        thread = c.thread
        handler = c.handler
        bytesIn = c.bytesIn
        bytesOut = c.bytesOut
        writev = c.writev
        buffers = c.buffers
        paused = c.paused
        tls = c.tls
    }

    /// Age as of a later frame time.
    public func age(at ts: UInt64) -> UInt64 { ageMs &+ (ts > seenTs ? ts - seenTs : 0) }
    public var buffersPerWritev: Double { writev == 0 ? 0 : Double(buffers) / Double(writev) }
    public var state: String { paused ? "paused" : "open" }
    /// Lowercased text the filter matches against.
    var searchText: String {
        "\(id) \(dir) \(model) \(owner) \(peer) \(thread) \(handler) \(state) \(tlsSearchText)".lowercased()
    }
}

/// One event line as the Events view shows it: its kind's members as `key=value`, worked out once on arrival.
public struct ConsoleEvent: Sendable, Equatable {
    public var event: TelemetryEvent
    /// The kind's members as `key=value`, in wire order.
    public var fields: [(key: String, value: String)]

    public init(_ event: TelemetryEvent) {
        self.event = event
        fields = event.payloadMembers.map { ($0.key, Self.scalarText($0.value)) }
    }

    public var ts: UInt64 { event.ts }
    public var kind: String { event.kind.isEmpty ? "?" : event.kind }
    public var fieldText: String { fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }

    public static func == (a: ConsoleEvent, b: ConsoleEvent) -> Bool { a.event == b.event }

    /// A short rendering of a member (arrays and objects by their size).
    static func scalarText(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let t): return t
        case .string(let s): return s
        case .array(let a): return "[\(a.count)]"
        case .object(let o): return "{\(o.count)}"
        }
    }
}

/// The key counters of one frame, for sparklines (rates between this frame and the one before).
public struct FrameSample: Sendable, Equatable {
    public var ts: UInt64
    public var rps: Double
    public var errors5xx: Double
    public var activeCx: Int
    public var activeRq: Int
    /// p99 in microseconds per cluster, over the recent window (0 without samples).
    public var p99Us: [String: Double]
    public var listenerRPS: [String: Double]
}

/// Everything a render needs, as a value: the model's current data, or what a paused screen froze.
public struct ConsoleSnapshot: Sendable {
    public var latest: TelemetryFrame?
    public var previous: TelemetryFrame?
    public var history: [FrameSample] = []
    public var connections: [UInt64: ConnectionRow] = [:]
    public var events: [ConsoleEvent] = []
    /// Per-second rates between the last two frames, keyed `listener:NAME`, `listener5xx:NAME`, `cluster:NAME`,
    /// `host:CLUSTER/ADDRESS`, `poller:GROUP/INDEX`, `pollerev:GROUP/INDEX`, `worker:POOL/INDEX`.
    public var rates: [String: Double] = [:]
    public var framesSeen = 0
    public var missedFrames = 0
    public var missedEvents = 0
    /// Latency and write counters over the recent window (see `ConsoleModel+Window.swift`).
    public var window = FrameWindow()
    /// The Requests view's samples (view 9).
    public var requests = RequestLog()

    public init() {}

    public func rate(_ key: String) -> Double? { rates[key] }
    public var ts: UInt64 { latest?.ts ?? 0 }
    public var totalRPS: Double { history.last?.rps ?? 0 }
    public var total5xx: Double { history.last?.errors5xx ?? 0 }
    /// Some listener or cluster of the latest frame speaks TLS.
    public var hasTLS: Bool {
        guard let f = latest else { return false }
        return f.listeners.contains { $0.tls != nil } || f.clusters.contains { $0.tls != nil }
    }
}

/// What the console knows: the latest frame, a short history for sparklines, the connection table, recent events.
/// Confined to the console's thread.
public final class ConsoleModel {
    public static let historyCapacity = 120
    public static let eventCapacity = 1000

    public private(set) var snapshot = ConsoleSnapshot()

    /// `windowMs`: the span of the recent window that latency and write rates are shown over.
    public init(windowMs: UInt64 = FrameWindow.defaultMs) {
        snapshot.window = FrameWindow(windowMs: windowMs)
    }

    public var latest: TelemetryFrame? { snapshot.latest }
    public var history: [FrameSample] { snapshot.history }
    public var connections: [UInt64: ConnectionRow] { snapshot.connections }
    public var events: [ConsoleEvent] { snapshot.events }

    /// A stream line of any type: frame, event or gap (others are ignored).
    public func ingest(line: TelemetryLine) {
        switch line {
        case .frame(let f): ingest(f)
        case .event(let e): ingest(event: e)
        case .gap(let g): gap(missed: Int(clamping: g.missed), ring: g.ring)
        case .request(let r): snapshot.requests.add(r)
        case .other: break
        }
    }

    public func ingest(_ frame: TelemetryFrame) {
        // Another pid is another process (the daemon restarted): none of the old one's connections, rates or
        // history carry over; the events stay (they say what happened).
        if let old = snapshot.latest, old.pid != frame.pid {
            let events = snapshot.events
            snapshot = ConsoleSnapshot()
            snapshot.events = events
        }
        let prev = snapshot.latest
        let ts = frame.ts
        snapshot.previous = prev
        snapshot.latest = frame
        snapshot.framesSeen += 1
        snapshot.window.add(frame)

        // Connections: a full table replaces, changes merge.
        if let conns = frame.connections {
            if let table = conns.table {
                var all: [UInt64: ConnectionRow] = [:]
                all.reserveCapacity(table.count)
                for r in table { all[r.id] = ConnectionRow(r, ts: ts) }
                snapshot.connections = all
            } else {
                for r in conns.changed ?? [] { snapshot.connections[r.id] = ConnectionRow(r, ts: ts) }
            }
            for id in conns.closed ?? [] { snapshot.connections.removeValue(forKey: id) }
        }

        // Rates.
        var rates: [String: Double] = [:]
        var sample = FrameSample(
            ts: ts, rps: 0, errors5xx: 0, activeCx: 0, activeRq: 0, p99Us: [:], listenerRPS: [:])
        for l in frame.listeners {
            sample.activeCx += l.cxActive
            sample.activeRq += l.rqActive ?? 0
        }
        for c in frame.clusters { sample.p99Us[c.name] = Double(snapshot.windowLatency(cluster: c.name)?.p99Us ?? 0) }
        if let prev, ts > prev.ts {
            let dt = Double(ts - prev.ts) / 1000
            func rate(_ now: UInt64, _ before: UInt64?) -> Double {
                let before = before ?? 0
                return now >= before ? Double(now - before) / dt : 0
            }
            func byKey<T>(_ list: [T], _ key: (T) -> String) -> [String: T] {
                var d: [String: T] = [:]
                for v in list { d[key(v)] = v }
                return d
            }
            let prevListeners = byKey(prev.listeners, \.name)
            for l in frame.listeners {
                let p = prevListeners[l.name]
                // Requests where the listener counts them, else sessions, else connections.
                let r = rate(l.requestsOrSessions ?? l.cxTotal, p.map { $0.requestsOrSessions ?? $0.cxTotal })
                let e = rate(l.answered5xx ?? 0, p?.answered5xx)
                rates["listener:\(l.name)"] = r
                rates["listener5xx:\(l.name)"] = e
                sample.listenerRPS[l.name] = r
                sample.rps += r
                sample.errors5xx += e
            }
            let prevClusters = byKey(prev.clusters, \.name)
            for c in frame.clusters {
                let p = prevClusters[c.name]
                rates["cluster:\(c.name)"] = rate(c.rqTotal, p?.rqTotal)
                let prevHosts = byKey(p?.hosts ?? [], \.address)
                for h in c.hosts {
                    rates["host:\(c.name)/\(h.address)"] = rate(h.rqTotal, prevHosts[h.address]?.rqTotal)
                }
            }
            let prevPollers = byKey(prev.threads.pollers, \.id)
            for p in frame.threads.pollers {
                rates["poller:\(p.id)"] = rate(p.wakeups, prevPollers[p.id]?.wakeups)
                rates["pollerev:\(p.id)"] = rate(p.events, prevPollers[p.id]?.events)
            }
            let prevWorkers = byKey(prev.threads.workers, \.id)
            for w in frame.threads.workers {
                rates["worker:\(w.id)"] = rate(w.processed, prevWorkers[w.id]?.processed)
            }
            rates.merge(ErrorRates.between(frame, prev, seconds: dt)) { _, new in new }
            snapshot.history.append(sample)
            if snapshot.history.count > Self.historyCapacity {
                snapshot.history.removeFirst(snapshot.history.count - Self.historyCapacity)
            }
        }
        snapshot.rates = rates
    }

    public func ingest(event: TelemetryEvent) {
        snapshot.events.append(ConsoleEvent(event))
        if snapshot.events.count > Self.eventCapacity {
            snapshot.events.removeFirst(snapshot.events.count - Self.eventCapacity)
        }
    }

    /// The reader fell behind a ring and lost `missed` entries.
    public func gap(missed: Int, ring: String = StreamGap.frames) {
        if ring == StreamGap.events { snapshot.missedEvents += missed } else { snapshot.missedFrames += missed }
    }

    /// The host's entry in the latest frame.
    public func host(cluster: String, address: String) -> TelemetryFrame.Host? {
        snapshot.latest?.host(cluster: cluster, address: address)
    }
}
