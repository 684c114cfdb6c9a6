import SkiffNet
import SkiffProtocol
import SkiffUpstream

/// Idle keep-alive connections to one host, for one executor (a poller or a worker shard): no lock, because only
/// that executor touches it. LIFO, so the warmest connection is reused first and the rest can idle out.
final class HTTPHostPool: DrainablePool {
    var idle: [HTTPUpstream] = []

    init() { idle.reserveCapacity(16) }

    /// An idle, still-open connection whose peer has not finished sending, or nil.
    func take() -> HTTPUpstream? {
        while let u = idle.popLast() {
            u.host.stats.connectionIdle.wrappingSubtract(1, ordering: .relaxed)
            u.inPool = false
            guard u.connection.currentState == .open else { continue }
            if !u.connection.hasReadEOF { return u }
            // Its EOF is read but not yet handled here (rwloop's reader runs ahead): never reuse it.
            u.connection.close(.eof)
        }
        return nil
    }

    func park(_ u: HTTPUpstream) {
        u.inPool = true
        u.host.stats.connectionIdle.wrappingAdd(1, ordering: .relaxed)
        idle.append(u)
    }

    func remove(_ u: HTTPUpstream) {
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

    /// This executor's pool for `host` (under `slot`, the HTTP pools' place), created on first use. Call only on
    /// `executor`.
    static func on(_ host: Host, executor: any EventExecutor, slot: PoolSlot<HTTPHostPool>) -> HTTPHostPool {
        host.state(on: executor).pool(slot) { HTTPHostPool() }
    }
}

/// One upstream HTTP/1.1 connection: the handler of its `Connection`, parked in a `HTTPHostPool` between requests
/// and lent to one `HTTPDownstream` exchange at a time. Confined to its executor (the same one as the exchanges that
/// use it), so it takes no lock.
final class HTTPUpstream: ConnectionHandler, @unchecked Sendable {
    let host: Host
    let cluster: Cluster
    let executor: any EventExecutor
    /// The pool this connection parks in between requests: its host's on its executor. `unowned(unsafe)`: the
    /// host (held here) owns the pool, and a parked connection would otherwise keep it alive in a cycle.
    unowned(unsafe) let pool: HTTPHostPool
    var connection: Connection!
    /// The exchange using this connection, if any.
    var exchange: HTTPExchange?
    var inPool = false
    var connected = false
    /// The connection closed; set before `connectUpstream` returns when the connect failed at once (EMFILE, no route).
    var closed = false
    /// A request is waiting for this connection to come up (counted against `max_pending_requests`).
    var pendingCounted = false
    /// Requests sent on this connection (for `max_request_per_conn`).
    var requestsSent = 0
    /// Whether the current exchange has received any response byte (a reused connection that dies before that is
    /// retried on a fresh one).
    var gotResponseBytes = false

    /// The response being read for the current exchange: its head parsed in place, then its body framed.
    var response = HTTPResponseReader()

    init(host: Host, cluster: Cluster, executor: any EventExecutor, pool: HTTPHostPool) {
        self.host = host
        self.pool = pool
        self.cluster = cluster
        self.executor = executor
    }

    /// Resets the per-response state for a new exchange.
    func beginExchange(_ ex: HTTPExchange) {
        exchange = ex
        gotResponseBytes = false
        response.reset()
        requestsSent += 1
    }

    /// The exchange is over: park for reuse or close.
    func endExchange(reusable: Bool) {
        exchange = nil
        response.discardResponse()
        let limit = cluster.config.maxRequestPerConn
        // A draining host's keep-alive connection ends with this response (the next response is the last).
        if reusable && connected && (limit == 0 || requestsSent < limit) && connection.currentState == .open
            && host.adminState == .ready
        {
            pool.park(self)
        } else {
            connection.close(.local)
        }
    }

    private func endPending() {
        if pendingCounted {
            pendingCounted = false
            cluster.pendingFinished()
        }
    }

    func connectionDidConnect(_ c: Connection) {
        endPending()
        connected = true
        host.stats.connectionActive.wrappingAdd(1, ordering: .relaxed)
    }

    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        assert(executor.inExecutor, "HTTPUpstream read off its executor's thread")
        guard let d = exchange else {
            // Bytes on an idle keep-alive connection: the server is out of step. Never reuse it.
            buffer.release()
            pool.remove(self)
            c.close(.protocolError("data on an idle upstream connection"))
            return
        }
        gotResponseBytes = true
        d.upstreamDidRead(self, buffer)
    }

    func connectionDidReadEOF(_ c: Connection) {
        if let d = exchange {
            d.upstreamDidReadEOF(self)
        } else {
            pool.remove(self)
            c.close(.eof)
        }
    }

    func connection(_ c: Connection, writabilityChanged writable: Bool) {
        exchange?.upstreamWritabilityChanged(writable)
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        closed = true
        endPending()
        host.stats.countUpstreamEnd(connected: connected, reason: reason)
        cluster.connectionClosed()
        pool.remove(self)
        response.discardResponse()
        let d = exchange
        exchange = nil
        d?.upstreamDidClose(self, reason: reason, wasConnected: connected)
        connection = nil  // breaks the cycle connection -> handler -> connection
    }
}
