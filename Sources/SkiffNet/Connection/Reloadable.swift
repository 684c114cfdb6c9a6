import Synchronization

/// A value a reload replaces while I/O threads keep reading it: route tables and the clusters they resolve to.
///
/// The hot path pays one relaxed atomic load: each executor keeps its own copy of the value with the generation it
/// was taken at, and only when the generation has moved (once per executor per reload) does it take the mutex to
/// fetch the new value. Pollers never write a shared line or take a shared lock on the way.
///
/// Whoever holds the old value (a request in flight, a tcp session) keeps it alive and finishes with it; new work
/// sees the new one.
///
/// ```swift
/// let routes = Reloadable(table)
/// let t = routes.value(on: executor)   // per request: one relaxed load
/// routes.replace(newTable)             // a reload: from any thread
/// ```
public final class Reloadable<T: AnyObject & Sendable>: @unchecked Sendable {
    private final class Cached {
        var generation: UInt64
        var value: T
        init(_ generation: UInt64, _ value: T) {
            self.generation = generation
            self.value = value
        }
    }

    private let generation = Atomic<UInt64>(1)
    private let current: Mutex<(UInt64, T)>
    private let perExecutor = ExecutorLocal<Cached>()

    public init(_ value: T) { current = Mutex((1, value)) }

    /// The value as `executor` sees it; call only on `executor`.
    @inline(__always)
    public func value(on executor: any EventExecutor) -> T {
        let g = generation.load(ordering: .relaxed)
        if let c = perExecutor[executor], c.generation == g { return c.value }
        return refresh(executor)
    }

    private func refresh(_ executor: any EventExecutor) -> T {
        let (g, v) = current.withLock { $0 }
        if let c = perExecutor[executor] {
            c.generation = g
            c.value = v
        } else {
            perExecutor[executor] = Cached(g, v)
        }
        return v
    }

    /// The current value, from any thread (takes the mutex: not for the hot path).
    public var value: T { current.withLock { $0.1 } }

    /// Replaces the value; every executor picks it up before its next use.
    public func replace(_ value: T) {
        current.withLock { c in
            let g = c.0 &+ 1
            c = (g, value)
            generation.store(g, ordering: .releasing)
        }
    }
}
