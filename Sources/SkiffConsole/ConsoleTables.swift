import SkiffTelemetry

public enum Alignment: Sendable { case left, right }

/// A sort key: numbers before text, each in its natural order.
enum SortKey: Comparable {
    case num(Double)
    case text(String)
}

/// One column: the header title and the cell come from the same definition, so they cannot drift apart.
struct Column {
    /// This column with `dropRank` `rank` (left out earlier on a narrow screen the higher it is).
    func dropping(_ rank: Int) -> Column {
        var c = self
        c.dropRank = rank
        return c
    }

    var title: String
    var width: Int
    var align: Alignment = .left
    /// Takes whatever width is left (at least `width`).
    var flex = false
    /// Left out first when the screen is too narrow (higher first; 0 stays longest). See `ColumnLayout`.
    var dropRank = 0
    var cell: (Int) -> String
    var key: ((Int) -> SortKey)?
    var role: ((Int) -> ColorRole)?

    init(
        _ title: String, _ width: Int, _ align: Alignment = .left, flex: Bool = false,
        key: ((Int) -> SortKey)? = nil, role: ((Int) -> ColorRole)? = nil, cell: @escaping (Int) -> String
    ) {
        self.title = title
        self.width = width
        self.align = align
        self.flex = flex
        self.cell = cell
        self.key = key
        self.role = role
    }
}

struct HostRef: Equatable {
    var cluster: String
    var address: String
}

/// A view's rows as closures over row indices.
struct Table {
    var columns: [Column]
    var count: Int
    /// Lowercased text the filter matches.
    var search: (Int) -> String
    var sortable = true
    var host: (Int) -> HostRef? = { _ in nil }
    var rowRole: ((Int) -> ColorRole)? = nil
    /// A row drawn as one text across all columns (the drain line under a draining host).
    var span: ((Int) -> String?)? = nil
}

/// Formatting shared by the views.
enum Fmt {
    static func count(_ v: UInt64) -> String { Humanize.count(v) }
    static func count(_ v: Int) -> String { v < 0 ? "-" + Humanize.count(UInt64(-v)) : Humanize.count(UInt64(v)) }
    static func bytes(_ v: UInt64) -> String { Humanize.bytes(v) }
    static func rate(_ v: Double?) -> String { v.map { Humanize.rate($0) } ?? "-" }
    static func us(_ v: UInt64) -> String { Humanize.duration(ns: v &* 1000) }
    static func ms(_ v: UInt64) -> String { Humanize.duration(ns: v &* 1_000_000) }
    /// A host's weight, and while it ramps up under `slow_start` the share it gets now: `10 (slow start: 34%, 3.4)`.
    static func weight(_ h: TelemetryFrame.Host) -> String {
        guard let percent = h.slowStartPercent else { return "\(h.weight)" }
        return "\(h.weight) (slow start: \(percent)%, \(one(Double(h.weight * percent) / 100)))"
    }
    /// The Hosts table's WT cell: the weight, or `~` and the ramped weight while slow start holds it back (the
    /// `~` dropped from 100 up, to fit three columns).
    static func weightCell(_ h: TelemetryFrame.Host) -> String {
        guard let percent = h.slowStartPercent else { return "\(h.weight)" }
        let now = max(1, (h.weight * percent + 50) / 100)
        return now < 100 ? "~\(now)" : "\(now)"
    }
    static func one(_ v: Double) -> String {
        let t = Int((v * 10).rounded())
        return "\(t / 10).\(abs(t % 10))"
    }
    /// `HH:MM:SS.mmm` (UTC) of a wall-clock ms timestamp.
    static func clock(_ ts: UInt64, millis: Bool = true) -> String {
        let day = ts % 86_400_000
        func two(_ v: UInt64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let base = "\(two(day / 3_600_000)):\(two(day / 60_000 % 60)):\(two(day / 1000 % 60))"
        guard millis else { return base }
        let m = day % 1000
        return base + "." + (m < 10 ? "00\(m)" : m < 100 ? "0\(m)" : "\(m)")
    }

    static func adminRole(_ s: String) -> ColorRole {
        switch s {
        case "READY": return .ok
        case "DRAIN", "DRAINED": return .warn
        case "MAINT": return .dim
        default: return .normal
        }
    }
    static func healthRole(_ s: String) -> ColorRole {
        if s == "UP" { return .ok }
        if s.hasPrefix("UP ") { return .warn }
        if s.hasPrefix("DOWN") || s == "EJECTED" { return .bad }
        if s == "MAINT" { return .dim }
        return .normal
    }

    /// `[#####.....] 3rq 1cx 12.0/30s` or `DRAINED safe to remove`.
    static func drain(_ h: TelemetryFrame.Host) -> String {
        if h.isDrained { return "DRAINED safe to remove" }
        guard let d = h.drain else { return "" }
        let frac = d.timeoutMs == 0 ? 0 : min(1, Double(d.elapsedMs) / Double(d.timeoutMs))
        let filled = Int((frac * 10).rounded())
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 10 - filled) + "]"
        let cx = d.activeCx + d.idleCx
        return "\(bar) \(d.activeRq)rq \(cx)cx \(one(Double(d.elapsedMs) / 1000))/\(secs(d.timeoutMs))s"
    }
    private static func secs(_ ms: UInt64) -> String { ms % 1000 == 0 ? "\(ms / 1000)" : one(Double(ms) / 1000) }

    static let sparkChars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    /// The last `width` values as a sparkline scaled to their maximum.
    static func spark(_ values: [Double], width: Int) -> String {
        let v = values.suffix(max(0, width))
        let top = v.max() ?? 0
        return String(v.map { x -> Character in
            guard top > 0, x.isFinite else { return sparkChars[0] }
            return sparkChars[min(7, max(0, Int((x / top * 7).rounded())))]
        })
    }

    /// The writes histogram (1, 2-3, 4-7, 8-15, 16+) as five block characters.
    static func histBar(_ hist: [UInt64]) -> String { spark(hist.map(Double.init), width: 5) }
}

enum ConsoleTables {
    static func table(for view: ConsoleView, _ snap: ConsoleSnapshot) -> Table? {
        switch view {
        case .overview: return nil
        case .listeners: return listeners(snap)
        case .clusters: return clusters(snap)
        case .connections: return connections(snap)
        case .threads: return pollers(snap)
        case .writes: return writes(snap)
        case .health: return health(snap)
        case .events: return events(snap)
        case .requests: return requests(snap)
        }
    }

    /// Row indices after filter and sort.
    static func order(_ t: Table, _ state: ConsoleState) -> [Int] {
        var rows = Array(0..<t.count)
        // Every word of the filter must match (`5xx /api`).
        let words = state.filter.lowercased().split(separator: " ")
        if !words.isEmpty { rows = rows.filter { i in let s = t.search(i); return words.allSatisfy { s.contains($0) } } }
        if t.sortable, let c = state.sortColumn, c < t.columns.count {
            let col = t.columns[c]
            let key = col.key ?? { .text(col.cell($0).lowercased()) }
            let keys = rows.map(key)
            var idx = Array(rows.indices)
            idx.sort { a, b in keys[a] == keys[b] ? rows[a] < rows[b] : keys[a] < keys[b] }
            if state.sortReversed { idx.reverse() }
            rows = idx.map { rows[$0] }
        } else if state.sortReversed {
            rows.reverse()
        }
        return rows
    }

    static func rowCount(_ view: ConsoleView, _ snap: ConsoleSnapshot, _ state: ConsoleState) -> Int {
        guard let t = table(for: view, snap) else { return 0 }
        return order(t, state).count
    }

    // MARK: Listeners

    static func listeners(_ snap: ConsoleSnapshot) -> Table {
        let rows = snap.latest?.listeners ?? []
        let cols = [
            Column("NAME", 12) { rows[$0].name },
            Column("ADDRESS", 15) { rows[$0].address },
            Column("MODEL", 7) { rows[$0].model },
            Column("PROTO", 6) { rows[$0].protocol },
            Column("ACT CX", 6, .right, key: { .num(Double(rows[$0].cxActive)) }) { Fmt.count(rows[$0].cxActive) },
            Column("RPS", 7, .right, key: { .num(snap.rate("listener:\(rows[$0].name)") ?? 0) }) {
                Fmt.rate(snap.rate("listener:\(rows[$0].name)"))
            },
        ] + ListenerAnswers.rateColumns(rows, snap) + [
            Column("IN", 7, .right, key: { .num(Double(rows[$0].writes.bytesIn)) }) { Fmt.bytes(rows[$0].writes.bytesIn) },
            Column("OUT", 7, .right, key: { .num(Double(rows[$0].writes.bytesOut)) }) {
                Fmt.bytes(rows[$0].writes.bytesOut)
            },
            Column("ERR", 5, .right, key: { .num(Double(rows[$0].errors)) }, role: { rows[$0].errors > 0 ? .bad : .normal }) {
                Fmt.count(rows[$0].errors)
            },
            ListenerAnswers.totalColumn(rows),
            Column("TOT CX", 6, .right, key: { .num(Double(rows[$0].cxTotal)) }) { Fmt.count(rows[$0].cxTotal) },
        ]
        return Table(columns: cols, count: rows.count) { i in
            "\(rows[i].name) \(rows[i].address) \(rows[i].model) \(rows[i].protocol)".lowercased()
        }
    }

    // MARK: Clusters & Hosts (a tree: cluster row, host rows, a drain line under draining hosts)

    enum TreeRow {
        case cluster(TelemetryFrame.Cluster)
        case host(String, TelemetryFrame.Host)
        case drain(String, TelemetryFrame.Host)
    }

    static func clusterTree(_ snap: ConsoleSnapshot) -> [TreeRow] {
        var rows: [TreeRow] = []
        for c in snap.latest?.clusters ?? [] {
            rows.append(.cluster(c))
            for h in c.hosts {
                rows.append(.host(c.name, h))
                if h.drain != nil || h.admin == "DRAINED" { rows.append(.drain(c.name, h)) }
            }
        }
        return rows
    }

    static func clusters(_ snap: ConsoleSnapshot) -> Table {
        let rows = clusterTree(snap)
        let now = snap.ts
        func hostOf(_ i: Int) -> TelemetryFrame.Host? {
            if case .host(_, let h) = rows[i] { return h }
            return nil
        }
        func text(
            _ i: Int, cluster: (TelemetryFrame.Cluster) -> String, host: (String, TelemetryFrame.Host) -> String
        ) -> String {
            switch rows[i] {
            case .cluster(let c): return cluster(c)
            case .host(let n, let h): return host(n, h)
            case .drain: return ""
            }
        }
        func errRole(_ i: Int) -> ColorRole {
            let key: String
            switch rows[i] {
            case .cluster(let c): key = "clusterErr:\(c.name)"
            case .host(let n, let h): key = "hostErr:\(n)/\(h.address)"
            case .drain: return .normal
            }
            return (snap.rate(key) ?? 0) > 0 ? .bad : .normal
        }
        func lastCheck(_ h: TelemetryFrame.Host) -> String {
            guard let last = h.checks?.last else { return "-" }
            let age = now > last.at ? Fmt.ms(now - last.at) : "0s"
            return "\(last.reason) \(age)"
        }
        let cols = [
            Column("CLUSTER / HOST", 19) { i in
                switch rows[i] {
                case .cluster(let c): return c.name
                case .host(_, let h): return " └ " + h.address
                case .drain: return ""
                }
            },
            Column("ADMIN", 7, role: { i in hostOf(i).map { Fmt.adminRole($0.admin) } ?? .normal }) {
                text($0, cluster: { String($0.lb.replacingPrefix("LB_")) }) { _, h in h.admin }
            },
            Column("HEALTH", 9, role: { i in hostOf(i).map { Fmt.healthRole($0.health) } ?? .normal }) {
                text($0, cluster: { _ in "" }) { _, h in h.health }
            },
            Column("WT", 3, .right) { text($0, cluster: { _ in "" }) { _, h in Fmt.weightCell(h) } },
            Column("RQ", 4, .right) { text($0, cluster: { Fmt.count($0.rqActive) }) { _, h in Fmt.count(h.rqActive) } },
            Column("CX", 4, .right) { text($0, cluster: { Fmt.count($0.cxActive) }) { _, h in Fmt.count(h.cxActive) } },
            Column("RPS", 7, .right) {
                text($0, cluster: { Fmt.rate(snap.rate("cluster:\($0.name)")) }) { c, h in
                    Fmt.rate(snap.rate("host:\(c)/\(h.address)"))
                }
            },
            // Latency over the recent window (`--window`); `-` when it holds no samples.
            Column("P50", 6, .right) {
                text($0, cluster: { Fmt.latency(snap.windowLatency(cluster: $0.name), \.p50Us) }) { c, h in
                    Fmt.latency(snap.windowLatency(cluster: c, host: h.address), \.p50Us)
                }
            },
            Column("P99", 6, .right) {
                text($0, cluster: { Fmt.latency(snap.windowLatency(cluster: $0.name), \.p99Us) }) { c, h in
                    Fmt.latency(snap.windowLatency(cluster: c, host: h.address), \.p99Us)
                }
            },
            // Failed answers: the hosts' own 5xx and Skiff's error replies (connect failure, timeout, no host).
            Column("ERR/S", 6, .right, role: { i in errRole(i) }) {
                text($0, cluster: { Fmt.rate(snap.rate("clusterErr:\($0.name)")) }) { c, h in
                    Fmt.rate(snap.rate("hostErr:\(c)/\(h.address)"))
                }
            },
            // Requests sent again: after their connection closed before any byte of the answer, or a retried status.
            Column("RETRY", 5, .right) {
                text($0, cluster: { Fmt.count($0.retries) }) { _, h in Fmt.count(h.rqRetry) }
            },
            Column("LAST CHECK", 13, flex: true) { text($0, cluster: { _ in "" }) { _, h in lastCheck(h) } },
        ]
        var t = Table(columns: cols, count: rows.count) { i in
            switch rows[i] {
            case .cluster(let c):
                return (c.name + " " + c.hosts.map(\.address).joined(separator: " ")).lowercased()
            case .host(let n, let h), .drain(let n, let h):
                return "\(n) \(h.address) \(h.admin) \(h.health)".lowercased()
            }
        }
        t.sortable = false
        t.host = { i in
            switch rows[i] {
            case .host(let c, let h), .drain(let c, let h): return HostRef(cluster: c, address: h.address)
            case .cluster: return nil
            }
        }
        t.span = { i in
            guard case .drain(_, let h) = rows[i] else { return nil }
            return "     drain " + Fmt.drain(h)
        }
        t.rowRole = { i in
            switch rows[i] {
            case .cluster: return .accent
            case .drain(_, let h): return h.isDrained ? .ok : .warn
            case .host: return .normal
            }
        }
        return t
    }

    // MARK: Connections

    static func connectionRows(_ snap: ConsoleSnapshot) -> [ConnectionRow] {
        snap.connections.values.sorted { $0.id < $1.id }
    }

    static func connections(_ snap: ConsoleSnapshot) -> Table {
        let rows = connectionRows(snap)
        let now = snap.ts
        // TLS columns only where some listener or cluster speaks TLS (the set changes with a reload, not per frame).
        let tls = snap.hasTLS
        var cols = [
            Column("ID", 7, .right, key: { .num(Double(rows[$0].id)) }) { "\(rows[$0].id)" },
            Column("OWNER", 9) { rows[$0].owner },
            Column("PEER", 19) { rows[$0].peer },
        ]
        if tls { cols.append(Column("TLS", 6, role: { rows[$0].tls == nil ? .dim : .normal }) { rows[$0].tlsText }) }
        cols += [
            Column("AGE", 6, .right, key: { .num(Double(rows[$0].age(at: now))) }) { Fmt.ms(rows[$0].age(at: now)) },
            Column("THREAD", 8) { rows[$0].thread },
            // With the TLS column, the handler (also in the details panel) gives way before the counters.
            Column("HANDLER", 8) { rows[$0].handler }.dropping(tls ? 1 : 0),
            Column("IN", 7, .right, key: { .num(Double(rows[$0].bytesIn)) }) { Fmt.bytes(rows[$0].bytesIn) },
            Column("OUT", 7, .right, key: { .num(Double(rows[$0].bytesOut)) }) { Fmt.bytes(rows[$0].bytesOut) },
            Column("WRITEV", 6, .right, key: { .num(Double(rows[$0].writev)) }) { Fmt.count(rows[$0].writev) },
            Column("B/WV", 5, .right, key: { .num(rows[$0].buffersPerWritev) }) { Fmt.one(rows[$0].buffersPerWritev) },
            Column("STATE", 6, role: { rows[$0].paused ? .warn : .normal }) { rows[$0].state },
        ]
        // SNI (inbound) or the upstream's certificate CN (outbound): the first column to go on a narrow screen.
        if tls { cols.append(Column("SNI/CN", 16) { rows[$0].tlsName }.dropping(2)) }
        return Table(columns: cols, count: rows.count) { rows[$0].searchText }
    }

    // MARK: Threads

    static func pollers(_ snap: ConsoleSnapshot) -> Table {
        let rows = snap.latest?.threads.pollers ?? []
        let cols = [
            Column("GROUP", 8) { rows[$0].group },
            Column("#", 2, .right, key: { .num(Double(rows[$0].index)) }) { "\(rows[$0].index)" },
            Column("TID", 6, .right, key: { .num(Double(rows[$0].tid)) }) { "\(rows[$0].tid)" },
            Column("FDS", 5, .right, key: { .num(Double(rows[$0].fds)) }) { Fmt.count(rows[$0].fds) },
            Column("WAKE/S", 7, .right, key: { .num(snap.rate("poller:\(rows[$0].id)") ?? 0) }) {
                Fmt.rate(snap.rate("poller:\(rows[$0].id)"))
            },
            Column("EV/S", 7, .right, key: { .num(snap.rate("pollerev:\(rows[$0].id)") ?? 0) }) {
                Fmt.rate(snap.rate("pollerev:\(rows[$0].id)"))
            },
            Column("EV/WAKE", 7, .right) { eventsPerWakeup(snap, rows[$0]) },
            Column("CPU", 6, .right, key: { .num(Double(rows[$0].cpuMs)) }) { Fmt.ms(rows[$0].cpuMs) },
        ]
        return Table(columns: cols, count: rows.count) { "\(rows[$0].group) \(rows[$0].tid)".lowercased() }
    }

    static func workers(_ snap: ConsoleSnapshot) -> Table {
        let rows = snap.latest?.threads.workers ?? []
        let cols = [
            Column("POOL", 8) { rows[$0].pool },
            Column("#", 2, .right) { "\(rows[$0].index)" },
            Column("BUSY", 4, role: { rows[$0].busy ? .warn : .dim }) { rows[$0].busy ? "busy" : "idle" },
            Column("QUEUE", 5, .right) { Fmt.count(rows[$0].queue) },
            Column("MAXQ", 5, .right) { Fmt.count(rows[$0].maxQueue) },
            Column("PROC/S", 7, .right) { Fmt.rate(snap.rate("worker:\(rows[$0].id)")) },
        ]
        return Table(columns: cols, count: rows.count) { rows[$0].pool.lowercased() }
    }

    // MARK: Writes

    static func writes(_ snap: ConsoleSnapshot) -> Table {
        // `w` since start; `recent` over the window (nil before it spans two frames).
        var rows: [(kind: String, name: String, w: TelemetryFrame.Writes, recent: TelemetryFrame.Writes?)] = []
        for l in snap.latest?.listeners ?? [] { rows.append(("L", l.name, l.writes, snap.window.listenerWrites(l.name))) }
        for c in snap.latest?.clusters ?? [] { rows.append(("C", c.name, c.writes, snap.window.clusterWrites(c.name))) }
        func writevPerSecond(_ i: Int) -> Double? { rows[i].recent.flatMap { snap.window.perSecond($0.writev) } }
        func recentBuffersPerWritev(_ i: Int) -> Double? {
            rows[i].recent.flatMap { $0.writev == 0 ? nil : $0.buffersPerWritev }
        }
        func pausesPerSecond(_ i: Int) -> Double? { rows[i].recent.flatMap { snap.window.perSecond($0.readPauses) } }
        func hist(_ i: Int) -> [UInt64] {
            var h = rows[i].w.hist
            while h.count < 5 { h.append(0) }
            return h
        }
        func bytesPerWritev(_ i: Int) -> Double {
            let w = rows[i].w
            return w.writev == 0 ? 0 : Double(w.bytesOut) / Double(w.writev)
        }
        func num(_ value: @escaping (TelemetryFrame.Writes) -> UInt64) -> (Int) -> SortKey {
            { .num(Double(value(rows[$0].w))) }
        }
        var cols = [
            Column("", 1) { rows[$0].kind },
            Column("NAME", 10) { rows[$0].name },
            Column("BUFFERS", 7, .right, key: num(\.buffers)) { Fmt.count(rows[$0].w.buffers) },
            Column("WRITEV", 6, .right, key: num(\.writev)) { Fmt.count(rows[$0].w.writev) },
        ]
        for (b, title) in ["1", "2-3", "4-7", "8-15", "16+"].enumerated() {
            // The bars (HIST) say the same at a glance: the per-size counts drop first on a narrow screen.
            cols.append(
                Column(title, 5, .right, key: { .num(Double(hist($0)[b])) }) { Fmt.count(hist($0)[b]) }.dropping(2))
        }
        cols += [
            Column("HIST", 5, role: { _ in .accent }) { Fmt.histBar(hist($0)) },
            // Over the recent window: what the writes do now, not since start.
            Column("WV/S", 6, .right, key: { .num(writevPerSecond($0) ?? -1) }) {
                Fmt.rate(writevPerSecond($0))
            },
            Column("B/WV", 5, .right, key: { .num(recentBuffersPerWritev($0) ?? -1) }) {
                recentBuffersPerWritev($0).map(Fmt.one) ?? "-"
            },
            Column("ALL B/WV", 8, .right, key: { .num(rows[$0].w.buffersPerWritev) }) {
                Fmt.one(rows[$0].w.buffersPerWritev)
            }.dropping(3),
            Column("BYT/WV", 6, .right, key: { .num(bytesPerWritev($0)) }) {
                Fmt.bytes(UInt64(bytesPerWritev($0).rounded()))
            }.dropping(3),
            Column("PART", 5, .right, key: num(\.partial)) { Fmt.count(rows[$0].w.partial) },
            Column("EAGAIN", 6, .right, key: num(\.eagain)) { Fmt.count(rows[$0].w.eagain) },
            Column("PEAKQ", 5, .right, key: { .num(Double(rows[$0].w.peakQueue)) }) {
                Fmt.count(UInt64(max(0, rows[$0].w.peakQueue)))
            }.dropping(1),
            Column("PAUSE/S", 7, .right, key: { .num(pausesPerSecond($0) ?? -1) }) {
                Fmt.rate(pausesPerSecond($0))
            }.dropping(1),
        ]
        return Table(columns: cols, count: rows.count) { "\(rows[$0].kind) \(rows[$0].name)".lowercased() }
    }

    // MARK: Health

    static func health(_ snap: ConsoleSnapshot) -> Table {
        var rows: [(cluster: String, h: TelemetryFrame.Host)] = []
        for c in snap.latest?.clusters ?? [] {
            for h in c.hosts { rows.append((c.name, h)) }
        }
        let now = snap.ts
        func checks(_ i: Int) -> [TelemetryFrame.Check] { rows[i].h.checks ?? [] }
        func streak(_ i: Int) -> String {
            let cs = checks(i)
            guard let last = cs.last else { return "no checks" }
            let n = rows[i].h.checkRun ?? cs.reversed().prefix { $0.ok == last.ok }.count
            return "\(n) \(last.ok ? "ok" : "failed") in a row"
        }
        let cols = [
            Column("HOST", 24) { "\(rows[$0].cluster)/\(rows[$0].h.address)" },
            Column("ADMIN", 7, role: { Fmt.adminRole(rows[$0].h.admin) }) { rows[$0].h.admin },
            Column("HEALTH", 9, role: { Fmt.healthRole(rows[$0].h.health) }) { rows[$0].h.health },
            Column("RESULTS", 10) { i in String(checks(i).suffix(10).map { $0.ok ? "✓" : "✗" }) },
            Column("LAT", 6, .right, key: { .num(Double(checks($0).last?.latencyUs ?? 0)) }) {
                checks($0).last.map { Fmt.us($0.latencyUs) } ?? "-"
            },
            Column("REASON", 12) { checks($0).last?.reason ?? "-" },
            Column("NEXT", 6, .right) { i in
                guard let next = rows[i].h.nextCheckMs else { return "-" }
                return next > now ? Fmt.ms(next - now) : "now"
            },
            Column("STREAK", 14, flex: true) { streak($0) },
        ]
        var t = Table(columns: cols, count: rows.count) {
            "\(rows[$0].cluster) \(rows[$0].h.address) \(rows[$0].h.admin) \(rows[$0].h.health)".lowercased()
        }
        t.host = { HostRef(cluster: rows[$0].cluster, address: rows[$0].h.address) }
        return t
    }

    // MARK: Events

    static func events(_ snap: ConsoleSnapshot) -> Table {
        let rows = snap.events
        let cols = [
            Column("TIME", 12, key: { .num(Double(rows[$0].ts)) }) { Fmt.clock(rows[$0].ts) },
            Column("KIND", 12) { rows[$0].kind },
            Column("FIELDS", 20, flex: true) { rows[$0].fieldText },
        ]
        var t = Table(columns: cols, count: rows.count) { "\(rows[$0].kind) \(rows[$0].fieldText)".lowercased() }
        t.rowRole = { EventSeverity.of(rows[$0]).role }
        return t
    }
}

extension String {
    func replacingPrefix(_ p: String) -> Substring { hasPrefix(p) ? dropFirst(p.count) : Substring(self) }
}
