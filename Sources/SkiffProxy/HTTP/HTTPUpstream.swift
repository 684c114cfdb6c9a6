import SkiffNet
import SkiffProtocol
import SkiffUpstream

/// The HTTP/1 proxy's idle keep-alive connections to one host on one executor.
typealias HTTPHostPool = IdleConnectionPool<HTTPUpstream>

/// One upstream HTTP/1.1 connection: the handler of its `Connection`, parked in a `HTTPHostPool` between requests
/// and lent to one `HTTPDownstream` exchange at a time. Confined to its executor (the same one as the exchanges that
/// use it), so it takes no lock.
final class HTTPUpstream: ConnectionHandler, PooledConnection, @unchecked Sendable {
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
