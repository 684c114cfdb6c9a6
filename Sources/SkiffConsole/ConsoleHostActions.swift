import SkiffTelemetry

/// `w`: the weight an operator is typing for a host, before it is confirmed.
public struct WeightEntry: Sendable, Equatable {
    public var cluster: String
    public var host: String
    /// The host's weight when `w` was pressed.
    public var current: Int
    public var text = ""
    /// Why the last Enter was refused ("weight must be ..."), shown until the next key.
    public var problem: String?

    /// The prompt line: `weight for c1/10.0.0.3:8080 (now 2, 0-128; 0 = no new traffic): 5_`.
    public var prompt: String {
        let base = "weight for \(cluster)/\(host) (now \(current), 0-128; 0 = no new traffic): \(text)_"
        return problem.map { base + "  \($0)" } ?? base
    }
}

/// Weights the console accepts (the control socket's `host.set_weight` range).
let consoleWeightRange = 0...128

/// The host the keys act on: the details panel's host when it is open, else the selected row's.
func targetHost(_ state: ConsoleState, _ model: ConsoleModel) -> HostRef? {
    if case .host(let cluster, let address)? = state.details { return HostRef(cluster: cluster, address: address) }
    let snap = state.snapshot(model)
    guard let table = ConsoleTables.table(for: state.view, snap) else { return nil }
    let order = ConsoleTables.order(table, state)
    guard !order.isEmpty else { return nil }
    return table.host(order[min(max(0, state.selected), order.count - 1)])
}

/// Whether host actions may start here; sets the status line when not.
private func mayActOnHosts(_ state: inout ConsoleState) -> Bool {
    let hostDetails: Bool
    if case .host? = state.details { hostDetails = true } else { hostDetails = false }
    guard state.view.hasHostActions || hostDetails else { return false }
    if state.readOnly {
        state.status = "read-only: host actions are disabled"
        return false
    }
    return true
}

/// `d`, `m`, `r`, `M`: asks y/n for the selected host.
func hostAction(_ action: String, kill: Bool = false, _ state: inout ConsoleState, _ model: ConsoleModel) -> ConsoleCommand {
    guard mayActOnHosts(&state) else { return .none }
    guard let ref = targetHost(state, model) else {
        state.status = "select a host first"
        return .none
    }
    // The live count, from the latest frame even while paused.
    let active = model.host(cluster: ref.cluster, address: ref.address)?.rqActive ?? 0
    let what = kill ? "maint host \(ref.cluster)/\(ref.address) and close its connections" : "\(action) host \(ref.cluster)/\(ref.address)"
    let text = "\(what) (\(active) active request\(active == 1 ? "" : "s"))? y/n"
    state.pending = PendingAction(cluster: ref.cluster, host: ref.address, state: action, text: text, kill: kill)
    state.status = text
    return .none
}

/// `w`: starts typing a weight for the selected host.
func startWeightEntry(_ state: inout ConsoleState, _ model: ConsoleModel) {
    guard mayActOnHosts(&state) else { return }
    guard let ref = targetHost(state, model) else {
        state.status = "select a host first"
        return
    }
    let current = model.host(cluster: ref.cluster, address: ref.address)?.weight ?? 0
    state.weightEntry = WeightEntry(cluster: ref.cluster, host: ref.address, current: current)
}

/// A key while a weight is typed: digits, Backspace, Enter (checks the range, then asks y/n), Esc cancels.
func weightEntryKey(_ key: Key, _ state: inout ConsoleState, _ model: ConsoleModel) -> ConsoleCommand {
    guard var e = state.weightEntry else { return .none }
    e.problem = nil
    switch key {
    case .char(let c) where c.isASCII && c.isNumber:
        if e.text.count < 4 { e.text.append(c) }
    case .backspace:
        if !e.text.isEmpty { e.text.removeLast() }
    case .escape:
        state.weightEntry = nil
        state.status = "cancelled: weight \(e.cluster)/\(e.host)"
        return .none
    case .enter:
        guard let w = Int(e.text), consoleWeightRange.contains(w) else {
            e.problem =
                e.text.isEmpty ? "type a number" : "weight must be from \(consoleWeightRange.lowerBound) to \(consoleWeightRange.upperBound)"
            state.weightEntry = e
            return .none
        }
        state.weightEntry = nil
        let note = w == 0 ? " (no new traffic)" : ""
        let text = "set weight of \(e.cluster)/\(e.host) \(e.current) -> \(w)\(note)? y/n"
        state.pending = PendingAction(cluster: e.cluster, host: e.host, state: "weight", text: text, weight: w)
        state.status = text
        return .none
    case .resize:
        break
    default:
        e.problem = "digits only; Enter sets, Esc cancels"
    }
    state.weightEntry = e
    return .none
}

/// True when the action takes `host` out of new picks (drain, maint, weight 0) while it is the cluster's last host
/// that is READY, healthy and weighted (`available`): the cluster would be left with nowhere to send requests. From
/// the latest frame, even while the screen is paused.
func leavesClusterWithoutHost(_ p: PendingAction, _ model: ConsoleModel) -> Bool {
    let removes = p.state == "drain" || p.state == "maint" || (p.state == "weight" && p.weight == 0)
    guard removes, let cluster = model.latest?.clusters.first(where: { $0.name == p.cluster }),
        cluster.host(p.host)?.available == true
    else { return false }
    return !cluster.hosts.contains { $0.address != p.host && $0.available }
}

/// The key after a y/n prompt: `y` confirms (or, when the action would leave the cluster with no READY and healthy
/// host, asks again and wants a capital `Y`); anything else cancels.
func confirm(_ key: Key, _ p: PendingAction, _ state: inout ConsoleState, _ model: ConsoleModel) -> ConsoleCommand {
    state.pending = nil
    let word = p.state == "weight" ? "weight \(p.weight ?? 0)" : (p.kill ? "maint (closing connections)" : p.state)
    let yes = p.lastHost ? key == .char("Y") : (key == .char("y") || key == .char("Y"))
    guard yes else {
        state.status = "cancelled: \(word) \(p.cluster)/\(p.host)"
        return .none
    }
    if !p.lastHost && leavesClusterWithoutHost(p, model) {
        var again = p
        again.lastHost = true
        again.text =
            "LAST HOST: \(word) \(p.cluster)/\(p.host) leaves cluster \(p.cluster) with no READY, healthy host; "
            + "its requests will fail. Press Y (capital) to do it, any other key cancels"
        state.pending = again
        state.status = again.text
        return .none
    }
    state.status = "\(word) \(p.cluster)/\(p.host) requested"
    if let w = p.weight, p.state == "weight" { return .setHostWeight(cluster: p.cluster, host: p.host, weight: w) }
    if p.kill { return .setHostMaintClosingConnections(cluster: p.cluster, host: p.host) }
    return .setHostState(cluster: p.cluster, host: p.host, state: p.state)
}
