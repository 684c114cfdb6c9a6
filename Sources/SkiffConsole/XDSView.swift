import SkiffTelemetry

/// The control plane in the console: the Overview's one-line xDS state and the xDS panel under the Listeners table
/// (view 2: LDS is what makes listeners). Both read a frame's `xds`; without it (a file-only skiff) nothing is drawn
/// and the views look as before. Pure: draws into a grid on the console's thread.
extension ConsoleRenderer {
    /// One segment of the Overview line: its text and how it is drawn.
    struct XDSSegment: Equatable {
        var text: String
        var style: CellStyle = []
        var role: ColorRole = .normal
    }

    /// `xds 127.0.0.1:15010 connected · CDS v3 (2) EDS v7 (2) LDS v1 (1) RDS v2 (1) · 1 NACK` (version and resources
    /// per type); a lost stream reads
    /// `disconnected since 12:03:04 (why)` in reverse red, one never opened `connecting`.
    /// On a screen too narrow for all of it the resource counts go first: the NACKs and the connection stay.
    static func xdsOverviewSegments(_ x: TelemetryFrame.XDS, width: Int = .max) -> [XDSSegment] {
        let full = xdsOverviewSegments(x, resources: true)
        return full.reduce(0) { $0 + $1.text.count } <= width ? full : xdsOverviewSegments(x, resources: false)
    }

    static func xdsOverviewSegments(_ x: TelemetryFrame.XDS, resources: Bool) -> [XDSSegment] {
        var out = [XDSSegment(text: "xds ", role: .dim), XDSSegment(text: x.controlPlane + " ", style: .bold)]
        out.append(xdsConnectionSegment(x))
        if !x.connected && !x.lastDisconnect.isEmpty {
            out.append(XDSSegment(text: " (\(Self.clip(x.lastDisconnect, 40)))", role: .bad))
        }
        out.append(XDSSegment(text: " · ", role: .dim))
        let types = x.types.map { "\($0.type) \(xdsVersion($0.version))" + (resources ? " (\($0.resources))" : "") }
        out.append(XDSSegment(text: types.joined(separator: " ")))
        let nacks = x.totalNacks
        if nacks > 0 {
            out.append(XDSSegment(text: " · ", role: .dim))
            out.append(XDSSegment(text: "\(nacks) NACK\(nacks == 1 ? "" : "s")", style: .bold, role: .warn))
        }
        if x.waiting > 0 {
            out.append(XDSSegment(text: " · ", role: .dim))
            out.append(
                XDSSegment(text: "\(x.waiting) listener\(x.waiting == 1 ? "" : "s") waiting", style: .bold, role: .warn))
        }
        return out
    }

    static func xdsConnectionSegment(_ x: TelemetryFrame.XDS) -> XDSSegment {
        if x.connected { return XDSSegment(text: "connected", style: .bold, role: .ok) }
        if x.sinceMs == 0 { return XDSSegment(text: "connecting", style: .bold, role: .warn) }
        return XDSSegment(
            text: "disconnected since \(Fmt.clock(x.sinceMs, millis: false))", style: [.reverse, .bold], role: .bad)
    }

    /// Draws the Overview line at `y`, clipped to the screen.
    static func xdsOverviewLine(_ x: TelemetryFrame.XDS, _ grid: inout Grid, y: Int) {
        var cx = 1
        for s in xdsOverviewSegments(x, width: grid.width - 2) {
            cx += grid.put(x: cx, y: y, s.text, style: s.style, role: s.role, maxWidth: max(0, grid.width - 1 - cx))
        }
    }

    /// `v3` for a numeric version, the control plane's own text otherwise (clipped: some send hashes), `-` before
    /// the first accepted one.
    static func xdsVersion(_ v: String) -> String {
        if v.isEmpty { return "-" }
        if v.allSatisfy(\.isNumber) { return "v" + clip(v, 10) }
        return clip(v, 12)
    }

    static func clip(_ s: String, _ n: Int) -> String { s.count <= n ? s : String(s.prefix(n - 1)) + "…" }

    // MARK: view 2

    /// Rows the xDS panel takes under the Listeners table: a blank line, its title, the table header, a row per type.
    static func xdsPanelRows(_ x: TelemetryFrame.XDS) -> Int { 3 + x.types.count }

    /// View 2: the listeners' table, and under it the xDS panel when the frame has one.
    static func listenersView(_ snap: ConsoleSnapshot, _ state: ConsoleState, _ grid: inout Grid, y: Int, height: Int) {
        let table = ConsoleTables.listeners(snap)
        guard let x = snap.latest?.xds else {
            drawTable(table, state, &grid, x: 0, y: y, width: grid.width, height: height, selectable: true)
            return
        }
        // The listeners keep at least a header and three rows; the panel gives up its last rows first.
        let panel = min(xdsPanelRows(x), max(0, height - 4))
        drawTable(table, state, &grid, x: 0, y: y, width: grid.width, height: height - panel, selectable: true)
        guard panel >= 3 else { return }
        let top = y + height - panel + 1
        let title = xdsPanelTitle(x)
        grid.put(x: 0, y: top, title, style: .bold, role: x.connected ? .accent : .bad, maxWidth: grid.width)
        var plain = ConsoleState()
        plain.selected = -1
        drawTable(
            ConsoleTables.xdsTypes(x), plain, &grid, x: 0, y: top + 1, width: grid.width, height: panel - 2,
            selectable: false)
    }

    /// `xDS  control plane 127.0.0.1:15010  connected since 12:00:01  streams 1  waiting 0`.
    static func xdsPanelTitle(_ x: TelemetryFrame.XDS) -> String {
        var state = xdsConnectionSegment(x).text
        if x.connected && x.sinceMs > 0 { state += " since \(Fmt.clock(x.sinceMs, millis: false))" }
        if !x.connected && !x.lastDisconnect.isEmpty { state += " (\(clip(x.lastDisconnect, 60)))" }
        return "xDS  control plane \(x.controlPlane)  \(state)  streams \(x.connects)  "
            + "listeners waiting \(x.waiting)"
    }
}

extension ConsoleTables {
    /// The xDS panel's table: per resource type the accepted version, resources, pushes, ACKs, NACKs and the last
    /// NACK's error (in red).
    static func xdsTypes(_ x: TelemetryFrame.XDS) -> Table {
        let rows = x.types
        let cols = [
            Column("TYPE", 4) { rows[$0].type },
            Column("VERSION", 12) { rows[$0].version.isEmpty ? "-" : rows[$0].version },
            Column("RESOURCES", 9, .right) { Fmt.count(rows[$0].resources) },
            Column("PUSHES", 6, .right) { Fmt.count(rows[$0].pushes) },
            Column("ACKS", 6, .right) { Fmt.count(rows[$0].acks) },
            Column("NACKS", 5, .right, role: { rows[$0].nacks > 0 ? .warn : .normal }) { Fmt.count(rows[$0].nacks) },
            Column("LAST ERROR", 10, flex: true, role: { _ in .bad }) { rows[$0].lastError },
        ]
        var t = Table(columns: cols, count: rows.count) { rows[$0].type.lowercased() }
        t.sortable = false
        return t
    }
}
