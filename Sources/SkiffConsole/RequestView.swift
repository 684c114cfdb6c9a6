import SkiffTelemetry

/// Draws view 9: a line saying what share of requests the samples are (and the filter), then the samples' table.
extension ConsoleRenderer {
    static func requestsView(_ snap: ConsoleSnapshot, _ state: ConsoleState, _ grid: inout Grid, y: Int, height: Int) {
        var title = "live requests  \(snap.requests.samplingText)"
        if !state.filter.isEmpty { title += "  filter: \(state.filter)" }
        if state.paused { title += "  PAUSED (p resumes)" }
        grid.put(x: 0, y: y, title, style: .bold, role: .accent, maxWidth: grid.width)
        let t = ConsoleTables.requests(snap, width: grid.width)
        drawTable(t, state, &grid, x: 0, y: y + 1, width: grid.width, height: height - 1, selectable: true)
    }
}
