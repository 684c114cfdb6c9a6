import SkiffTelemetry

/// The Listeners view's answer columns: 2xx, 4xx and 5xx per second and since start (Skiff's own replies
/// included; for Bolt and Dubbo, answers relayed and error replies, see `TelemetryFrame.Listener.answered2xx`).
enum ListenerAnswers {
    static func rateColumns(_ rows: [TelemetryFrame.Listener], _ snap: ConsoleSnapshot) -> [Column] {
        var cols: [Column] = []
        let classes = ["2xx", "4xx", "5xx"]
        for name in classes {
            let key = { (i: Int) in "listener\(name):\(rows[i].name)" }
            let bad = name != "2xx"
            cols.append(
                Column(
                    name.uppercased() + "/S", 6, .right, key: { .num(snap.rate(key($0)) ?? 0) },
                    role: { bad && (snap.rate(key($0)) ?? 0) > 0 ? .bad : .normal }
                ) { i in rows[i].answered2xx == nil ? "-" : Fmt.rate(snap.rate(key(i))) })
        }
        return cols
    }

    /// Since start, in one column so the view keeps its other columns at 120 wide: `11k/0/15`.
    static func totalColumn(_ rows: [TelemetryFrame.Listener]) -> Column {
            Column("2XX/4XX/5XX", 14, .right, key: { .num(Double(rows[$0].answered5xx ?? 0)) }) { i in
                let l = rows[i]
                guard let ok = l.answered2xx else { return "-" }
                return [ok, l.answered4xx ?? 0, l.answered5xx ?? 0].map(Fmt.count).joined(separator: "/")
            }
    }
}
