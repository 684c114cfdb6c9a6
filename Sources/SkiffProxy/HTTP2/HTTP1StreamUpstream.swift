import SkiffNet
import SkiffProtocol
import SkiffUpstream

/// Idle HTTP/1.1 keep-alive connections to one host for HTTP/2 streams translated to HTTP/1.1, on one executor: a
/// pool of their own (a host keeps one pool per pool type), counted in the host's `connectionIdle` like the HTTP/1
/// proxy's.
typealias HTTP1StreamPool = IdleConnectionPool<HTTP1StreamUpstream>

/// One HTTP/1.1 connection to an upstream host carrying HTTP/2 streams one at a time (an `Http2` listener with
/// `upstream_protocol: Http1`): the stream renders its request (`HTTP2ProxyStream+HTTP1.swift`), this reads the
/// response — head parsed in place, then the body's payload without its chunked framing — and hands it to the
/// stream. Parked in its `HTTP1StreamPool` between streams. Confined to its executor.
final class HTTP1StreamUpstream: ConnectionHandler, PooledConnection, @unchecked Sendable {
    let host: Host
    let cluster: Cluster
    let executor: any EventExecutor
    unowned(unsafe) let pool: HTTP1StreamPool
    var connection: Connection!
    /// The stream using this connection; `unowned(unsafe)`: the stream detaches itself before it goes.
    unowned(unsafe) var stream: HTTP2ProxyStream?
    var inPool = false
    var connected = false
    var lost = false
    var writable = true
    var requestsSent = 0
    var response = HTTPResponseReader()
    let limits: HTTPLimits
    /// The method of the request in flight (a HEAD response has no body).
    var method = HTTPMethod.get

    init(host: Host, cluster: Cluster, executor: any EventExecutor, pool: HTTP1StreamPool, limits: HTTPLimits) {
        self.host = host
        self.cluster = cluster
        self.executor = executor
        self.pool = pool
        self.limits = limits
    }

    func begin(_ s: HTTP2ProxyStream, method: HTTPMethod) {
        stream = s
        self.method = method
        response.reset()
        requestsSent += 1
    }

    /// The stream is done with this connection: parked for the next, or closed when it cannot be reused.
    func end(reusable: Bool) {
        stream = nil
        response.discardResponse()
        let limit = cluster.config.maxRequestPerConn
        if reusable && connected && !lost && (limit == 0 || requestsSent < limit) && connection.currentState == .open
            && host.adminState == .ready
        {
            pool.park(self)
        } else {
            connection?.close(.local)
        }
    }

    func connectionDidConnect(_ c: Connection) {
        connected = true
        host.stats.connectionActive.wrappingAdd(1, ordering: .relaxed)
    }

    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        guard let s = stream else {
            buffer.release()
            pool.remove(self)
            return c.close(.protocolError("data on an idle upstream connection"))
        }
        if response.readingBody { return body(s, buffer) }
        guard response.appendHeadBytes(buffer) else { return fail(s, "upstream response head too large") }
        while !response.readingBody {
            switch response.nextHead(limits: limits) {
            case .needMore: return
            case .invalid: return fail(s, "invalid upstream response")
            case .tooLarge: return fail(s, "upstream response head too large")
            case .head(let length):
                guard let ib = response.inbound else { return }
                let status = response.head.statusCode
                if status < 200 {
                    response.interimHeadForwarded(length: length)
                    continue
                }
                let kind = response.head.bodyKind(requestMethod: method)
                let source = UnsafeRawBufferPointer(rebasing: ib.readableView[0..<length])
                s.http1ResponseHead(status: status, head: response.head, headers: response.headers, source: source,
                    endStream: kind == .none)
                guard let rest = response.beginBody(afterHead: length, kind: kind, limits: limits) else {
                    if response.body.isComplete { complete(s) }
                    return
                }
                return body(s, rest)
            }
        }
    }

    private func body(_ s: HTTP2ProxyStream, _ b: ByteBuffer) {
        defer { b.release() }
        let result = response.body.consume(b.readableView) { s.http1ResponseData($0) }
        switch result {
        case .invalid: fail(s, "invalid upstream response body")
        case .partial: return
        case .complete(let n):
            if n < b.readableBytes { lost = true }  // bytes past the response: out of step, never reused
            complete(s)
        }
    }

    private func complete(_ s: HTTP2ProxyStream) {
        let reusable = !response.head.connectionClose && response.body.kind != .untilClose
        s.http1ResponseEnded(reusable: reusable)
    }

    private func fail(_ s: HTTP2ProxyStream, _ why: StaticString) {
        lost = true
        s.http1Failed(why)
        connection?.close(.protocolError(why.description))
    }

    func connectionDidReadEOF(_ c: Connection) {
        if let s = stream, response.readingBody, response.body.kind == .untilClose {
            _ = response.body.finishAtEOF()
            lost = true
            return s.http1ResponseEnded(reusable: false)
        }
        c.close(.eof)
    }

    func connection(_ c: Connection, writabilityChanged w: Bool) {
        writable = w
        stream?.http1Writable(w)
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        lost = true
        host.stats.countUpstreamEnd(connected: connected, reason: reason)
        cluster.connectionClosed()
        pool.remove(self)
        response.discardResponse()
        let s = stream
        stream = nil
        s?.http1Lost(wasConnected: connected)
        connection = nil
    }
}
