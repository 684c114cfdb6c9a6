import SkiffAccessLog
import SkiffNet
import SkiffProtocol

/// Local replies and the route timeout: what the exchange answers itself when the upstream side fails, or before
/// any upstream was involved.
extension HTTPExchange {
    // MARK: - Local replies

    /// Replies locally after the upstream side failed (nothing was sent downstream for this exchange).
    func fail(status: Int, reason: StaticString, overflow: String? = nil) {
        detachUpstream(reusable: false)
        endRequest()
        // If the request body is still arriving we cannot tell where the next request starts: close after replying.
        let close = state.closeAfterFailure(clientClosedRead: d.clientClosedRead)
        if !requestComplete { d.phase = .closing }
        reply(status: status, reason: reason, body: nil, location: nil, overflow: overflow, close: close)
    }

    /// Replies before any upstream was involved; skips the request body first if it is all here.
    func replyBeforeUpstream(
        status: Int, reason: StaticString, body: [UInt8]? = nil, location: [UInt8]? = nil, overflow: String? = nil,
        inbound ib: ByteBuffer
    ) {
        let bodyWasComplete = requestComplete
        // A body that is all here is skipped; one that would have to be read and dropped closes the connection
        // instead of guessing where the next request starts.
        let (skip, close) = state.skipBodyForLocalReply(
            bodyKind: requestBody.kind, available: ib.readableBytes, clientClosedRead: d.clientClosedRead)
        if skip > 0 {
            ib.readerIndex += skip
            requestBody = HTTPBodyTracker(kind: .none)
        } else if !bodyWasComplete {
            d.phase = .closing
        }
        endRequest()
        reply(status: status, reason: reason, body: body, location: location, overflow: overflow, close: close)
    }

    /// The request body broke off: malformed chunked framing (400) or a stall (408). The upstream has part of a
    /// body, so its connection is closed, never reused; the client gets the refusal now (after the responses before
    /// it), or is cut if this exchange's response has begun.
    func abandonRequestBody(_ e: HTTPParseError) {
        if upstream != nil { host?.stats.requestLocalReset.wrappingAdd(1, ordering: .relaxed) }
        detachUpstream(reusable: false)
        endRequest()
        state.requestComplete = true
        if state.responseStarted { return cutClient(.localReset) }
        reply(status: e.status, reason: e.reason, body: nil, location: nil, overflow: nil, close: true)
    }

    /// A request the codec refused; `log`: some of it arrived, so it gets an access-log line.
    func refuse(_ e: HTTPParseError, log: Bool) {
        if log { beginRefusedLog() }
        state.requestComplete = true
        reply(status: e.status, reason: e.reason, body: nil, location: nil, overflow: nil, close: true)
    }

    func reply(
        status: Int, reason: StaticString, body: [UInt8]?, location: [UInt8]?, overflow: String?, close: Bool
    ) {
        manager.stats.localReplies.wrappingAdd(1, ordering: .relaxed)
        countResponse(status)
        let now = MonotonicClock.now()
        // A request the codec refused never began: no arrival to measure from.
        if state.phase != .idle {
            let took = now &- startNs
            listenerLatency._withUnsafeGuaranteedRef { $0.record(ns: took) }
        }
        if status >= 500 {
            // An upstream failure Skiff answered for: counted on the cluster and on the host it chose, if any.
            cluster?.stats.localFailed.wrappingAdd(1, ordering: .relaxed)
            host?.stats.localFailed.wrappingAdd(1, ordering: .relaxed)
        }
        if sampling { endSample(status: status, flags: "LR", reason: reason, bytesOut: body?.count ?? 0) }
        if logging {
            let length = body?.count ?? HTTPLocalReply.defaultBodyLength(status: status, reason: reason)
            logLocalReplyHeaders(reason: reason, location: location, contentLength: length)
            endLog(status: status, bytesSent: method == .head ? 0 : length, now: now)
        }
        let out = connection.bufferPool.acquire()
        guard
            let n = HTTPLocalReply.render(
                status: status, reason: reason, body: body, location: location, overflow: overflow, close: close,
                headRequest: method == .head, into: out)
        else {
            out.release()
            connection.close(.local)
            return
        }
        out.writerIndex = n
        switch state.localReply(isHead: d.isHead(self), close: close) {
        case .writeNow:
            connection.write(out)
            d.lastFinishNs = MonotonicClock.coarse()
            d.exchangeFinished(self, closeAfter: close)
        case .keep:
            localReply = out
        }
    }

    // MARK: - Timer

    func timedOut() {
        manager.stats.routeTimeouts.wrappingAdd(1, ordering: .relaxed)
        host?.stats.requestTimeout.wrappingAdd(1, ordering: .relaxed)
        logFlag(.upstreamRequestTimeout)
        switch state.timedOut() {
        case .cutClient: cutClient(.upstreamRequestTimeout)
        case .reply: fail(status: 504, reason: "upstream timeout")
        }
    }
}

/// Runs `body` with the bytes of `array`, or nil.
@inline(__always)
func withOptionalBytes<R>(_ array: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let a = array else { return body(nil) }
    return a.withUnsafeBytes { body($0) }
}
