/// Whether frames reach the console: attached, or lost since a wall-clock time (the header turns red, the data is
/// dimmed) while the source retries. Set by the runner from its source; a value in `ConsoleState`.
public enum ConsoleLink: Sendable, Equatable {
    case attached
    /// Lost at `sinceMs` (wall clock, ms since the epoch); `reason` is what the source last said.
    case lost(sinceMs: UInt64, reason: String)

    public var isLost: Bool { self != .attached }

    /// The next link after the source reported `problem` (nil: attached) at `nowMs`: a loss keeps its first time.
    public func next(problem: String?, nowMs: UInt64) -> ConsoleLink {
        guard let problem else { return .attached }
        if case .lost(let since, _) = self { return .lost(sinceMs: since, reason: problem) }
        return .lost(sinceMs: nowMs, reason: problem)
    }
}

/// Where the selection stood in one view, and its sort, restored when the operator comes back to it.
public struct ViewPosition: Sendable, Equatable {
    public var selected: Int
    public var scroll: Int
    public var sortColumn: Int?
    public var sortReversed: Bool
}

/// The interval frames really arrive at: the mean gap over the last few frames (monotonic milliseconds). The
/// header shows it, not the interval asked for. Owned by the console's thread.
public struct FrameArrivals: Sendable {
    public static let window = 6
    private var times: [UInt64] = []

    public init() {}

    public mutating func arrived(atMs t: UInt64) {
        times.append(t)
        if times.count > Self.window { times.removeFirst(times.count - Self.window) }
    }

    /// Forgets what was measured (the source reconnected, or a different rate was asked for).
    public mutating func reset() { times.removeAll() }

    /// Mean gap in ms, nil until two frames came.
    public var intervalMs: Int? {
        guard let first = times.first, let last = times.last, times.count >= 2 else { return nil }
        return Int((last - first) / UInt64(times.count - 1))
    }
}
