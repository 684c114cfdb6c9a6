import SkiffTelemetry

/// The Listeners view's answer columns: 2xx, 4xx and 5xx per second and since start (Skiff's own replies
/// included; for Bolt and Dubbo, answers relayed and error replies, see `TelemetryFrame.Listener.answered2xx`).
enum ListenerAnswers {
    static func columns(_ rows: [TelemetryFrame.Listener], _ snap: ConsoleSnapshot) -> [Column] {
        var cols: [Column] = []
        let classes: [(String, KeyPath<TelemetryFrame.Listener, UInt64?>)] = [
            ("2xx", \.answered2xx), ("4xx", \.answered4xx), ("5xx", \.answered5xx),
        ]
        for (name, _) in classes {
            let key = { (i: Int) in "listener\(name):\(rows[i].name)" }
            let bad = name != "2xx"
            cols.append(
                Column(
                    name.uppercased() + "/S", 6, .right, key: { .num(snap.rate(key($0)) ?? 0) },
                    role: { bad && (snap.rate(key($0)) ?? 0) > 0 ? .bad : .normal }
                ) { i in rows[i].answered2xx == nil ? "-" : Fmt.rate(snap.rate(key(i))) })
        }
        for (name, path) in classes {
            cols.append(
                Column(name.uppercased(), 6, .right, key: { .num(Double(rows[$0][keyPath: path] ?? 0)) }) { i in
                    rows[i][keyPath: path].map(Fmt.count) ?? "-"
                })
        }
        return cols
    }
}
