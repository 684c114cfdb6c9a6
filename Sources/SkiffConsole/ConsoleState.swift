/// The console's nine views, in tab order (keys 1-9).
public enum ConsoleView: Int, CaseIterable, Sendable {
    case overview, listeners, clusters, connections, threads, writes, health, events, requests

    public var title: String {
        switch self {
        case .overview: return "Overview"
        case .listeners: return "Listeners"
        case .clusters: return "Clusters"
        case .connections: return "Connections"
        case .threads: return "Threads"
        case .writes: return "Writes"
        case .health: return "Health"
        case .events: return "Events"
        case .requests: return "Requests"
        }
    }

    /// For the tab bar when the full titles do not fit (nine short ones fit in 80 columns).
    var shortTitle: String {
        switch self {
        case .listeners: return "Listen"
        case .connections: return "Conns"
        case .threads: return "Thrds"
        case .requests: return "Reqs"
        default: return title
        }
    }
    /// Views whose selected row can be a host (`d`, `m`, `r`).
    public var hasHostActions: Bool { self == .clusters || self == .health }
}

/// A host action waiting for `y`.
public struct PendingAction: Sendable, Equatable {
    public var cluster: String
    public var host: String
    /// `drain`, `maint`, `ready`, or `weight` (then `weight` holds the number).
    public var state: String
    /// "drain host c1/10.0.0.3:8080 (2 active requests)? y/n".
    public var text: String
    /// `M`: MAINT that also closes the host's connections.
    public var kill = false
    /// `w`: the weight to set.
    public var weight: Int?
    /// The second, explicit confirmation (capital `Y`): the action leaves the cluster with no READY, healthy host.
    public var lastHost = false
}

/// Everything about the console that is not data: which view, selection, filter, sort, pause, refresh, prompts.
public struct ConsoleState: Sendable {
    public static let refreshRange = 250...5000
    /// What `+` and `-` step through, in milliseconds.
    public static let refreshSteps = [250, 500, 1000, 2000, 5000]

    public var view: ConsoleView = .overview
    /// Index into the current view's (filtered, sorted) rows.
    public var selected = 0
    /// First visible row.
    public var scroll = 0
    public var filter = ""
    public var editingFilter = false
    /// Sort column of the current view; nil keeps the natural order.
    public var sortColumn: Int?
    public var sortReversed = false
    /// The screen shows `frozen` while paused; the model keeps ingesting.
    public var paused = false
    public var frozen: ConsoleSnapshot?
    public var refreshMs = 1000
    public var readOnly = false
    public var helpShown = false
    public var status = ""
    public var pending: PendingAction?
    /// `w`: the weight being typed (ConsoleHostActions.swift).
    public var weightEntry: WeightEntry?
    /// Enter: the details panel over the view, and how far it is scrolled (DetailsPanel.swift).
    public var details: DetailsTarget?
    public var detailsScroll = 0
    /// The terminal size (the caller sets it on resize); paging uses it.
    public var screenWidth = 100
    public var screenHeight = 30
    /// Whether frames arrive (the runner sets it from its source).
    public var link: ConsoleLink = .attached
    /// The interval frames really arrive at (ms), measured by the runner; nil until two frames came.
    public var arrivalMs: Int?
    /// Where the selection stood in each view left (restored on return).
    public var positions: [ConsoleView: ViewPosition] = [:]
    /// Events view: connection open/close events shown (`c` toggles).
    public var showConnectionEvents = false

    public init(readOnly: Bool = false, refreshMs: Int = 1000) {
        self.readOnly = readOnly
        self.refreshMs = Self.refreshSteps.min { abs($0 - refreshMs) < abs($1 - refreshMs) } ?? 1000
    }

    /// Below the minimum size only "terminal too small" is drawn, and no key but `q` acts.
    public var isTooSmall: Bool { screenWidth < ConsoleLayout.minWidth || screenHeight < ConsoleLayout.minHeight }

    /// Table rows visible in the body (header, tabs, table header, status and hint lines excluded).
    public var pageRows: Int { max(1, screenHeight - ConsoleLayout.reservedRows - (view == .threads || view == .requests ? 1 : 0)) }

    /// What to draw: the frozen snapshot while paused, else the model's.
    public func snapshot(_ model: ConsoleModel) -> ConsoleSnapshot {
        var snap = paused ? (frozen ?? model.snapshot) : model.snapshot
        if !showConnectionEvents { snap.events.removeAll { $0.kind.hasPrefix(EventSeverity.connectionPrefix) } }
        return snap
    }
}

enum ConsoleLayout {
    static let minWidth = 80
    static let minHeight = 24
    /// Header, tabs, table header, status, hints.
    static let reservedRows = 5
    static let bodyTop = 2
}
