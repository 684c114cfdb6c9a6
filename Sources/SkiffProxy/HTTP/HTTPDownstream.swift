import SkiffNet
import SkiffProtocol
import SkiffUpstream

/// One client connection of the HTTP/1 proxy: parses requests and hands each to an `HTTPExchange`.
///
/// Pipelining: up to `options.maxParallelRequests` requests are in flight at once, each on its own upstream
/// connection, but only while every one of them is safe (GET, HEAD, OPTIONS, TRACE): any other request waits until
/// the responses before it are out, and nothing before it waits on it (RFC 9112 §9.3.2). Responses go back strictly
/// in order. Only the head-of-line exchange's upstream is read; the others wait with reading paused (their responses
/// wait in the kernel, bounded by TCP), and are resumed in turn, so when responses are ready together they are
/// written together: one writev for many small responses. A request with `Connection: close` (or HTTP/1.0 without
/// keep-alive) is the last one read: bytes after it are dropped (RFC 9112 §9.6).
///
/// Timeouts, all on one timer per connection that is re-armed lazily when it fires (never per request): the
/// request head (from the accept for the first request, from its first byte for later ones; 408), the request body
/// (no byte for `requestBodyTimeout`; 408), the idle keep-alive connection (nothing in flight and no byte for
/// `idleTimeout`; closed without a reply), then the linger after the last response.
///
/// Threads: confined to `executor` (the connection's poller, or its worker shard); upstream connections are
/// created on the same executor, so nothing here takes a lock.
final class HTTPDownstream: ConnectionHandler, @unchecked Sendable {
    enum Phase {
        /// Waiting for (the rest of) a request head.
        case head
        /// Streaming the last exchange's request body upstream.
        case requestBody
        /// No more requests are read: the connection closes once the queued responses are out.
        case closing
    }

    let connection: Connection
    let manager: HTTPConnectionManager
    let executor: any EventExecutor
    var phase = Phase.head

    var inbound: ByteBuffer?
    var scanner: HTTPHeadScanner
    var request = HTTPRequestHead()
    let requestHeaders: HTTPHeaderTable
    /// In flight, oldest (the one whose response is being written) first.
    var exchanges: [HTTPExchange] = []
    /// Finished exchanges kept for reuse: no allocation per request.
    var spare: [HTTPExchange] = []
    var clientClosedRead = false
    var closed = false
    /// True inside `process`, so an exchange finishing synchronously does not re-enter it.
    var processing = false
    /// A request that ends the connection (`Connection: close`, HTTP/1.0 without keep-alive) was read: nothing
    /// after it is.
    var lastRequestRead = false
    /// The connection's one timer: request-head, request-body and idle deadlines, then the linger (see `timerFired`).
    var timer: PollerTimer!
    /// When the head being waited for began (coarse monotonic ns): the accept for the first request, else the first
    /// byte of a head that did not arrive whole; 0 when none is pending.
    var headStartNs: UInt64 = 0
    /// The client connection's last reported writability: an exchange that starts or becomes head takes it (the
    /// connection reports only changes).
    var clientWritable = true
    /// When request-body bytes last arrived (coarse monotonic ns), while `phase == .requestBody`.
    var bodyReadNs: UInt64 = 0
    /// When the last exchange finished (monotonic ns; the exchange's own latency stamp, so no extra clock read): the
    /// idle period starts here even if the response has not been flushed yet.
    var lastFinishNs: UInt64 = 0
    /// The last response is out (or being written) and the connection waits for the client's EOF.
    var lingering = false
    /// The client was cut for stalling: its linger is short (it is not sending, so nothing is left to drain).
    var timedOut = false
    /// Linger periods spent waiting for a slow reader to take the last response.
    var lingerRounds = 0

    init(connection: Connection, manager: HTTPConnectionManager, executor: any EventExecutor) {
        self.connection = connection
        self.manager = manager
        self.executor = executor
        self.scanner = HTTPHeadScanner(role: .request, limits: manager.options.limits)
        self.requestHeaders = HTTPHeaderTable(capacity: manager.options.limits.maxHeaders)
        exchanges.reserveCapacity(manager.options.maxParallelRequests + 1)
        self.timer = PollerTimer { [unowned self] in self.timerFired() }
    }

    /// Starts the request-head deadline from the accept: a client that sends nothing still gets its 408. Called once,
    /// on the accepting thread or on the executor.
    func start() {
        headStartNs = connection.openedAt
        if executor.inExecutor {
            armTimer(at: headStartNs &+ manager.headerTimeoutNs)
        } else {
            executor.execute { [self] in
                if !self.closed { self.armTimer(at: self.headStartNs &+ self.manager.headerTimeoutNs) }
            }
        }
    }

    @inline(__always) func isHead(_ ex: HTTPExchange) -> Bool { exchanges.first === ex }

    var bodyExchange: HTTPExchange? { phase == .requestBody ? exchanges.last : nil }

    // MARK: - Downstream events

    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        assert(executor.inExecutor, "HTTPDownstream read off its executor's thread")
        if phase == .closing {
            buffer.release()
            return
        }
        if phase == .requestBody {
            bodyReadNs = MonotonicClock.coarse()
        }
        if phase == .requestBody && inbound == nil {
            inbound = buffer  // pure body: forwarded without a copy
        } else {
            append(buffer)
        }
        process()
    }

    func connectionDidReadEOF(_ c: Connection) {
        clientClosedRead = true
        switch phase {
        case .head:
            // With responses pending, the first one closes the connection (bytes after it, such as a request
            // waiting for its turn, are dropped as before); with none, unread bytes are a cut-off request.
            if !exchanges.isEmpty { break }
            if (inbound?.readableBytes ?? 0) > 0 {
                connection.close(.protocolError("client closed mid-request"))
            } else {
                connection.shutdownWrite()
            }
        case .requestBody:
            if let ex = bodyExchange, ex.requestBody.kind == .untilClose {
                ex.finishRequestBody()
            } else {
                connection.close(.protocolError("client closed mid-body"))
            }
        case .closing:
            break
        }
    }

    func connection(_ c: Connection, writabilityChanged writable: Bool) {
        clientWritable = writable
        // The client reads slower than the upstream sends: hold the head exchange's upstream back.
        exchanges.first?.downstreamWritability(writable)
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        closed = true
        timer.cancel()
        phase = .closing
        for ex in exchanges { ex.abort() }
        // Access-log records go back to their executor's spares for the next connection.
        for ex in exchanges { ex.releaseLogRecord() }
        for ex in spare { ex.releaseLogRecord() }
        exchanges.removeAll()
        inbound?.release()
        inbound = nil
    }

    // MARK: - Inbound bytes

    /// Adds a read to the inbound buffer, compacting when the tail has no room.
    private func append(_ b: ByteBuffer) {
        guard let ib = inbound, ib.readableBytes > 0 else {
            inbound?.release()
            inbound = b
            return
        }
        if ib.writableBytes < b.readableBytes && ib.readerIndex > 0 {
            let n = ib.readableBytes
            ib.base.copyMemory(from: ib.base + ib.readerIndex, byteCount: n)
            ib.readerIndex = 0
            ib.writerIndex = n
        }
        if ib.writableBytes >= b.readableBytes {
            ib.write(b.readableView)
            b.release()
            return
        }
        // More unprocessed bytes than a buffer: let a streaming body take what is body, then try again.
        let moved = ib.write(b.readableView)
        b.readerIndex += moved
        process()
        if let again = inbound, again.writableBytes >= b.readableBytes {
            again.write(b.readableView)
            b.release()
        } else if inbound == nil {
            inbound = b
        } else {
            b.release()
            refuse(.headTooLarge)
        }
    }

    /// Runs the request side until it needs more bytes or the pipeline is full.
    func process() {
        if processing { return }
        processing = true
        defer { processing = false }
        while !closed {
            switch phase {
            case .head:
                guard let ib = inbound, ib.readableBytes > 0 else { return }
                if !exchanges.isEmpty
                    && (exchanges.count >= manager.options.maxParallelRequests
                        || !manager.routing.value(on: executor).pipelinesRequests)
                {
                    return holdPipelined(ib)
                }
                guard let headLength = scanner.scan(ib.readableView) else {
                    if let e = scanner.error { return refuse(e) }
                    if let e = HTTPParser.checkRequestLineLength(ib.readableView, limits: manager.options.limits) {
                        return refuse(e)
                    }
                    if ib.readableBytes >= manager.options.limits.maxHeaderBytes { return refuse(.headTooLarge) }
                    // A head that did not arrive whole: its deadline runs from now (the first request's, from the
                    // accept).
                    if headStartNs == 0 { headStartNs = MonotonicClock.coarse() }
                    return armTimer(at: headStartNs &+ manager.headerTimeoutNs)
                }
                headStartNs = 0
                if !startRequest(headLength: headLength) { return holdPipelined(ib) }
            case .requestBody:
                guard let ib = inbound, ib.readableBytes > 0, let ex = bodyExchange else { return }
                ex.forwardRequestBody(ib)
            case .closing:
                return
            }
        }
    }

    /// Parses the head and starts its exchange; false when the request has to wait for the responses before it
    /// (it is not safe, or one in flight is not): it stays in `inbound` and is parsed again when its turn comes.
    private func startRequest(headLength: Int) -> Bool {
        let ib = inbound!
        let head = UnsafeRawBufferPointer(rebasing: ib.readableView[0..<headLength])
        if let e = HTTPParser.parseRequest(head, into: &request, headers: requestHeaders, limits: manager.options.limits)
        {
            if exchanges.isEmpty && HTTP2PrefaceRefusal.isPreface(head) {
                refuseHTTP2()
            } else {
                refuse(e)
            }
            return true
        }
        if let last = exchanges.last, !(request.method.isSafe && last.method.isSafe) { return false }
        let endsConnection = request.connectionClose
        let ex = spare.popLast() ?? HTTPExchange(downstream: self)
        exchanges.append(ex)
        ex.start(head: head, headLength: headLength, inbound: ib)
        if closed { return true }
        if let ib2 = inbound, ib2 === ib, ib.readableBytes == 0 {
            ib.release()
            inbound = nil
        }
        if endsConnection { lastRequestRead = true }
        if phase != .closing {
            scanner.reset()
            if !ex.requestComplete {
                phase = .requestBody
                bodyReadNs = MonotonicClock.coarse()
                armTimer(at: bodyReadNs &+ manager.bodyTimeoutNs)
            } else if lastRequestRead {
                stopReadingRequests()
            } else {
                phase = .head
            }
        }
        return true
    }

    /// A request waits (pipeline full, or not safe to send in parallel): stop reading once enough is buffered.
    private func holdPipelined(_ ib: ByteBuffer) {
        if ib.readableBytes > manager.options.maxPipelinedBytes { connection.pauseReading() }
    }

    /// The body of the last exchange is complete: read the next request, unless that one ended the connection.
    func requestBodyFinished() {
        if lastRequestRead {
            stopReadingRequests()
        } else {
            phase = .head
            scanner.reset()
        }
    }

    /// The request that ends the connection has been read: whatever follows is dropped unread (RFC 9112 §9.6); the
    /// connection closes after the responses.
    private func stopReadingRequests() {
        phase = .closing
        inbound?.release()
        inbound = nil
        connection.pauseReading()
    }

    // MARK: - Exchanges finishing in order

    /// The head exchange is done: recycle it and let the next one respond.
    func exchangeFinished(_ ex: HTTPExchange, closeAfter: Bool) {
        guard isHead(ex) else { return }
        exchanges.removeFirst()
        ex.reset()
        spare.append(ex)
        if closeAfter || (clientClosedRead && exchanges.isEmpty && phase != .requestBody) {
            closeAfterResponses()
            return
        }
        if let next = exchanges.first {
            next.becameHead()
        }
        if closed { return }
        if phase == .head {
            connection.resumeReading()
            process()
        }
    }

    /// Stops taking requests; abandons exchanges not yet answered; shuts the write side once written, then
    /// lingers: reads (and drops) until the client's EOF closes the connection, or closes it after
    /// `lingerNs` — a paused reader would never see that EOF, and the connection would stay half-open for ever.
    /// After a timeout the linger is at most the header timeout: a client that stalls has nothing left to drain, and
    /// a flood of silent connections must give its slots back soon.
    func closeAfterResponses() {
        phase = .closing
        for ex in exchanges { ex.abort() }
        exchanges.removeAll()
        inbound?.release()
        inbound = nil
        connection.shutdownWrite()
        connection.resumeReading()
        lingering = true
        let linger = timedOut ? min(HTTPDownstream.lingerNs, manager.headerTimeoutNs) : HTTPDownstream.lingerNs
        executor.arm(timer, afterNs: linger)
    }

    /// How long a closing connection waits for the client's EOF before closing anyway.
    static let lingerNs: UInt64 = 5_000_000_000

    // MARK: - Refusals

    /// A request the codec refused: answered (after the responses before it) with its status, then closed.
    func refuse(_ e: HTTPParseError) {
        manager.stats.protocolErrors.wrappingAdd(1, ordering: .relaxed)
        // Some of a request arrived: it is logged. A connection that sent nothing (408 after the accept) is not.
        let partOfARequest = (inbound?.readableBytes ?? 0) > 0
        inbound?.release()
        inbound = nil
        connection.pauseReading()
        let ex = spare.popLast() ?? HTTPExchange(downstream: self)
        exchanges.append(ex)
        phase = .closing
        ex.refuse(e, log: partOfARequest)
    }

    /// An HTTP/2 client with prior knowledge: told in HTTP/2 (GOAWAY HTTP_1_1_REQUIRED) and closed, counted as a
    /// protocol error.
    private func refuseHTTP2() {
        manager.stats.protocolErrors.wrappingAdd(1, ordering: .relaxed)
        HTTP2PrefaceRefusal.answer.withUnsafeBytes { connection.write(copying: $0) }
        closeAfterResponses()
    }

    /// The request body of `ex` (the last exchange) failed: malformed framing (400) or a stall (408). Nothing more is
    /// read; the exchange answers at once (or cuts the client if its response has begun) and the connection closes.
    func requestBodyFailed(_ ex: HTTPExchange, _ e: HTTPParseError) {
        inbound?.release()
        inbound = nil
        phase = .closing
        connection.pauseReading()
        ex.abandonRequestBody(e)
    }

    // MARK: - The timer

    /// Makes sure the timer fires by `deadline` (coarse monotonic ns); an earlier arm stands.
    @inline(__always)
    private func armTimer(at deadline: UInt64) {
        if timer.isArmed && timer.deadline <= deadline { return }
        let now = MonotonicClock.coarse()
        executor.arm(timer, afterNs: deadline > now ? deadline &- now : 0)
    }

    /// Checks the deadline of the current state; acts if it has passed, else arms the timer for it. State changes
    /// on the hot path only ever move deadlines later, so they never touch the timer: it fires at the old deadline
    /// and finds the new one here.
    private func timerFired() {
        if closed { return }
        let now = MonotonicClock.coarse()
        switch phase {
        case .closing:
            // Not lingering yet: the last responses are pending, each bounded by its route timeout, and
            // `closeAfterResponses` arms the linger.
            if lingering { lingerExpired() }
        case .requestBody:
            // Reading paused because the upstream takes the body slower: the stall is not the client's.
            if connection.isReadingPaused { bodyReadNs = now }
            let due = bodyReadNs &+ manager.bodyTimeoutNs
            if now < due { return armTimer(at: due) }
            manager.stats.bodyTimeouts.wrappingAdd(1, ordering: .relaxed)
            timedOut = true
            if let ex = bodyExchange {
                requestBodyFailed(ex, HTTPParseError(status: 408, reason: "request body timeout"))
            }
        case .head:
            if headStartNs != 0 {
                let due = headStartNs &+ manager.headerTimeoutNs
                if now < due { return armTimer(at: due) }
                manager.stats.headerTimeouts.wrappingAdd(1, ordering: .relaxed)
                timedOut = true
                refuse(HTTPParseError(status: 408, reason: "request header timeout"))
            } else if exchanges.isEmpty {
                guard manager.idleTimeoutNs > 0 else { return }
                let due = max(connection.lastActivityNs, lastFinishNs) &+ manager.idleTimeoutNs
                if now < due { return armTimer(at: due) }
                manager.stats.idleTimeouts.wrappingAdd(1, ordering: .relaxed)
                connection.close(.idleTimeout)
            } else {
                // Responses pending, each bounded by its route timeout: look again later.
                armTimer(at: now &+ (manager.idleTimeoutNs > 0 ? manager.idleTimeoutNs : manager.headerTimeoutNs))
            }
        }
    }

    /// The linger after a final response ran out. Still writing (a slow reader of a long response): wait on, the
    /// write side shuts once the queue is out, up to a minute in all for a reader that stalls. Otherwise the client
    /// never closed its side: close.
    private func lingerExpired() {
        lingerRounds += 1
        if connection.queuedBytes > 0 && lingerRounds < 12 {
            executor.arm(timer, afterNs: HTTPDownstream.lingerNs)
            return
        }
        connection.close(.local)
    }
}
