import SkiffNet
import SkiffProtocol
import SkiffUpstream

/// One client connection of the HTTP/1 proxy: parses requests and hands each to an `HTTPExchange`.
///
/// Pipelining: up to `maxPipeline` requests are in flight at once, each on its own upstream connection, but
/// responses go back strictly in order. Only the head-of-line exchange's upstream is read; the others wait with
/// reading paused (their responses wait in the kernel, bounded by TCP), and are resumed in turn, so when responses
/// are ready together they are written together: one writev for many small responses.
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

    static let maxPipeline = 16

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
    /// The request-head (slowloris) timer; after a final response, the linger timer.
    var headerTimer: PollerTimer!
    /// Linger periods spent waiting for a slow reader to take the last response.
    var lingerRounds = 0

    init(connection: Connection, manager: HTTPConnectionManager, executor: any EventExecutor) {
        self.connection = connection
        self.manager = manager
        self.executor = executor
        self.scanner = HTTPHeadScanner(role: .request, limits: manager.options.limits)
        self.requestHeaders = HTTPHeaderTable(capacity: manager.options.limits.maxHeaders)
        exchanges.reserveCapacity(HTTPDownstream.maxPipeline)
        self.headerTimer = PollerTimer { [unowned self] in self.headerTimedOut() }
    }

    @inline(__always) func isHead(_ ex: HTTPExchange) -> Bool { exchanges.first === ex }

    var bodyExchange: HTTPExchange? { phase == .requestBody ? exchanges.last : nil }

    // MARK: - Downstream events

    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        if phase == .closing {
            buffer.release()
            return
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
            if (inbound?.readableBytes ?? 0) > 0 {
                connection.close(.protocolError("client closed mid-request"))
            } else if exchanges.isEmpty {
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
        // The client reads slower than the upstream sends: hold the head exchange's upstream back.
        exchanges.first?.downstreamWritability(writable)
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        closed = true
        headerTimer.cancel()
        phase = .closing
        for ex in exchanges { ex.abort() }
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
                if exchanges.count >= HTTPDownstream.maxPipeline {
                    if ib.readableBytes > manager.options.maxPipelinedBytes { connection.pauseReading() }
                    return
                }
                guard let headLength = scanner.scan(ib.readableView) else {
                    if let e = HTTPParser.checkRequestLineLength(ib.readableView, limits: manager.options.limits) {
                        return refuse(e)
                    }
                    if ib.readableBytes >= manager.options.limits.maxHeaderBytes { return refuse(.headTooLarge) }
                    if !headerTimer.isArmed { executor.arm(headerTimer, afterNs: manager.headerTimeoutNs) }
                    return
                }
                headerTimer.cancel()
                startRequest(headLength: headLength)
            case .requestBody:
                guard let ib = inbound, ib.readableBytes > 0, let ex = bodyExchange else { return }
                ex.forwardRequestBody(ib)
            case .closing:
                return
            }
        }
    }

    private func startRequest(headLength: Int) {
        let ib = inbound!
        let head = UnsafeRawBufferPointer(rebasing: ib.readableView[0..<headLength])
        if let e = HTTPParser.parseRequest(head, into: &request, headers: requestHeaders, limits: manager.options.limits)
        {
            return refuse(e)
        }
        let ex = spare.popLast() ?? HTTPExchange(downstream: self)
        exchanges.append(ex)
        ex.start(head: head, headLength: headLength, inbound: ib)
        if closed { return }
        if let ib2 = inbound, ib2 === ib, ib.readableBytes == 0 {
            ib.release()
            inbound = nil
        }
        if phase != .closing {
            phase = ex.requestComplete ? .head : .requestBody
            scanner.reset()
        }
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
    func closeAfterResponses() {
        phase = .closing
        for ex in exchanges { ex.abort() }
        exchanges.removeAll()
        inbound?.release()
        inbound = nil
        connection.shutdownWrite()
        connection.resumeReading()
        headerTimer.cancel()
        executor.arm(headerTimer, afterNs: HTTPDownstream.lingerNs)
    }

    /// How long a closing connection waits for the client's EOF before closing anyway.
    static let lingerNs: UInt64 = 5_000_000_000

    // MARK: - Refusals

    /// A request the codec refused: answered (after the responses before it) with its status, then closed.
    func refuse(_ e: HTTPParseError) {
        manager.stats.protocolErrors.wrappingAdd(1, ordering: .relaxed)
        headerTimer.cancel()
        inbound?.release()
        inbound = nil
        connection.pauseReading()
        let ex = spare.popLast() ?? HTTPExchange(downstream: self)
        exchanges.append(ex)
        phase = .closing
        ex.refuse(e)
    }

    private func headerTimedOut() {
        if phase == .closing {
            // The linger after a final response ran out. Still writing (a slow reader of a long response): wait on,
            // the write side shuts once the queue is out, up to a minute in all for a reader that stalls.
            // Otherwise the client never closed its side: close.
            lingerRounds += 1
            if connection.queuedBytes > 0 && lingerRounds < 12 {
                executor.arm(headerTimer, afterNs: HTTPDownstream.lingerNs)
                return
            }
            connection.close(.local)
            return
        }
        manager.stats.headerTimeouts.wrappingAdd(1, ordering: .relaxed)
        refuse(HTTPParseError(status: 408, reason: "request header timeout"))
    }
}
