import Synchronization

/// Counters a listener owns, updated by its accepting threads and its connections' close paths.
public final class ListenerStats: Sendable {
    public let accepted = Atomic<UInt64>(0)
    public let active = Atomic<Int>(0)
    /// Accepted and closed at once because `max_connections` was reached.
    public let refusedOverLimit = Atomic<UInt64>(0)
    /// accept() failures (EMFILE, ENFILE, ENOBUFS ...), each followed by a back-off.
    public let acceptErrors = Atomic<UInt64>(0)
    public let closed = Atomic<UInt64>(0)

    public init() {}
}
