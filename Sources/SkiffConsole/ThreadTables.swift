import SkiffTelemetry

/// View 5's tables beyond pollers and workers: rwloop thread by thread, and the two models' costs per listener.
extension ConsoleTables {
    /// Events per wake-up of a poller over the last frame interval ("-" without wake-ups).
    static func eventsPerWakeup(_ snap: ConsoleSnapshot, _ p: TelemetryFrame.Poller) -> String {
        guard let w = snap.rate("poller:\(p.id)"), w > 0, let e = snap.rate("pollerev:\(p.id)") else { return "-" }
        return Fmt.one(e / w)
    }

    /// One row per rwloop thread: `reader` or `writer`, its connection, what it is doing, CPU and bytes.
    static func rwloopThreads(_ snap: ConsoleSnapshot) -> Table {
        let rows = snap.latest?.threads.rwloop.threads ?? []
        let cols = [
            Column("TID", 7, .right) { "\(rows[$0].tid)" },
            Column("ROLE", 6, role: { rows[$0].role == "reader" ? .accent : .normal }) { rows[$0].role },
            Column("CONN", 5, .right) { "\(rows[$0].conn)" },
            Column("OWNER", 10) { rows[$0].owner },
            Column("PEER", 21) { rows[$0].peer },
            Column("STATE", 15, role: { rows[$0].state == "idle" ? .dim : .normal }) { rows[$0].state },
            Column("CPU", 7, .right) { Fmt.ms(rows[$0].cpuMs) },
            Column("BYTES", 7, .right) { Fmt.bytes(rows[$0].bytes) },
        ]
        return Table(columns: cols, count: rows.count) {
            "\(rows[$0].role) \(rows[$0].owner) \(rows[$0].peer) \(rows[$0].state)".lowercased()
        }
    }

    /// Per listener, the thread model's price over the last frame interval: CPU and syscalls per request, buffers
    /// per writev, memory per connection.
    static func listenerCosts(_ snap: ConsoleSnapshot) -> Table {
        let rows = snap.latest?.threads.listeners ?? []
        let prev = Dictionary(
            (snap.previous?.threads.listeners ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func per(_ i: Int, _ value: (TelemetryFrame.ListenerCost) -> UInt64, scale: Double = 1) -> String {
            guard let p = prev[rows[i].name], rows[i].requests > p.requests else { return "-" }
            let dv = Double(value(rows[i]) &- value(p))
            return Fmt.one(dv * scale / Double(rows[i].requests - p.requests))
        }
        let cols = [
            Column("LISTENER", 14) { rows[$0].name },
            Column("MODEL", 7) { rows[$0].model },
            Column("CX", 5, .right) { Fmt.count(rows[$0].connections) },
            Column("THREADS", 7, .right) { Fmt.count(rows[$0].threads) },
            Column("CPU µs/RQ", 9, .right) { per($0, { $0.cpuMs }, scale: 1000) },
            Column("SYSC/RQ", 7, .right) { per($0, { $0.syscalls }) },
            Column("B/WV", 5, .right) {
                rows[$0].writev == 0 ? "-" : Fmt.one(Double(rows[$0].buffers) / Double(rows[$0].writev))
            },
            Column("MEM/CX", 7, .right) { rows[$0].connections == 0 ? "-" : Fmt.bytes(rows[$0].memPerCx) },
        ]
        return Table(columns: cols, count: rows.count) { "\(rows[$0].name) \(rows[$0].model)".lowercased() }
    }
}
