import Synchronization

/// Process-wide tracing counters for `/metrics` (`skiff_tracing_*`): trace contexts Skiff started (the client sent
/// none, or one it would not pass on), calls numbered as children of a traced request, and what tracing could not do.
///
/// Threads: any (atomics; incremented only on those events, never on a request that passes its context on).
public enum TraceCounters {
    /// Contexts started because the request had no trace id.
    public static let startedAbsent = Atomic<UInt64>(0)
    /// Contexts started because the request's trace id or rpc id was malformed (not passed on).
    public static let startedMalformed = Atomic<UInt64>(0)
    /// Client spans numbered as children of an in-flight server span (`R.2`, ...).
    public static let children = Atomic<UInt64>(0)
    /// Bolt requests sent without the context Skiff decided: the edited frame did not fit (header map over 64 KiB).
    public static let editFailed = Atomic<UInt64>(0)
}
