import SkiffNet
import SkiffProtocol
import SkiffUpstream

/// One client connection of the HTTP/1 proxy: parses requests, routes them, runs each exchange with a pooled
/// upstream connection, streams bodies both ways, and answers locally when it must (no route, overflow, timeout,
/// bad request). Requests on one connection are served in order, one exchange at a time; pipelined requests wait in
/// the inbound buffer.
///
/// Threads: confined to `executor` (the connection's poller, or its worker shard); its upstream connections are
/// created on the same executor, so nothing here takes a lock.
final class HTTPDownstream: ConnectionHandler, @unchecked Sendable {
    enum Phase {
        /// Waiting for (the rest of) a request head.
        case head
        /// Streaming the request body upstream.
        case requestBody
        /// The request is sent; waiting for the response to finish. Pipelined bytes wait.
        case awaitingResponse
        /// A final response is written; the connection closes once it is flushed.
        case closing
    }

    let connection: Connection
    let manager: HTTPConnectionManager
    let executor: any EventExecutor
    var phase = Phase.head

    // Request side.
    var inbound: ByteBuffer?
    var scanner: HTTPHeadScanner
    var request = HTTPRequestHead()
    let requestHeaders: HTTPHeaderTable
    var requestBody = HTTPBodyTracker(kind: .none)
    var requestComplete = false
    var clientClosedRead = false

    // The exchange.
    var route: ResolvedRoute?
    var cluster: Cluster?
    var host: Host?
    var upstream: HTTPUpstream?
    var triedHosts: [Host] = []
    var retriesLeft = 0
    var retryHeld = false
    /// The rendered upstream request (head + a small body) kept for a retry, or nil when not replayable.
    var replay: ByteBuffer?
    var replayable = false
    var responseStarted = false
    var responseStatus = 0
    var exchangeStart: UInt64 = 0
    var admitted = false
    /// Hash of the route's `hash_policy` header values (LB_MAGLEV), computed while the head is at hand.
    var requestHash: UInt64 = 0

    /// Route timeout while an exchange runs; request-head timeout while a head is arriving.
    var timer: PollerTimer!
    var timerIsHeaderTimeout = false

    init(connection: Connection, manager: HTTPConnectionManager, executor: any EventExecutor) {
        self.connection = connection
        self.manager = manager
        self.executor = executor
        self.scanner = HTTPHeadScanner(role: .request, limits: manager.options.limits)
        self.requestHeaders = HTTPHeaderTable(capacity: manager.options.limits.maxHeaders)
        self.timer = PollerTimer { [unowned self] in self.timerFired() }
    }

    // MARK: - Downstream events

    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        switch phase {
        case .closing:
            buffer.release()
            return
        case .requestBody where inbound == nil:
            // The common streaming case: the buffer is all body (or body then more), forward without copying.
            inbound = buffer
        default:
            append(buffer)
        }
        process()
    }

    func connectionDidReadEOF(_ c: Connection) {
        clientClosedRead = true
        switch phase {
        case .head:
            if (inbound?.readableBytes ?? 0) > 0 {
                // A request cut short: nothing sensible to answer.
                connection.close(.protocolError("client closed mid-request"))
            } else {
                connection.shutdownWrite()
            }
        case .requestBody:
            if requestBody.kind == .untilClose {
                finishRequestBody()
            } else {
                abortExchange(closeClient: true)
            }
        case .awaitingResponse, .closing:
            break  // answer what was asked, then close (see finishExchange)
        }
    }

    func connection(_ c: Connection, writabilityChanged writable: Bool) {
        // The client reads slower than the upstream sends: hold the upstream back.
        if let u = upstream?.connection {
            if writable { u.resumeReading() } else { u.pauseReading() }
        }
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        timer.cancel()
        if upstream != nil { abortExchange(closeClient: false) }
        inbound?.release()
        inbound = nil
        replay?.release()
        replay = nil
        phase = .closing
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
        // More than one buffer of unprocessed bytes: only a body can be that long; move to a buffer chain by
        // forwarding what is body now, or refuse an oversized head.
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

    /// Runs the state machine over the inbound bytes until it needs more.
    private func process() {
        while true {
            switch phase {
            case .head:
                guard let ib = inbound, ib.readableBytes > 0 else { return }
                guard let headLength = scanner.scan(ib.readableView) else {
                    if let e = HTTPParser.checkRequestLineLength(ib.readableView, limits: manager.options.limits) {
                        return refuse(e)
                    }
                    if ib.readableBytes >= manager.options.limits.maxHeaderBytes {
                        return refuse(.headTooLarge)
                    }
                    if !timer.isArmed {
                        timerIsHeaderTimeout = true
                        executor.arm(timer, afterNs: manager.headerTimeoutNs)
                    }
                    return
                }
                if timerIsHeaderTimeout { timer.cancel() }
                startRequest(headLength: headLength)
            case .requestBody:
                guard let ib = inbound, ib.readableBytes > 0 else { return }
                forwardRequestBody(ib)
            case .awaitingResponse:
                if let ib = inbound, ib.readableBytes > manager.options.maxPipelinedBytes {
                    connection.pauseReading()
                }
                return
            case .closing:
                return
            }
        }
    }

    // MARK: - A new request

    private func startRequest(headLength: Int) {
        let ib = inbound!
        let head = UnsafeRawBufferPointer(rebasing: ib.readableView[0..<headLength])
        if let e = HTTPParser.parseRequest(head, into: &request, headers: requestHeaders, limits: manager.options.limits)
        {
            return refuse(e)
        }
        manager.stats.requestTotal.wrappingAdd(1, ordering: .relaxed)
        manager.stats.requestActive.wrappingAdd(1, ordering: .relaxed)
        exchangeStart = MonotonicClock.now()
        responseStarted = false
        responseStatus = 0
        triedHosts.removeAll(keepingCapacity: true)
        requestBody = HTTPBodyTracker(kind: request.bodyKind)
        requestComplete = request.bodyKind == .none

        let input = HTTPRouteInput(source: head, request: request, headers: requestHeaders)
        guard let entry = manager.routes.route(input), let resolved = manager.resolved[ObjectIdentifier(entry)] else {
            manager.stats.noRoute.wrappingAdd(1, ordering: .relaxed)
            ib.readerIndex += headLength
            skipBodyThenReply(status: 404, reason: "no route matched")
            return
        }
        switch entry.action {
        case .directResponse(let status, let body):
            ib.readerIndex += headLength
            skipBodyThenReply(status: status, reason: "direct response", body: body)
            return
        case .redirect(let r):
            let location = r.location(for: input)
            ib.readerIndex += headLength
            skipBodyThenReply(status: r.responseCode, reason: "redirect", location: location)
            return
        default:
            break
        }
        route = resolved
        let c: Cluster
        if resolved.clusters.count == 1 {
            c = resolved.clusters[0]
        } else {
            c = resolved.clusters[entry.weightedIndex(random: FastRandom.next())]
        }
        cluster = c
        if let overflow = c.admitRequest() {
            ib.readerIndex += headLength
            skipBodyThenReply(status: 503, reason: "upstream overflow", overflow: overflow.rawValue)
            return
        }
        admitted = true
        retriesLeft = entry.numRetries
        if !entry.hashPolicyHeaders.isEmpty { requestHash = hashKey(entry.hashPolicyHeaders, head: head) }

        // Render the upstream request head now (the parsed offsets point into `ib`).
        let out = connection.bufferPool.acquire()
        guard let n = renderUpstreamRequest(head: head, entry: entry, into: out) else {
            out.release()
            ib.readerIndex += headLength
            skipBodyThenReply(status: 431, reason: "request header fields too large")
            return
        }
        out.writerIndex = n
        ib.readerIndex += headLength

        // Replayable: no body, or a body small enough to keep that is already here in full.
        replay?.release()
        replay = nil
        replayable = false
        switch request.bodyKind {
        case .none:
            replayable = true
        case .contentLength(let len) where len <= manager.options.maxReplayBodyBytes && len <= ib.readableBytes
            && n + len <= out.capacity:
            replayable = true
        default:
            replayable = false
        }
        if replayable, case .contentLength(let len) = request.bodyKind {
            // Keep the body with the head: one buffer, one writev, and a whole copy for a retry.
            out.write(UnsafeRawBufferPointer(rebasing: ib.readableView[0..<len]))
            ib.readerIndex += len
            requestBody = HTTPBodyTracker(kind: .none)
            requestComplete = true
        }
        if replayable {
            let keep = connection.bufferPool.acquire()
            keep.write(out.readableView)
            replay = keep
        }
        if ib.readableBytes == 0 {
            ib.release()
            inbound = nil
        }
        phase = requestComplete ? .awaitingResponse : .requestBody
        executor.arm(timer, afterNs: entry.timeoutNs)
        timerIsHeaderTimeout = false
        sendToUpstream(head: out)
    }

    private func renderUpstreamRequest(head: UnsafeRawBufferPointer, entry: RouteEntry, into out: ByteBuffer) -> Int? {
        var options = HTTPRenderer.RequestOptions()
        let ip = connection.peerIPBytes
        return ip.withUnsafeBytes { ipBytes in
            options.xForwardedFor = ipBytes
            return withOptionalBytes(entry.hostRewrite) { hostBytes in
                options.hostRewrite = hostBytes
                return withOptionalBytes(entry.prefixRewrite) { prefixBytes in
                    if let p = prefixBytes { options.prefixRewrite = (entry.matchedPrefixLength, p) }
                    return HTTPRenderer.renderRequest(
                        head: request, headers: requestHeaders, source: head, into: out.writePointer,
                        capacity: out.writableBytes, options: options)
                }
            }
        }
    }

    /// Picks a host, gets a pooled or new upstream connection, and queues `head` on it.
    private func sendToUpstream(head: ByteBuffer) {
        guard let c = cluster else {
            head.release()
            return
        }
        guard let h = pickHost(c) else {
            head.release()
            c.stats.noHealthyUpstream.wrappingAdd(1, ordering: .relaxed)
            return failExchange(status: 503, reason: "no healthy upstream")
        }
        host = h
        triedHosts.append(h)
        let pool = HTTPHostPool.on(h, executor: executor)
        let u: HTTPUpstream
        if let pooled = pool.take() {
            u = pooled
            manager.stats.upstreamReused.wrappingAdd(1, ordering: .relaxed)
        } else {
            if let overflow = c.admitConnection() {
                head.release()
                return failExchange(status: 503, reason: "upstream overflow", overflow: overflow.rawValue)
            }
            u = HTTPUpstream(host: h, cluster: c, executor: executor)
            h.stats.connectionTotal.wrappingAdd(1, ordering: .relaxed)
            let idle = c.config.idleTimeout ?? manager.options.upstreamIdleTimeout
            u.connection = connection.connectSibling(
                to: h.address, timeout: c.config.connectTimeout,
                options: ConnectionOptions(
                    maxCoalesce: 16, writeLimit: c.config.connBufferLimitBytes, idleTimeout: idle),
                label: c.name, handler: u)
        }
        upstream = u
        u.beginExchange(self)
        h.stats.requestTotal.wrappingAdd(1, ordering: .relaxed)
        h.stats.requestActive.wrappingAdd(1, ordering: .relaxed)
        u.connection.write(head)
    }

    @inline(__always) private func pickHost(_ c: Cluster) -> Host? {
        if let entry = route?.entry, !entry.hashPolicyHeaders.isEmpty {
            return c.pickHost(hash: requestHash, excluding: triedHosts)
        }
        return c.pickHost(excluding: triedHosts)
    }

    /// FNV-1a over the configured headers' values (for LB_MAGLEV); a missing header hashes as empty.
    private func hashKey(_ names: [[UInt8]], head: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for n in names {
            if let v = n.withUnsafeBytes({ requestHeaders.firstValue(named: $0, in: head) }) {
                for b in v { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            }
            h = (h ^ 0xff) &* 0x100_0000_01b3
        }
        return h
    }

    // MARK: - Request body

    private func forwardRequestBody(_ ib: ByteBuffer) {
        let r = requestBody.consume(ib.readableView)
        let consumed: Int
        let complete: Bool
        switch r {
        case .invalid(let e):
            abortExchange(closeClient: false)
            refuse(e)
            return
        case .partial(let n):
            consumed = n
            complete = false
        case .complete(let n):
            consumed = n
            complete = true
        }
        do {
            guard let u = upstream?.connection else {
                ib.readerIndex += consumed
                return
            }
            if consumed == ib.readableBytes {
                inbound = nil
                u.write(ib)
            } else {
                let part = connection.bufferPool.acquire()
                part.write(UnsafeRawBufferPointer(rebasing: ib.readableView[0..<consumed]))
                ib.readerIndex += consumed
                u.write(part)
            }
            if complete { finishRequestBody() }
        }
    }

    private func finishRequestBody() {
        requestComplete = true
        if phase == .requestBody { phase = .awaitingResponse }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        // The upstream reads the request body slower than the client sends it.
        if writable { connection.resumeReading() } else { connection.pauseReading() }
    }

    // MARK: - Upstream events (called by HTTPUpstream on this executor)

    func upstreamDidRead(_ u: HTTPUpstream, _ b: ByteBuffer) {
        guard u === upstream else {
            b.release()
            return
        }
        if u.readingBody {
            if u.inbound == nil {
                forwardResponseBody(u, b)
            } else {
                u.inbound!.write(b.readableView)
                b.release()
                let ib = u.inbound!
                u.inbound = nil
                forwardResponseBody(u, ib)
            }
            return
        }
        if let ib = u.inbound {
            if ib.writableBytes < b.readableBytes {
                b.release()
                return failFromUpstream(u, status: 502, reason: "upstream response head too large")
            }
            ib.write(b.readableView)
            b.release()
        } else {
            u.inbound = b
        }
        parseResponseHeads(u)
    }

    private func parseResponseHeads(_ u: HTTPUpstream) {
        while let ib = u.inbound, !u.readingBody {
            guard let len = u.scanner.scan(ib.readableView) else {
                if ib.readableBytes >= manager.options.limits.maxHeaderBytes {
                    failFromUpstream(u, status: 502, reason: "upstream response head too large")
                }
                return
            }
            let head = UnsafeRawBufferPointer(rebasing: ib.readableView[0..<len])
            if let e = HTTPParser.parseResponse(head, into: &u.head, headers: u.headers, limits: manager.options.limits)
            {
                _ = e
                return failFromUpstream(u, status: 502, reason: "invalid upstream response")
            }
            let status = u.head.statusCode
            // Retry on a 5xx or a listed status, if allowed and nothing has gone downstream yet.
            if !responseStarted, let entry = route?.entry, replayable, retriesLeft > 0, entry.shouldRetry(status: status)
            {
                u.inbound = nil
                ib.release()
                return retry(closing: u, reason: "upstream status \(status)")
            }
            if status >= 500 {
                host?.stats.responseFailed.wrappingAdd(1, ordering: .relaxed)
            } else {
                host?.stats.responseSuccess.wrappingAdd(1, ordering: .relaxed)
            }
            let out = connection.bufferPool.acquire()
            let closeAfter = request.connectionClose || clientClosedRead
                || u.head.bodyKind(requestMethod: request.method) == .untilClose
            guard
                let n = HTTPRenderer.renderResponse(
                    head: u.head, headers: u.headers, source: head, into: out.writePointer, capacity: out.writableBytes,
                    options: HTTPRenderer.ResponseOptions(
                        connectionClose: closeAfter,
                        keepAliveForHTTP10: request.version == .http10 && !request.connectionClose))
            else {
                out.release()
                return failFromUpstream(u, status: 502, reason: "upstream response head too large")
            }
            out.writerIndex = n
            ib.readerIndex += len
            responseStarted = true
            if status >= 100 && status < 200 {
                // An interim response (100 Continue): pass it on, the final one follows.
                connection.write(out)
                u.scanner.reset()
                if ib.readableBytes == 0 {
                    ib.release()
                    u.inbound = nil
                }
                continue
            }
            responseStatus = status
            manager.stats.countResponse(status)
            u.body = HTTPBodyTracker(kind: u.head.bodyKind(requestMethod: request.method))
            u.readingBody = true
            if ib.readableBytes == 0 {
                ib.release()
                u.inbound = nil
                connection.write(out)
                if u.body.isComplete { finishExchange(u) }
                return
            }
            // Head and the start of the body: write the head, then the body bytes that came with it.
            connection.write(out)
            u.inbound = nil
            forwardResponseBody(u, ib)
            return
        }
    }

    private func forwardResponseBody(_ u: HTTPUpstream, _ b: ByteBuffer) {
        let consumed: Int
        let complete: Bool
        switch u.body.consume(b.readableView) {
        case .invalid:
            b.release()
            manager.stats.upstreamResets.wrappingAdd(1, ordering: .relaxed)
            abortExchange(closeClient: true)
            return
        case .partial(let n):
            consumed = n
            complete = false
        case .complete(let n):
            consumed = n
            complete = true
        }
        do {
            if consumed == b.readableBytes {
                if consumed > 0 { connection.write(b) } else { b.release() }
            } else {
                // Bytes past the end of the response: the upstream is out of step; never reuse it.
                if consumed > 0 {
                    let part = connection.bufferPool.acquire()
                    part.write(UnsafeRawBufferPointer(rebasing: b.readableView[0..<consumed]))
                    connection.write(part)
                }
                b.release()
                if complete {
                    finishExchange(u, reusable: false)
                    return
                }
            }
            if complete { finishExchange(u) }
        }
    }

    func upstreamDidReadEOF(_ u: HTTPUpstream) {
        guard u === upstream else { return }
        if u.readingBody && u.body.kind == .untilClose {
            _ = u.body.finishAtEOF()
            finishExchange(u, reusable: false)
            return
        }
        upstreamLost(u, reason: .eof)
    }

    func upstreamDidClose(_ u: HTTPUpstream, reason: CloseReason, wasConnected: Bool) {
        guard u === upstream else { return }
        upstreamLost(u, reason: reason, wasConnected: wasConnected)
    }

    /// The upstream went away before the response was complete.
    private func upstreamLost(_ u: HTTPUpstream, reason: CloseReason, wasConnected: Bool = true) {
        if responseStarted {
            // Never fake a complete response: cut the client.
            manager.stats.upstreamResets.wrappingAdd(1, ordering: .relaxed)
            host?.stats.requestRemoteReset.wrappingAdd(1, ordering: .relaxed)
            abortExchange(closeClient: true)
            return
        }
        let connectFailure: Bool
        switch reason {
        case .connectFailed, .connectTimeout: connectFailure = true
        default: connectFailure = !wasConnected
        }
        let entry = route?.entry
        // A reused keep-alive connection the server had already closed: one free retry on a fresh connection.
        let staleReuse = wasConnected && u.requestsSent > 1 && !u.gotResponseBytes
        let allowed =
            staleReuse
            || (connectFailure ? (entry?.retryOnConnectFailure ?? false) : (entry?.retryOnReset ?? false))
        if replayable && (staleReuse || (allowed && retriesLeft > 0)) {
            if !staleReuse { retriesLeft -= 1 }
            return retry(closing: u, reason: "\(reason)", counted: !staleReuse)
        }
        if !connectFailure { host?.stats.requestRemoteReset.wrappingAdd(1, ordering: .relaxed) }
        failExchange(
            status: connectFailure ? 503 : 502,
            reason: connectFailure ? "upstream connect failure" : "upstream reset before response")
    }

    /// Sends the kept request again, to a host not tried yet when there is one.
    private func retry(closing u: HTTPUpstream, reason: String, counted: Bool = true) {
        detachUpstream(reusable: false)
        guard let c = cluster, let keep = replay else {
            return failExchange(status: 503, reason: "upstream retry impossible")
        }
        if counted {
            if let overflow = c.admitRetry() {
                return failExchange(status: 503, reason: "upstream overflow", overflow: overflow.rawValue)
            }
            c.retryFinished()
            manager.stats.retries.wrappingAdd(1, ordering: .relaxed)
        }
        let copy = connection.bufferPool.acquire()
        copy.write(keep.readableView)
        if triedHosts.count >= c.hosts.count { triedHosts.removeAll(keepingCapacity: true) }
        sendToUpstream(head: copy)
    }

    // MARK: - Ending an exchange

    /// The response is complete.
    private func finishExchange(_ u: HTTPUpstream, reusable: Bool = true) {
        let keepUpstream = reusable && requestComplete && !u.head.connectionClose && u.body.isComplete
        detachUpstream(reusable: keepUpstream)
        endRequest()
        if request.connectionClose || clientClosedRead || !reusable && u.body.kind == .untilClose {
            phase = .closing
            connection.shutdownWrite()
            return
        }
        phase = .head
        scanner.reset()
        connection.resumeReading()
        process()
    }

    private func detachUpstream(reusable: Bool) {
        guard let u = upstream else { return }
        upstream = nil
        if let h = host { h.stats.requestActive.wrappingSubtract(1, ordering: .relaxed) }
        u.connection?.resumeReading()
        u.endExchange(reusable: reusable)
    }

    private func endRequest() {
        timer.cancel()
        if admitted {
            cluster?.requestFinished()
            admitted = false
        }
        manager.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
        replay?.release()
        replay = nil
        route = nil
    }

    /// Answers locally (nothing was sent downstream yet), keeping the connection when the request allows.
    private func failExchange(status: Int, reason: StaticString, overflow: StaticString? = nil) {
        failExchange(status: status, reason: reason, overflowText: overflow.map { "\($0)" })
    }

    private func failExchange(status: Int, reason: StaticString, overflow: String) {
        failExchange(status: status, reason: reason, overflowText: overflow)
    }

    private func failExchange(status: Int, reason: StaticString, overflowText: String?) {
        detachUpstream(reusable: false)
        endRequest()
        manager.stats.countResponse(status)
        // If the request body is still arriving we cannot tell where the next request starts: close after replying.
        let close = !requestComplete || request.connectionClose || clientClosedRead
        writeLocalReply(status: status, reason: reason, body: nil, location: nil, overflow: overflowText, close: close)
        if close {
            phase = .closing
            connection.shutdownWrite()
        } else {
            phase = .head
            scanner.reset()
            process()
        }
    }

    private func failFromUpstream(_ u: HTTPUpstream, status: Int, reason: StaticString) {
        if responseStarted {
            abortExchange(closeClient: true)
        } else {
            failExchange(status: status, reason: reason)
        }
    }

    /// Tears the exchange down without a reply (client gone, or a response cut mid-way).
    private func abortExchange(closeClient: Bool) {
        if let u = upstream {
            host?.stats.requestLocalReset.wrappingAdd(1, ordering: .relaxed)
            upstream = nil
            if let h = host { h.stats.requestActive.wrappingSubtract(1, ordering: .relaxed) }
            u.exchange = nil
            u.connection?.close(.local)
        }
        if route != nil || admitted { endRequest() }
        if closeClient {
            phase = .closing
            connection.close(.peerClosed)
        }
    }

    // MARK: - Local replies

    /// A request the codec refused: reply with its status, count it, close.
    private func refuse(_ e: HTTPParseError) {
        manager.stats.protocolErrors.wrappingAdd(1, ordering: .relaxed)
        manager.stats.countResponse(e.status)
        timer.cancel()
        writeLocalReply(status: e.status, reason: e.reason, body: nil, location: nil, overflow: nil, close: true)
        phase = .closing
        inbound?.release()
        inbound = nil
        connection.pauseReading()
        connection.shutdownWrite()
    }

    /// Replies before any exchange (no route, direct response, redirect, overflow); skips the request body first.
    private func skipBodyThenReply(
        status: Int, reason: StaticString, body: [UInt8]? = nil, location: [UInt8]? = nil, overflow: String? = nil
    ) {
        manager.stats.countResponse(status)
        manager.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
        if admitted {
            cluster?.requestFinished()
            admitted = false
        }
        // A body we are not forwarding: if it is here in full, skip it and keep the connection; else close after.
        var close = request.connectionClose || clientClosedRead
        switch request.bodyKind {
        case .none:
            break
        case .contentLength(let n):
            if let ib = inbound, ib.readableBytes >= n {
                ib.readerIndex += n
            } else {
                close = true
            }
        default:
            close = true
        }
        writeLocalReply(status: status, reason: reason, body: body, location: location, overflow: overflow, close: close)
        if close {
            phase = .closing
            connection.pauseReading()
            connection.shutdownWrite()
        } else {
            phase = .head
            scanner.reset()
        }
    }

    private func writeLocalReply(
        status: Int, reason: StaticString, body: [UInt8]?, location: [UInt8]?, overflow: String?, close: Bool
    ) {
        manager.stats.localReplies.wrappingAdd(1, ordering: .relaxed)
        let out = connection.bufferPool.acquire()
        if let n = HTTPLocalReply.render(
            status: status, reason: reason, body: body, location: location, overflow: overflow, close: close,
            headRequest: request.method == .head, into: out)
        {
            out.writerIndex = n
            connection.write(out)
        } else {
            out.release()
            connection.close(.local)
        }
    }

    // MARK: - Timers

    private func timerFired() {
        if timerIsHeaderTimeout {
            manager.stats.headerTimeouts.wrappingAdd(1, ordering: .relaxed)
            manager.stats.countResponse(408)
            writeLocalReply(status: 408, reason: "request header timeout", body: nil, location: nil, overflow: nil, close: true)
            phase = .closing
            connection.shutdownWrite()
            return
        }
        guard upstream != nil || phase == .awaitingResponse || phase == .requestBody else { return }
        manager.stats.routeTimeouts.wrappingAdd(1, ordering: .relaxed)
        host?.stats.requestTimeout.wrappingAdd(1, ordering: .relaxed)
        if responseStarted {
            abortExchange(closeClient: true)
        } else {
            failExchange(status: 504, reason: "upstream timeout")
        }
    }
}

/// Runs `body` with the bytes of `array`, or nil.
@inline(__always)
func withOptionalBytes<R>(_ array: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let a = array else { return body(nil) }
    return a.withUnsafeBytes { body($0) }
}
