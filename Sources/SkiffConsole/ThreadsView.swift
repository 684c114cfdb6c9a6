import SkiffTelemetry

/// Draws view 5: both thread models in depth. From the top: each listener's model and what it costs, the netpoll
/// pollers (selectable), worker shards, then rwloop thread by thread under a line of its totals.
extension ConsoleRenderer {
    static func threadsInDepth(_ snap: ConsoleSnapshot, _ state: ConsoleState, _ grid: inout Grid, y: Int, height: Int) {
        let w = grid.width
        var plain = ConsoleState()
        plain.selected = -1
        var yy = y
        let end = y + height

        let costs = ConsoleTables.listenerCosts(snap)
        grid.put(x: 0, y: yy, "listeners: the two models side by side", style: .bold, role: .accent)
        yy += 1 + max(1, drawTable(costs, plain, &grid, x: 0, y: yy + 1, width: w, height: min(costs.count, 4) + 1,
                                   selectable: false)) + 1

        let pollers = ConsoleTables.pollers(snap)
        grid.put(x: 0, y: yy, "netpoll pollers", style: .bold, role: .accent)
        yy += 1 + max(1, drawTable(pollers, state, &grid, x: 0, y: yy + 1, width: w,
                                   height: min(pollers.count, 4) + 1, selectable: true)) + 1

        let workers = ConsoleTables.workers(snap)
        if workers.count > 0 && yy < end - 3 {
            grid.put(x: 0, y: yy, "workers", style: .bold, role: .accent)
            yy += 1 + max(1, drawTable(workers, plain, &grid, x: 0, y: yy + 1, width: w,
                                       height: min(workers.count, 2) + 1, selectable: false)) + 1
        }

        guard yy < end else { return }
        let rw = snap.latest?.threads.rwloop ?? TelemetryFrame.RWLoop()
        let summary = "rwloop threads  readers \(Fmt.count(rw.readers))  writers \(Fmt.count(rw.writers))  "
            + "connections \(Fmt.count(rw.connections))  spawn fails \(Fmt.count(rw.spawnFailures))"
        grid.put(x: 0, y: yy, summary, style: .bold, role: .accent, maxWidth: w)
        drawTable(ConsoleTables.rwloopThreads(snap), plain, &grid, x: 0, y: yy + 1, width: w, height: end - yy - 1,
                  selectable: false)
    }
}
