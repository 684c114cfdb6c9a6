import SkiffTelemetry

/// What the details panel shows (Enter on a row): a host, a listener or a connection, by identity, so the panel
/// follows the live data as frames arrive (and says so when the thing is gone).
public enum DetailsTarget: Sendable, Equatable {
    case host(cluster: String, address: String)
    case listener(String)
    case cluster(String)
    case connection(UInt64)
}

/// One line of the panel.
struct DetailLine: Equatable {
    var text: String
    var role: ColorRole = .normal
    /// A section title.
    var heading = false

    static func heading(_ t: String) -> DetailLine { DetailLine(text: t, role: .accent, heading: true) }
    static let blank = DetailLine(text: "")
}

/// The details panel: its content (pure, from a snapshot), its keys and its drawing over the view's body.
/// Confined to the console's thread like the rest of the console state.
enum DetailsPanel {
    /// Title and lines for `target` in `snap`.
    static func content(_ target: DetailsTarget, _ snap: ConsoleSnapshot) -> (title: String, lines: [DetailLine]) {
        switch target {
        case .host(let cluster, let address):
            return ("host \(cluster)/\(address)", hostLines(cluster: cluster, address: address, snap))
        case .listener(let name):
            return ("listener \(name)", listenerLines(name, snap))
        case .cluster(let name):
            return ("cluster \(name)", clusterLines(name, snap))
        case .connection(let id):
            return ("connection \(id)", connectionLines(id, snap))
        }
    }

    /// The panel's text as plain lines (title first), for tests and the plain renderer.
    static func text(_ target: DetailsTarget, _ snap: ConsoleSnapshot) -> [String] {
        let c = content(target, snap)
        return [c.title] + c.lines.map(\.text)
    }

    /// Draws the panel over the body (rows `y ..< y + height`), scrolled by `state.detailsScroll`.
    static func draw(_ target: DetailsTarget, _ snap: ConsoleSnapshot, _ state: ConsoleState, _ grid: inout Grid, y: Int, height: Int) {
        let w = grid.width
        guard height >= 3 else { return }
        let (title, lines) = content(target, snap)
        grid.fill(x: 0, y: y, width: w, height: height)
        let top = "┌─ " + title + " " + String(repeating: "─", count: max(0, w - title.count - 5)) + "┐"
        grid.put(x: 0, y: y, top, style: .bold, role: .accent, maxWidth: w)
        let bottomY = y + height - 1
        for yy in (y + 1)..<bottomY {
            grid.put(x: 0, y: yy, "│", role: .accent)
            grid.put(x: w - 1, y: yy, "│", role: .accent)
        }
        let inner = height - 2
        let scroll = min(max(0, state.detailsScroll), max(0, lines.count - inner))
        let more = lines.count > inner ? " \(scroll + 1)-\(min(lines.count, scroll + inner))/\(lines.count) ↑↓ " : ""
        let bottom = "└" + String(repeating: "─", count: max(0, w - 2 - more.count)) + more + "┘"
        grid.put(x: 0, y: bottomY, bottom, role: .accent, maxWidth: w)
        for (i, l) in lines.dropFirst(scroll).prefix(inner).enumerated() {
            grid.put(x: 2, y: y + 1 + i, l.text, style: l.heading ? .bold : [], role: l.role, maxWidth: w - 4)
        }
    }

    /// Key hints while the panel is open.
    static func hints(_ target: DetailsTarget, _ state: ConsoleState) -> [Hint] {
        var list = [Hint("Esc", "close"), Hint("↑↓", "scroll", dropRank: 2)]
        if case .host = target, !state.readOnly {
            list += [
                Hint("d", "drain"), Hint("m", "maint"), Hint("M", "maint+kill", short: "kill", dropRank: 1),
                Hint("r", "ready"), Hint("w", "weight"),
            ]
        }
        return list
    }
}

/// Enter: opens the panel for the selected row of the current view.
func openDetails(_ state: inout ConsoleState, _ model: ConsoleModel) {
    let snap = state.snapshot(model)
    guard let table = ConsoleTables.table(for: state.view, snap) else {
        state.status = "no details in this view"
        return
    }
    let order = ConsoleTables.order(table, state)
    guard !order.isEmpty else { return }
    let row = order[min(max(0, state.selected), order.count - 1)]
    var target: DetailsTarget?
    switch state.view {
    case .clusters, .health:
        if let ref = table.host(row) {
            target = .host(cluster: ref.cluster, address: ref.address)
        } else if state.view == .clusters, case .cluster(let c) = ConsoleTables.clusterTree(snap)[row] {
            target = .cluster(c.name)
        }
    case .listeners:
        if let l = snap.latest?.listeners, row < l.count { target = .listener(l[row].name) }
    case .writes:
        // Listener rows come first, then clusters (ConsoleTables.writes).
        let listeners = snap.latest?.listeners ?? []
        let clusters = snap.latest?.clusters ?? []
        if row < listeners.count {
            target = .listener(listeners[row].name)
        } else if row - listeners.count < clusters.count {
            target = .cluster(clusters[row - listeners.count].name)
        }
    case .connections:
        let rows = ConsoleTables.connectionRows(snap)
        if row < rows.count { target = .connection(rows[row].id) }
    default:
        break
    }
    guard let target else {
        state.status = state.view.hasHostActions ? "select a host for its details" : "no details for this row"
        return
    }
    state.details = target
    state.detailsScroll = 0
}

/// A key while the panel is open: Esc, Enter and `q` close it, arrows scroll; a view switch closes it and goes on.
/// Nil: the key is not the panel's (host actions act on the panel's host).
func detailsKey(_ key: Key, _ state: inout ConsoleState, _ model: ConsoleModel) -> ConsoleCommand? {
    // The panel's inner rows: the body less its two border lines.
    let page = max(1, state.screenHeight - ConsoleLayout.bodyTop - 2 - 2)
    switch key {
    case .escape, .enter, .char("q"):
        state.details = nil
        state.detailsScroll = 0
        state.status = ""
        return ConsoleCommand.none
    case .up, .char("k"): state.detailsScroll = max(0, state.detailsScroll - 1)
    case .down, .char("j"): state.detailsScroll += 1
    case .pageUp: state.detailsScroll = max(0, state.detailsScroll - page)
    case .pageDown: state.detailsScroll += page
    case .home: state.detailsScroll = 0
    case .tab, .backTab, .char("1"), .char("2"), .char("3"), .char("4"), .char("5"), .char("6"), .char("7"),
        .char("8"), .char("9"):
        state.details = nil
        state.detailsScroll = 0
        return nil
    default:
        return nil
    }
    // Scrolling stops at the last page.
    if let t = state.details {
        let count = DetailsPanel.content(t, state.snapshot(model)).lines.count
        state.detailsScroll = min(state.detailsScroll, max(0, count - page))
    }
    return ConsoleCommand.none
}

extension String {
    /// Padded with spaces to `width` characters (never cut).
    func padRight(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
