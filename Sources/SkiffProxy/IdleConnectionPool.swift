import SkiffNet
import SkiffUpstream

/// An upstream HTTP/1.1 connection that parks in an `IdleConnectionPool` between uses.
protocol PooledConnection: AnyObject {
    var host: Host { get }
    var connection: Connection! { get }
    /// Parked now (and counted in the host's `connectionIdle`).
    var inPool: Bool { get set }
}

/// Idle keep-alive connections to one host, for one executor (a poller, a strand or a worker shard): no lock, because
/// only that executor touches it. LIFO, so the warmest connection is reused first and the rest can idle out. Parked
/// connections count in the host's `connectionIdle`. One pool type per kind of connection (`HTTPHostPool`,
/// `HTTP1StreamPool`): a host keeps one pool per type.
final class IdleConnectionPool<Member: PooledConnection>: DrainablePool {
    var idle: [Member] = []

    init() { idle.reserveCapacity(16) }

    /// An idle, still-open connection whose peer has not finished sending, or nil.
    func take() -> Member? {
        while let u = idle.popLast() {
            u.host.stats.connectionIdle.wrappingSubtract(1, ordering: .relaxed)
            u.inPool = false
            guard let c = u.connection, c.currentState == .open else { continue }
            if !c.hasReadEOF { return u }
            // Its EOF is read but not yet handled here (rwloop's reader runs ahead): never reuse it.
            c.close(.eof)
        }
        return nil
    }

    func park(_ u: Member) {
        u.inPool = true
        u.host.stats.connectionIdle.wrappingAdd(1, ordering: .relaxed)
        idle.append(u)
    }

    func remove(_ u: Member) {
        guard u.inPool, let i = idle.firstIndex(where: { $0 === u }) else { return }
        idle.remove(at: i)
        u.inPool = false
        u.host.stats.connectionIdle.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Closes every idle connection (the host is draining or in maintenance).
    func drain() {
        let idleNow = idle
        idle.removeAll()
        for u in idleNow {
            u.inPool = false
            u.host.stats.connectionIdle.wrappingSubtract(1, ordering: .relaxed)
            u.connection?.close(.local)
        }
    }

    /// This executor's pool for `host` (under `slot`), created on first use. Call only on `executor`.
    static func on(_ host: Host, executor: any EventExecutor, slot: PoolSlot<IdleConnectionPool>) -> IdleConnectionPool
    {
        host.state(on: executor).pool(slot) { IdleConnectionPool() }
    }
}
