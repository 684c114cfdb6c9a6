/// Where each column of a table goes at a given width: widths come from the content (the title and the longest cell
/// of the rows measured), so names are not cut while space is left over; when the table is wider than the screen,
/// columns with the highest `dropRank` (then the rightmost) are left out first, never the first column; a flex
/// column takes what is left. Pure; the renderer calls it on the console's thread.
enum ColumnLayout {
    /// No column is made wider than this by its content (a long field list is cut, not the table).
    static let maxNaturalWidth = 48
    /// Past this many rows only the rows on screen are measured (a 10,000-connection table stays cheap to draw).
    static let measureAllUpTo = 2000
    /// What a flex column claims while columns are fitted; it grows into the space left over.
    static let flexFitWidth = 12

    struct Placed: Equatable {
        var col: Int
        var x: Int
        var w: Int
    }

    /// The width each column's content needs: its title (plus a sort mark) and its longest cell among `rows`.
    static func naturalWidths(_ cols: [Column], rows: [Int], sortMark: Int? = nil) -> [Int] {
        cols.enumerated().map { i, c in
            // Numbers keep their declared width as a floor, so a column does not jump as its values change.
            var w = max(c.title.count + (sortMark == i ? 1 : 0), c.align == .right ? c.width : 0)
            // A flex column (free text at the end) claims little when fitting; it takes what is left after.
            let cap = c.flex ? flexFitWidth : maxNaturalWidth
            for r in rows { w = max(w, min(cap, c.cell(r).count)) }
            return max(1, w)
        }
    }

    /// Places the columns in `width` cells, one space apart.
    static func fit(_ cols: [Column], natural: [Int], width: Int) -> [Placed] {
        guard !cols.isEmpty, width > 0 else { return [] }
        var kept = Array(cols.indices)
        func total() -> Int { kept.reduce(0) { $0 + natural[$1] } + max(0, kept.count - 1) }
        while total() > width && kept.count > 1 {
            // Highest drop rank first; among equals the rightmost; the first column stays.
            let candidates = kept.dropFirst()
            let victim = candidates.max { a, b in
                cols[a].dropRank != cols[b].dropRank ? cols[a].dropRank < cols[b].dropRank : a < b
            }!
            kept.removeAll { $0 == victim }
        }
        var widths = kept.map { natural[$0] }
        var over = total() - width
        // Still too wide (one or two essential columns on a narrow screen): the widest columns give way.
        while over > 0, let widest = widths.indices.max(by: { widths[$0] < widths[$1] }), widths[widest] > 3 {
            widths[widest] -= 1
            over -= 1
        }
        // Space left over goes to the flex column (the last field list, the streak).
        if over < 0, let flex = kept.firstIndex(where: { cols[$0].flex }) { widths[flex] += -over }
        var out: [Placed] = []
        var x = 0
        for (k, i) in kept.enumerated() {
            let w = min(widths[k], width - x)
            if w <= 0 { break }
            out.append(Placed(col: i, x: x, w: w))
            x += w + 1
        }
        return out
    }
}

extension ColumnLayout {
    /// The columns of `t` placed for its rows in `order` (all of them measured, or only the window on screen for a
    /// long table).
    static func placed(_ t: Table, order: [Int], state: ConsoleState, width: Int, visibleRows: Int) -> [Placed] {
        var measured = order
        if order.count > measureAllUpTo {
            let start = min(max(0, state.scroll), max(0, order.count - visibleRows))
            measured = Array(order[start..<min(order.count, start + visibleRows)])
        }
        let mark = t.sortable ? state.sortColumn : nil
        return fit(t.columns, natural: naturalWidths(t.columns, rows: measured, sortMark: mark), width: width)
    }
}
