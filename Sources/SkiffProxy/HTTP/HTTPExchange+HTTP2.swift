import SkiffHTTP2
import SkiffNet
import SkiffProtocol
import SkiffUpstream

/// The HTTP/2 side of one exchange on an `Http1` listener with `upstream_protocol: Http2`: its stream on the host's
/// shared connection, the request as a header block, and the response's HTTP/1.1 framing. A value inside the
/// exchange, executor-confined as it is.
struct HTTPExchangeHTTP2Leg {
    var upstream: HTTP2Upstream?
    var id: Int32 = 0
    /// The request as sent, kept for a retry (made once per exchange, reused).
    var request: HTTP2HeaderBlock?
    /// This side sent END_STREAM / the server did: the stream closes by itself when both are set.
    var requestEnded = false
    var responseEnded = false
    var framing = HTTP1ToHTTP2.Framing.none
    var status = 0
    var closeAfter = false
    /// Response payload bytes passed to the client.
    var bodyBytes = 0
    /// Response bytes passed while the client was not writable: their window goes back once it is.
    var owed = 0
    /// The client's reading is paused while its request body waits for the upstream's window.
    var clientPaused = false
    /// A refused stream of this request was retried for free (once per request).
    var refusedOnce = false
    /// Response bytes gathered during one upstream event, written at its end (`flush`).
    var out: ByteBuffer?
    var scratch: [UInt8] = []

    mutating func clear() {
        out?.release()
        out = nil
        upstream = nil
        id = 0
        requestEnded = false
        responseEnded = false
        framing = .none
        status = 0
        closeAfter = false
        bodyBytes = 0
        owed = 0
        clientPaused = false
        refusedOnce = false
    }
}

/// HTTP/1.1 clients to HTTP/2 upstreams (`upstream_protocol: Http2`, or an xDS cluster that speaks HTTP/2): each
/// request becomes a stream on the host's multiplexed connection on this executor (`HTTP1ExchangeHostPool`, shared by
/// the HTTP/1 listeners), its head translated by `HTTP1ToHTTP2`, its body's payload sent as DATA (the client paused
/// while more than `maxHeldRequestBytes` wait for the server's window), the response rendered back as HTTP/1.1 — its
/// length kept, chunked (with the server's trailers) for HTTP/1.1 clients, until close for HTTP/1.0 — with the
/// stream's window given back as the client connection takes the bytes. Requests of one client connection go one at
/// a time (`ProxyRouting.pipelinesRequests`), so the exchange always heads its queue. Retries, timeouts, local
/// replies, logs, tracing and counters are the exchange's own.
extension HTTPExchange: HTTP2StreamOwner, HTTP2FlushTarget {
    static let maxHeldRequestBytes = 64 * 1024

    var client: any HTTP2FlushTarget { self }

    // MARK: - The request

    /// After routing and admission: the request as a header block, a small body taken whole when it can be kept for
    /// a retry, the route timeout, then the stream.
    func startHTTP2(
        head: UnsafeRawBufferPointer, headLength: Int, request: HTTPRequestHead, entry: RouteEntry,
        inbound ib: ByteBuffer
    ) {
        ib.readerIndex += headLength
        if request.targetForm == .authority {
            return replyBeforeUpstream(status: 501, reason: "CONNECT is not proxied to HTTP/2 upstreams", inbound: ib)
        }
        let block = h2.request ?? HTTP2HeaderBlock()
        h2.request = block
        var options = HTTP1ToHTTP2.RequestOptions()
        options.secure = connection.tlsInfo != nil
        var scratch = h2.scratch
        connection.peerIPBytes.withUnsafeBytes { ip in
            options.xForwardedFor = ip
            withOptionalBytes(entry.hostRewrite) { host in
                options.hostRewrite = host
                withOptionalBytes(entry.prefixRewrite) { prefix in
                    if let p = prefix { options.prefixRewrite = (entry.matchedPrefixLength, p) }
                    HTTP1ToHTTP2.request(
                        head: request, headers: d.requestHeaders, source: head, options: options, into: block,
                        scratch: &scratch)
                }
            }
        }
        h2.scratch = scratch
        if logging, let r = logRecord, accessLog?.tracing != nil { block.applyTrace(r) }
        let replayable = HTTPExchangeState.isReplayable(
            bodyKind: request.bodyKind, available: ib.readableBytes,
            maxReplayBytes: manager.options.maxReplayBodyBytes, headBytes: 0,
            capacity: connection.bufferPool.bufferSize)
        state.routed(by: entry, replayable: replayable)
        if replayable {
            let keep = connection.bufferPool.acquire()
            if case .contentLength(let len) = request.bodyKind, len > 0 {
                keep.write(UnsafeRawBufferPointer(rebasing: ib.readableView[0..<len]))
                ib.readerIndex += len
                requestBody = HTTPBodyTracker(kind: .none)
                state.requestComplete = true
            }
            replay = keep
        }
        executor.arm(timer, afterNs: entry.timeoutNs)
        sendHTTP2()
    }

    /// Picks a host, finds a connection with room (or opens one) and opens the stream; a kept body goes with it.
    func sendHTTP2() {
        guard let c = cluster, let block = h2.request, let h = pickHost(c) else { return }
        let pool = HTTP1ExchangeHostPool.on(h, executor: executor, slot: manager.http2PoolSlot)
        guard
            let u = pool.connection(
                to: h, of: c, from: connection,
                idleTimeout: manager.options.upstreamIdleTimeout)
        else {
            logFlag(.upstreamOverflow)
            return fail(status: 503, reason: "upstream overflow")
        }
        // A connect refused at once (no ports, no route): nothing will come on that connection.
        if u.lost { return upstreamLoss(connectFailure: true, staleReuse: false) }
        let kept = replay?.readableBytes ?? 0
        let endStream = requestComplete && kept == 0
        guard let sid = u.session.submitRequest(block, endStream: endStream) else {
            return fail(status: 503, reason: "upstream refused a new stream")
        }
        h2.upstream = u
        h2.id = sid
        h2.requestEnded = endStream
        h2.responseEnded = false
        u.streams[sid] = self
        if kept > 0, let body = replay {
            u.session.sendData(stream: sid, body.readableView, endStream: requestComplete)
            h2.requestEnded = requestComplete
        }
        h.stats.requestTotal.wrappingAdd(1, ordering: .relaxed)
        h.stats.requestActive.wrappingAdd(1, ordering: .relaxed)
        if logging { logSent(connectionID: u.connection?.id ?? 0) }
        u.flush()
    }

    /// Request body bytes (the head's framing taken off) as DATA on the stream.
    func forwardRequestBodyHTTP2(_ ib: ByteBuffer) {
        let u = h2.upstream
        let id = h2.id
        let complete: Bool
        let result = requestBody.consume(ib.readableView) { u?.session.sendData(stream: id, $0, endStream: false) }
        switch result {
        case .invalid(let e):
            manager.stats.protocolErrors.wrappingAdd(1, ordering: .relaxed)
            d.requestBodyFailed(self, e)
            return
        case .partial(let n):
            ib.readerIndex += n
            complete = false
        case .complete(let n):
            ib.readerIndex += n
            complete = true
        }
        if ib.readableBytes == 0 {
            ib.release()
            d.inbound = nil
        }
        if let u {
            if complete {
                u.session.sendData(stream: id, UnsafeRawBufferPointer(start: nil, count: 0), endStream: true)
                h2.requestEnded = true
            } else if !h2.clientPaused && u.session.pendingBodyBytes(stream: id) > Self.maxHeldRequestBytes {
                h2.clientPaused = true
                connection.pauseReading()
            }
            u.flush()
        }
        if complete { finishRequestBody() }
    }

    /// The server's window took request bytes: a client paused for it reads again once little is left waiting.
    func requestBytesSent(_ bytes: Int) {
        guard h2.clientPaused, let u = h2.upstream,
            u.session.pendingBodyBytes(stream: h2.id) < Self.maxHeldRequestBytes / 4
        else { return }
        h2.clientPaused = false
        connection.resumeReading()
    }

    // MARK: - The response (from the HTTP2Upstream, on this executor)

    func responseHeaders(_ block: HTTP2HeaderBlock, endStream: Bool) {
        guard h2.upstream != nil else { return }
        guard let s = block.first(":status"), let status = HTTP2ProxyStream.decimal(s), status >= 100, status != 101
        else {
            return failFromUpstream(status: 502, reason: "invalid upstream response")
        }
        if endStream { h2.responseEnded = true }
        if status < 200 {
            // An interim response (100 Continue a client may wait for): passed on; the final one follows.
            _ = state.responseHead(status: status, retriable: false)
            HTTP1ToHTTP2.responseHead(
                block, status: status, framing: .none, close: false, keepAliveForHTTP10: false, into: &h2.scratch)
            h2.scratch.withUnsafeBytes { appendOut($0) }
            return
        }
        let retriable = route?.entry.shouldRetry(status: status) ?? false
        if state.responseHead(status: status, retriable: retriable) == .retry {
            if let h = host { cluster?.outlier?.record(host: h, failure: status >= 500) }
            return retry()
        }
        countUpstreamResponse(status)
        h2.status = status
        h2.framing = HTTP1ToHTTP2.framing(
            status: status, method: method, http11: state.version == .http11, block: block, endStream: endStream)
        h2.closeAfter = state.closeAfterResponse(
            untilClose: h2.framing == .untilClose, clientClosedRead: d.clientClosedRead,
            shuttingDown: manager.shuttingDown.load(ordering: .relaxed))
        HTTP1ToHTTP2.responseHead(
            block, status: status, framing: h2.framing, close: h2.closeAfter,
            keepAliveForHTTP10: state.version == .http10 && !h2.closeAfter, into: &h2.scratch)
        h2.scratch.withUnsafeBytes { appendOut($0) }
        countResponse(status)
        if logging { logResponseHead(block, status: status) }
        if endStream { finishHTTP2() }
    }

    func responseData(_ bytes: UnsafeRawBufferPointer) {
        guard let u = h2.upstream else { return }
        if state.responseStarted && h2.status != 0 && h2.framing != .none && h2.framing != .empty {
            if h2.framing == .chunked {
                var size = String(bytes.count, radix: 16)
                size += "\r\n"
                size.withUTF8 { appendOut(UnsafeRawBufferPointer($0)) }
                appendOut(bytes)
                appendOut(HTTP1ToHTTP2.bytes("\r\n"))
            } else {
                appendOut(bytes)
            }
            h2.bodyBytes += bytes.count
        }
        // Bytes a rule says carry no body are read and dropped.
        if state.clientWritable {
            u.session.consume(stream: h2.id, bytes: bytes.count)
        } else {
            h2.owed += bytes.count
        }
    }

    func responseEnded() {
        guard h2.upstream != nil, state.responseStarted, h2.status != 0 else { return }
        h2.responseEnded = true
        if h2.framing == .chunked { appendOut(HTTP1ToHTTP2.bytes("0\r\n\r\n")) }
        finishHTTP2()
    }

    func responseTrailers(_ block: HTTP2HeaderBlock) {
        guard h2.upstream != nil, state.responseStarted, h2.status != 0 else { return }
        h2.responseEnded = true
        if h2.framing == .chunked {
            HTTP1ToHTTP2.trailers(block, into: &h2.scratch)
            h2.scratch.withUnsafeBytes { appendOut($0) }
        }
        finishHTTP2()
    }

    /// The whole response is with the client connection: the stream leaves, the next request may start.
    private func finishHTTP2() {
        let closeAfter = state.closeAfterResponse(
            untilClose: h2.framing == .untilClose, clientClosedRead: d.clientClosedRead,
            shuttingDown: manager.shuttingDown.load(ordering: .relaxed))
        state.finished()
        recordFinished(status: h2.status, bodyBytes: h2.bodyBytes)
        detachHTTP2()
        flush()
        endRequest()
        d.exchangeFinished(self, closeAfter: closeAfter || h2.closeAfter)
    }

    /// The server reset the stream (or it closed) before the response was complete.
    func upstreamStreamClosed(errorCode: UInt32) {
        leaveLostStream()
        // REFUSED_STREAM: the server did nothing with it (RFC 9113 §8.7), so it may go again for free, once per
        // request (a server refusing every stream must not keep it bouncing); later refusals count as resets.
        let refused = errorCode == HTTP2ErrorCodes.refusedStream && !state.responseStarted && !h2.refusedOnce
        if refused { h2.refusedOnce = true }
        upstreamLoss(connectFailure: false, staleReuse: refused)
    }

    /// The upstream connection went away with this stream open.
    func upstreamLost(reason: CloseReason, wasConnected: Bool) {
        leaveLostStream()
        let connectFailure: Bool
        switch reason {
        case .connectFailed, .connectTimeout: connectFailure = true
        default: connectFailure = !wasConnected
        }
        upstreamLoss(connectFailure: connectFailure, staleReuse: false)
    }

    // MARK: - The stream leaving

    /// The upstream already dropped the stream: only this side's part is undone.
    private func leaveLostStream() {
        h2.upstream = nil
        host?.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
        resumePausedClient()
    }

    /// The exchange lets go of its stream (done, answered locally, retried or torn down): reset unless both sides
    /// ended it, its window given back.
    func detachHTTP2() {
        guard let u = h2.upstream else { return }
        h2.upstream = nil
        host?.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
        u.streams[h2.id] = nil
        if !(h2.requestEnded && h2.responseEnded) {
            u.session.reset(stream: h2.id, code: HTTP2ErrorCodes.cancel)
        } else if h2.owed > 0 {
            u.session.consume(stream: h2.id, bytes: h2.owed)
        }
        h2.owed = 0
        resumePausedClient()
        u.flush()
    }

    private func resumePausedClient() {
        guard h2.clientPaused else { return }
        h2.clientPaused = false
        if d.phase == .requestBody { connection.resumeReading() }
    }

    /// The client connection can take more: the stream's window held back for it goes to the server.
    func clientWritableForHTTP2() {
        guard let u = h2.upstream, h2.owed > 0 else { return }
        u.session.consume(stream: h2.id, bytes: h2.owed)
        h2.owed = 0
        u.flush()
    }

    // MARK: - Output

    /// Response bytes for the client, gathered in pooled buffers; full ones leave at once, the rest at `flush`.
    private func appendOut(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty {
            let o: ByteBuffer
            if let open = h2.out {
                o = open
            } else {
                o = connection.bufferPool.acquire()
                h2.out = o
            }
            let n = min(o.writableBytes, rest.count)
            o.write(UnsafeRawBufferPointer(rebasing: rest[0..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if o.writableBytes == 0 {
                h2.out = nil
                connection.write(o)
            }
        }
    }

    /// Writes what the upstream's event gathered for the client (called at the event's end, `HTTP2Upstream.touch`).
    func flush() {
        dirty = false
        guard let o = h2.out else { return }
        h2.out = nil
        if o.readableBytes > 0 { connection.write(o) } else { o.release() }
    }
}
