/// Keys the console understands (the terminal layer translates ncurses codes).
public enum Key: Sendable, Equatable {
    case char(Character)
    case up, down, pageUp, pageDown, home, end, tab, backTab, enter, escape, backspace, resize
}

/// What the caller must do after a key.
public enum ConsoleCommand: Sendable, Equatable {
    case none
    case quit
    case setHostState(cluster: String, host: String, state: String)
    /// `M`: MAINT closing the host's connections (`ctl maint --kill`).
    case setHostMaintClosingConnections(cluster: String, host: String)
    /// `w`: a new load-balancing weight.
    case setHostWeight(cluster: String, host: String, weight: Int)
    case refresh(ms: Int)
}

/// Applies one key to the state. Pure apart from reading the model.
public func handle(_ key: Key, state: inout ConsoleState, model: ConsoleModel) -> ConsoleCommand {
    // Nothing is drawn but "terminal too small": no key may act on what the operator cannot see.
    if state.isTooSmall { return key == .char("q") ? .quit : .none }
    // A pending confirmation takes the next key, whatever it is; so does a weight being typed.
    if let p = state.pending { return confirm(key, p, &state, model) }
    if state.weightEntry != nil { return weightEntryKey(key, &state, model) }
    if state.details != nil, let handled = detailsKey(key, &state, model) { return handled }
    if state.editingFilter {
        switch key {
        case .char(let c): state.filter.append(c)
        case .backspace: if !state.filter.isEmpty { state.filter.removeLast() }
        case .enter: state.editingFilter = false
        case .escape:
            state.editingFilter = false
            state.filter = ""
        default: break
        }
        state.selected = 0
        state.scroll = 0
        return .none
    }
    if state.helpShown {
        switch key {
        case .char("q"), .char("?"), .char("h"), .escape, .enter: state.helpShown = false
        case .resize: break
        default: state.helpShown = false
        }
        return .none
    }
    state.status = ""
    switch key {
    case .char("q"):
        if !state.filter.isEmpty {
            state.filter = ""
            return .none
        }
        return .quit
    case .escape:
        state.filter = ""
    case .char("?"), .char("h"):
        state.helpShown = true
    case .tab:
        switchView(&state, ConsoleView(rawValue: (state.view.rawValue + 1) % ConsoleView.allCases.count)!)
    case .backTab:
        let n = ConsoleView.allCases.count
        switchView(&state, ConsoleView(rawValue: (state.view.rawValue + n - 1) % n)!)
    case .char(let c) where c >= "1" && c <= "9":
        switchView(&state, ConsoleView(rawValue: Int(String(c))! - 1)!)
    case .up, .char("k"): move(&state, model, by: -1)
    case .down, .char("j"): move(&state, model, by: 1)
    case .pageUp: move(&state, model, by: -state.pageRows)
    case .pageDown: move(&state, model, by: state.pageRows)
    case .home: move(&state, model, to: 0)
    case .end: move(&state, model, to: Int.max / 2)
    case .char("/"):
        state.editingFilter = true
    case .char("s"):
        let n = ConsoleTables.table(for: state.view, state.snapshot(model))?.columns.count ?? 0
        if n == 0 { break }
        if let c = state.sortColumn { state.sortColumn = c + 1 < n ? c + 1 : nil } else { state.sortColumn = 0 }
        state.status = state.sortColumn.map { "sort: column \($0 + 1)" } ?? "sort: natural order"
    case .char("S"):
        state.sortReversed.toggle()
    case .char("p"), .char(" "):
        state.paused.toggle()
        state.frozen = state.paused ? model.snapshot : nil
        state.status = state.paused ? "paused (frames still arrive; p resumes)" : ""
    case .char("+"):
        state.refreshMs = ConsoleState.refreshSteps.last { $0 < state.refreshMs } ?? ConsoleState.refreshSteps[0]
        return .refresh(ms: state.refreshMs)
    case .char("-"):
        state.refreshMs = ConsoleState.refreshSteps.first { $0 > state.refreshMs } ?? ConsoleState.refreshSteps.last!
        return .refresh(ms: state.refreshMs)
    case .char("c") where state.view == .events:
        state.showConnectionEvents.toggle()
        state.status = state.showConnectionEvents ? "connection events shown (c hides)" : "connection events hidden (c shows)"
        move(&state, model, to: Int.max / 2)
    case .char("d"): return hostAction("drain", &state, model)
    case .char("m"): return hostAction("maint", &state, model)
    case .char("r"): return hostAction("ready", &state, model)
    case .char("M"): return hostAction("maint", kill: true, &state, model)
    case .char("w"): startWeightEntry(&state, model)
    case .enter: openDetails(&state, model)
    case .resize:
        move(&state, model, by: 0)
    default: break
    }
    return .none
}

private func switchView(_ state: inout ConsoleState, _ view: ConsoleView) {
    guard view != state.view else { return }
    state.positions[state.view] = ViewPosition(
        selected: state.selected, scroll: state.scroll, sortColumn: state.sortColumn, sortReversed: state.sortReversed)
    state.view = view
    let back = state.positions[view]
    state.selected = back?.selected ?? (view == .events ? Int.max / 2 : 0)
    state.scroll = back?.scroll ?? 0
    state.filter = ""
    state.sortColumn = back?.sortColumn
    state.sortReversed = back?.sortReversed ?? false
}

private func move(_ state: inout ConsoleState, _ model: ConsoleModel, by delta: Int = 0, to target: Int? = nil) {
    let count = ConsoleTables.rowCount(state.view, state.snapshot(model), state)
    var s = min(target ?? (min(state.selected, max(0, count - 1)) + delta), count - 1)
    s = max(0, s)
    state.selected = s
    let page = state.pageRows
    if s < state.scroll { state.scroll = s }
    if s >= state.scroll + page { state.scroll = s - page + 1 }
    state.scroll = max(0, min(state.scroll, max(0, count - page)))
}
