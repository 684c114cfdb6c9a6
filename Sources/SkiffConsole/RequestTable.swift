import SkiffTelemetry

/// View 9, Requests: one row per request sample, newest first. `/` filters on status class (`5xx`), host, path or
/// anything in the row (every word must match); `p` pauses like any view.
extension ConsoleTables {
    /// `width`: the screen's; PATH/SERVICE takes what the other columns leave (at least 12).
    static func requests(_ snap: ConsoleSnapshot, width: Int = 120) -> Table {
        let rows = Array(snap.requests.samples.reversed())
        var cols = [
            Column("TIME", 12, key: { .num(Double(rows[$0].ts)) }) { Fmt.clock(rows[$0].ts) },
            Column("METHOD", 6) { rows[$0].method },
            Column("AUTHORITY", 12) { rows[$0].proto == "http1" ? rows[$0].authority : rows[$0].proto },
            Column("PATH/SERVICE", 12) { rows[$0].target },
            Column("STATUS", 6, .right, key: { .num(Double(rows[$0].status)) }, role: { statusRole(rows[$0]) }) {
                rows[$0].status == 0 && rows[$0].proto == "http1" ? "-" : "\(rows[$0].status)"
            },
            Column("UPSTREAM", 15) { rows[$0].host.isEmpty ? "-" : rows[$0].host },
            Column("LATENCY", 8, .right, key: { .num(Double(rows[$0].latencyUs)) }) { Fmt.us(rows[$0].latencyUs) },
            Column("IN", 6, .right, key: { .num(Double(rows[$0].bytesIn)) }) { Fmt.bytes(rows[$0].bytesIn) },
            Column("OUT", 6, .right, key: { .num(Double(rows[$0].bytesOut)) }) { Fmt.bytes(rows[$0].bytesOut) },
            Column("FLAGS", 5, role: { rows[$0].flags.isEmpty ? .normal : .warn }) {
                rows[$0].flags.isEmpty ? "-" : rows[$0].flags
            },
        ]
        let others = cols.reduce(0) { $0 + $1.width + 1 } - cols[3].width
        cols[3].width = max(12, width - others)
        return Table(columns: cols, count: rows.count) { rows[$0].searchText }
    }

    static func statusRole(_ r: TelemetryRequestSample) -> ColorRole {
        if r.proto != "http1" { return r.flags.contains("LR") ? .bad : .normal }
        if r.status >= 500 || r.status == 0 { return .bad }
        if r.status >= 400 { return .warn }
        return .ok
    }
}
