import SkiffTelemetry

/// Draws the model and state into a grid: header, view tabs, the current view, status and key hints.
public enum ConsoleRenderer {
    public static func render(model: ConsoleModel, state: ConsoleState, into grid: inout Grid) {
        grid.fill()
        let w = grid.width
        let h = grid.height
        if w < ConsoleLayout.minWidth || h < ConsoleLayout.minHeight {
            let msg = "terminal too small: need \(ConsoleLayout.minWidth)x\(ConsoleLayout.minHeight), have \(w)x\(h)"
            let x = max(0, (w - msg.count) / 2)
            grid.put(x: x, y: h / 2, msg, style: .bold, role: .warn)
            return
        }
        let snap = state.snapshot(model)
        header(snap, state, &grid)
        tabs(state, &grid)
        let bodyTop = ConsoleLayout.bodyTop
        let bodyHeight = h - bodyTop - 2
        switch state.view {
        case .overview: overview(snap, &grid, y: bodyTop, height: bodyHeight)
        case .listeners: listenersView(snap, state, &grid, y: bodyTop, height: bodyHeight)
        case .threads: threadsInDepth(snap, state, &grid, y: bodyTop, height: bodyHeight)
        case .requests: requestsView(snap, state, &grid, y: bodyTop, height: bodyHeight)
        default:
            if let t = ConsoleTables.table(for: state.view, snap) {
                drawTable(t, state, &grid, x: 0, y: bodyTop, width: w, height: bodyHeight, selectable: true)
            }
        }
        // A lost source: what is shown is stale, and looks it.
        if state.link.isLost { for y in bodyTop..<(h - 2) { grid.addStyle(x: 0, y: y, width: w, .dim) } }
        if let d = state.details { DetailsPanel.draw(d, snap, state, &grid, y: bodyTop, height: bodyHeight) }
        footer(snap, state, &grid)
        if state.helpShown { help(state.view, &grid) }
    }

    // MARK: header, tabs, footer

    static func header(_ snap: ConsoleSnapshot, _ state: ConsoleState, _ grid: inout Grid) {
        let f = snap.latest
        var badges: [String] = []
        if state.readOnly { badges.append(" READ-ONLY ") }
        if state.paused { badges.append(" PAUSED ") }
        let badgeWidth = badges.reduce(0) { $0 + $1.count + 1 }
        if case .lost(let since, _) = state.link {
            grid.fill(y: 0, height: 1, style: .reverse, role: .bad)
            var text = "DISCONNECTED since \(Fmt.clock(since, millis: false)), retrying"
            if let f { text += "  (showing pid \(f.pid) as last seen)" }
            grid.put(x: 1, y: 0, text, style: [.reverse, .bold], role: .bad, maxWidth: grid.width - badgeWidth - 2)
        } else {
            grid.fill(y: 0, height: 1, style: .reverse, role: .header)
            var parts: [String]
            if let f {
                parts = ["skiff \(f.version.isEmpty ? "?" : f.version)", "pid \(f.pid)", "up \(Fmt.ms(f.uptimeMs))"]
                if !f.config.isEmpty { parts.append("config \(f.config)") }
            } else {
                parts = ["skiff", "waiting for the first frame"]
            }
            // The interval frames really arrive at, not the one asked for.
            parts.append("frames every " + (state.arrivalMs.map { Fmt.ms(UInt64($0)) } ?? "-"))
            if snap.missedFrames > 0 { parts.append("missed \(snap.missedFrames) frames") }
            let clock = f.map { Fmt.clock($0.ts, millis: false) } ?? ""
            let room = grid.width - badgeWidth - clock.count - 3
            // Too narrow for all of it: the config path goes first, then the version; pid, uptime and the frame
            // rate stay.
            for dropped in ["config ", "skiff "] where parts.joined(separator: "  ").count > room {
                parts.removeAll { $0.hasPrefix(dropped) && $0 != "skiff" }
            }
            grid.put(
                x: 1, y: 0, parts.joined(separator: "  "), style: [.reverse, .bold], role: .header, maxWidth: room)
            if badges.isEmpty && !clock.isEmpty {
                grid.put(x: grid.width - clock.count - 1, y: 0, clock, style: .reverse, role: .header)
            }
        }
        var x = grid.width - 1
        for b in badges.reversed() {
            x -= b.count
            grid.put(x: x, y: 0, b, style: [.bold], role: b.contains("READ-ONLY") ? .accent : .warn)
            x -= 1
        }
    }

    static func tabs(_ state: ConsoleState, _ grid: inout Grid) {
        let full = ConsoleView.allCases.map { "\($0.rawValue + 1) \($0.title)" }
        let short = ConsoleView.allCases.map { "\($0.rawValue + 1) \($0.shortTitle)" }
        // The short titles fit the narrowest screen drawn (`ConsoleLayout.minWidth`).
        let names = full.joined(separator: " ").count <= grid.width ? full : short
        var x = 0
        for (i, name) in names.enumerated() {
            let current = i == state.view.rawValue
            grid.put(x: x, y: 1, name, style: current ? [.reverse, .bold] : [], role: current ? .accent : .normal)
            x += name.count + 1
        }
    }

    static func hints(_ state: ConsoleState) -> [Hint] {
        if let d = state.details { return DetailsPanel.hints(d, state) }
        var list = [
            Hint("q", "quit"), Hint("?", "help"), Hint("Tab/1-9", "view", shortKey: "1-9", dropRank: 1),
            Hint("↑↓", "move", dropRank: 3), Hint("/", "filter", dropRank: 2), Hint("s", "sort", dropRank: 2),
        ]
        if state.view.hasHostActions && !state.readOnly {
            list += [
                Hint("d", "drain"), Hint("m", "maint"), Hint("M", "maint+kill", short: "kill", dropRank: 2),
                Hint("r", "ready"), Hint("w", "weight", dropRank: 2), Hint("Enter", "details", short: "info", dropRank: 2),
            ]
        }
        if state.view == .events {
            list.append(Hint("c", state.showConnectionEvents ? "hide conns" : "show conns", short: "conns"))
        }
        list += [Hint("p", state.paused ? "resume" : "pause"), Hint("+/-", "refresh", short: "rate", dropRank: 1)]
        return list
    }

    static func footer(_ snap: ConsoleSnapshot, _ state: ConsoleState, _ grid: inout Grid) {
        let statusY = grid.height - 2
        let hintY = grid.height - 1
        if let p = state.pending {
            grid.put(x: 0, y: statusY, p.text, style: .bold, role: p.lastHost ? .bad : .warn)
        } else if let e = state.weightEntry {
            grid.put(x: 0, y: statusY, e.prompt, style: .bold, role: e.problem == nil ? .accent : .bad)
        } else if state.editingFilter {
            grid.put(x: 0, y: statusY, "filter: \(state.filter)_", style: .bold, role: .accent)
        } else {
            var s = state.status
            if !state.filter.isEmpty { s = "filter: \(state.filter)" + (s.isEmpty ? "" : "  " + s) }
            if state.readOnly && s.isEmpty { s = "read-only" }
            // A lost source says why (the same words `skiff ctl` uses) until it is back.
            if case .lost(_, let reason) = state.link, s.isEmpty || s == "reconnected" { s = reason }
            grid.put(
                x: 0, y: statusY, s, role: s.hasPrefix("read-only:") || state.link.isLost ? .bad : .normal,
                maxWidth: grid.width)
        }
        for h in HintBar.fit(hints(state), width: grid.width) {
            grid.put(x: h.x, y: hintY, h.key, style: [.reverse, .bold], role: .header)
            grid.put(x: h.x + h.key.count, y: hintY, " " + h.what)
        }
    }

    static func help(_ view: ConsoleView, _ grid: inout Grid) {
        let keys = [
            "Keys",
            "q        quit (closes help, clears a filter)",
            "? h      this help",
            "Tab 1-8  switch view (Shift-Tab back)",
            "↑↓ j k   move selection; PgUp PgDn Home End",
            "/        filter (Enter applies, Esc clears)",
            "s S      sort column / reverse",
            "p        pause the screen (data keeps coming)",
            "+ -      refresh: 250ms 500ms 1s 2s 5s",
            "c        Events: show/hide connection events",
            "Enter    details of the selected row (Esc closes)",
            "d m r    drain / maint / ready the selected host",
            "M        maint and close the host's connections",
            "w        set the host's weight (0-128, Enter)",
            "         (asks y/n, and Y again if it leaves the",
            "         cluster no READY host; off with --read-only)",
        ]
        let entries = ColumnLegend.entries(for: view)
        let keyW = entries.map(\.0.count).max() ?? 0
        let legend = ["Columns: \(view.title)"] + entries.map { $0.0.padding(to: keyW) + "  " + $0.1 }
        let leftW = keys.map(\.count).max() ?? 0
        let rightW = legend.map(\.count).max() ?? 0
        // Side by side when they fit, else the legend under the keys.
        let sideBySide = leftW + rightW + 7 <= grid.width - 4
        let lines = sideBySide
            ? (0..<max(keys.count, legend.count)).map { i in
                (i < keys.count ? keys[i] : "").padding(to: leftW + 3) + (i < legend.count ? legend[i] : "")
            }
            : keys.count + legend.count + 3 <= grid.height - 4
                ? keys + [""] + legend
                // Too short for both: the columns first (the hint bar already shows the main keys).
                : legend + [""] + keys
        let bw = min(grid.width - 4, (lines.map(\.count).max() ?? 0) + 4)
        let bh = min(grid.height - 4, lines.count + 2)
        let x0 = (grid.width - bw) / 2
        let y0 = (grid.height - bh) / 2
        grid.fill(x: x0, y: y0, width: bw, height: bh)
        grid.put(x: x0, y: y0, "┌" + String(repeating: "─", count: bw - 2) + "┐", role: .accent)
        for y in (y0 + 1)..<(y0 + bh - 1) {
            grid.put(x: x0, y: y, "│", role: .accent)
            grid.put(x: x0 + bw - 1, y: y, "│", role: .accent)
        }
        grid.put(x: x0, y: y0 + bh - 1, "└" + String(repeating: "─", count: bw - 2) + "┘", role: .accent)
        for (i, l) in lines.prefix(bh - 2).enumerated() {
            grid.put(x: x0 + 2, y: y0 + 1 + i, l, style: i == 0 ? .bold : [], maxWidth: bw - 4)
        }
    }

    // MARK: tables

    /// Header, then the visible window of rows; the selected row in reverse video. Returns the rows drawn.
    @discardableResult
    static func drawTable(
        _ t: Table, _ state: ConsoleState, _ grid: inout Grid, x: Int, y: Int, width: Int, height: Int, selectable: Bool
    ) -> Int {
        let order = ConsoleTables.order(t, state)
        // More rows than fit: the header's right end shows the position ("1-34/278"), so the columns leave it room.
        let positionRoom = order.count > max(0, height - 1) ? "\(order.count)-\(order.count)/\(order.count)".count + 1 : 0
        let cols = ColumnLayout.placed(
            t, order: order, state: state, width: width - positionRoom, visibleRows: max(0, height - 1)
        ).map { ($0.col, $0.x, $0.w) }
        for (i, cx, cw) in cols {
            var title = t.columns[i].title
            if t.sortable, selectable, state.sortColumn == i { title += state.sortReversed ? "▼" : "▲" }
            put(&grid, x: x + cx, y: y, w: cw, title, t.columns[i].align, style: [.bold, .underline], role: .header)
        }
        let visible = max(0, height - 1)
        if order.isEmpty {
            let msg = state.filter.isEmpty ? "(nothing to show)" : "(no rows match \"\(state.filter)\")"
            grid.put(x: x + 1, y: y + 1, msg, role: .dim, maxWidth: width - 1)
            return 0
        }
        let selected = min(max(0, state.selected), order.count - 1)
        var scroll = min(max(0, state.scroll), max(0, order.count - visible))
        if selected < scroll { scroll = selected }
        if selected >= scroll + visible { scroll = selected - visible + 1 }
        let end = min(order.count, scroll + visible)
        for (line, pos) in (scroll..<end).enumerated() {
            let r = order[pos]
            let yy = y + 1 + line
            let rowRole = t.rowRole?(r) ?? .normal
            if let text = t.span?(r) {
                grid.put(x: x, y: yy, text, role: rowRole, maxWidth: width)
            } else { for (i, cx, cw) in cols {
                let c = t.columns[i]
                put(&grid, x: x + cx, y: yy, w: cw, c.cell(r), c.align, role: c.role?(r) ?? rowRole)
            } }
            if selectable && pos == selected { grid.addStyle(x: x, y: yy, width: width, .reverse) }
        }
        if order.count > visible {
            let more = "\(scroll + 1)-\(end)/\(order.count)"
            grid.put(x: x + width - more.count, y: y, more, role: .dim)
        }
        return end - scroll
    }

    static func put(
        _ grid: inout Grid, x: Int, y: Int, w: Int, _ s: String, _ align: Alignment, style: CellStyle = [],
        role: ColorRole = .normal
    ) {
        var text = s
        if text.count > w { text = w > 1 ? String(text.prefix(w - 1)) + "…" : String(text.prefix(w)) }
        let pad = align == .right ? w - text.count : 0
        grid.put(x: x + pad, y: y, text, style: style, role: role, maxWidth: w)
    }

    // MARK: Overview

    static func overview(_ snap: ConsoleSnapshot, _ grid: inout Grid, y: Int, height: Int) {
        let w = grid.width
        var yy = y
        guard let f = snap.latest else {
            grid.put(x: 1, y: yy, "waiting for the first frame…", role: .dim)
            return
        }
        let activeCx = f.listeners.reduce(0) { $0 + $1.cxActive }
        let activeRq = f.listeners.reduce(0) { $0 + ($1.rqActive ?? 0) }
        let p99 = snap.windowP99Us.map(Fmt.us) ?? "-"
        let windowText = Fmt.window(snap.windowMs)
        let totals: [(String, String, ColorRole)] = [
            ("RPS", Fmt.rate(snap.totalRPS), .accent), ("active cx", Fmt.count(activeCx), .normal),
            ("active rq", Fmt.count(activeRq), .normal),
            ("5xx", Fmt.rate(snap.total5xx), snap.total5xx > 0 ? .bad : .ok), ("p99 (\(windowText))", p99, .normal),
        ]
        var x = 1
        for (label, value, role) in totals {
            x += grid.put(x: x, y: yy, label + " ", role: .dim)
            x += grid.put(x: x, y: yy, value, style: .bold, role: role) + 3
        }
        // The control plane's state right under the totals, so a lost stream or a NACK is seen first (XDSView.swift).
        if let xds = f.xds {
            yy += 1
            xdsOverviewLine(xds, &grid, y: yy)
        }
        yy += 2
        let labelW = 18
        let sparkW = max(10, w - labelW - 12)
        func sparkLine(_ label: String, _ values: [Double], _ now: String, role: ColorRole = .accent) {
            guard yy < y + height else { return }
            grid.put(x: 1, y: yy, label, maxWidth: labelW - 1)
            grid.put(x: labelW, y: yy, Fmt.spark(values, width: sparkW), role: role)
            grid.put(x: labelW + sparkW + 1, y: yy, now, style: .bold)
            yy += 1
        }
        let hist = snap.history
        sparkLine("RPS", hist.map(\.rps), Fmt.rate(snap.totalRPS))
        sparkLine("5xx/s", hist.map(\.errors5xx), Fmt.rate(snap.total5xx), role: .bad)
        for c in f.clusters {
            sparkLine(
                "p99 \(c.name)", hist.map { $0.p99Us[c.name] ?? 0 },
                Fmt.latency(snap.windowLatency(cluster: c.name), \.p99Us), role: .warn)
        }
        for l in f.listeners {
            sparkLine("rps \(l.name)", hist.map { $0.listenerRPS[l.name] ?? 0 }, Fmt.rate(snap.rate("listener:\(l.name)")))
        }
        yy += 1
        guard yy < y + height else { return }
        // Health summary.
        var counts: [String: Int] = ["UP": 0, "DOWN": 0, "DRAIN": 0, "MAINT": 0]
        for c in f.clusters {
            for h in c.hosts {
                counts[h.health.hasPrefix("UP") ? "UP" : "DOWN", default: 0] += 1
                if h.admin == "DRAIN" || h.admin == "DRAINED" { counts["DRAIN", default: 0] += 1 }
                if h.admin == "MAINT" { counts["MAINT", default: 0] += 1 }
            }
        }
        x = 1
        x += grid.put(x: x, y: yy, "hosts ", role: .dim)
        for (k, role) in [("UP", ColorRole.ok), ("DOWN", .bad), ("DRAIN", .warn), ("MAINT", .dim)] {
            x += grid.put(x: x, y: yy, "\(counts[k] ?? 0) \(k)", style: .bold, role: (counts[k] ?? 0) > 0 ? role : .normal) + 2
        }
        yy += 1
        guard yy < y + height else { return }
        // Thread models.
        let t = f.threads
        let groups = Set(t.pollers.map(\.group)).count
        let rw = t.rwloop
        let models = Set(f.listeners.map(\.model)).sorted().joined(separator: "+")
        grid.put(
            x: 1, y: yy,
            "threads [\(models.isEmpty ? "-" : models)]  netpoll \(t.pollers.count) pollers/\(groups) group\(groups == 1 ? "" : "s") "
                + "\(t.workers.count) workers  rwloop \(rw.readers) readers \(rw.writers) writers "
                + "\(rw.connections) cx",
            maxWidth: w - 2)
        yy += 1
        if yy < y + height {
            grid.put(
                x: 1, y: yy,
                "connections  live \(Fmt.count(f.connections?.live ?? 0)), tracked \(Fmt.count(snap.connections.count))   events \(snap.events.count)"
                    + (snap.missedEvents > 0 ? " (missed \(snap.missedEvents))" : ""),
                role: .dim, maxWidth: w - 2)
        }
    }
}
