import SkiffAccessLog
import SkiffHTTP2
import SkiffNet
import SkiffTelemetry
import SkiffUpstream

/// One HTTP/2 request stream and its response: routing, the upstream stream, the route timeout (or the request's
/// shorter `grpc-timeout`), and Skiff's own replies — gRPC errors for gRPC requests (`HTTP2ProxyStream+Reply.swift`).
/// Owned by an `HTTP2Downstream`, reused for later streams, confined to its executor.
///
/// Life of a stream: `start` (headers read) → request body and trailers go to the upstream stream as they come →
/// response headers, body and trailers come back through the `HTTP2Upstream` → the client's stream closes
/// (`downstreamClosed`), which ends it. Flow control is given back across: request bytes the upstream took reopen
/// the client's window (`requestBytesSent`), response bytes the client took reopen the upstream's
/// (`responseBytesSent`).
final class HTTP2ProxyStream: HTTP2StreamOwner {
    unowned(unsafe) let d: HTTP2Downstream
    var id: Int32 = 0
    /// The upstream connection and stream id, while the upstream stream is open.
    var upstream: HTTP2Upstream?
    var upstreamID: Int32 = 0
    /// Where response bytes the client took are given back: the last upstream stream's connection, kept after that
    /// stream closed (its DATA may still wait here for the client's window), until this stream ends.
    var windowOwner: HTTP2Upstream?
    var windowOwnerID: Int32 = 0
    var route: ResolvedRoute?
    var cluster: Cluster?
    var hostSet: HostSet?
    var host: Host?
    /// The request as sent upstream, kept until the response starts (a connect failure sends it again): the block
    /// the session read, taken from it (`HTTP2Session.takeBlock`).
    var requestHeaders = HTTP2HeaderBlock()
    /// Reused for local replies sent to the client.
    let replyHeaders = HTTP2HeaderBlock()
    var grpc = false
    var requestComplete = false
    var requestBodyBytes = 0
    var responseStarted = false
    var responseDone = false
    var status = 0
    var responseBodyBytes = 0
    var startNs: UInt64 = 0
    var holdsClusterRequest = false
    var holdsActive = false
    var triedConnect = 0
    /// The request body so far, while it fits `maxReplayBodyBytes` (and no trailers came): what a retry after a
    /// connect failure sends again.
    var replayBody: [UInt8] = []
    var replayable = true
    /// Bytes of a resent body whose window the client already got back on the first try (not given back twice).
    var resendOwed = 0
    var timer: PollerTimer!
    /// Whether the stream has gone quiet (`stream_idle_timeout`, `HTTP2ProxyStream+Idle.swift`).
    var idleness = HTTP2StreamIdleness()
    var sampling = false
    var sample = TelemetryRequestSample()
    /// The HTTP/1.1 connection of an `upstream_protocol: Http1` listener's stream while it is in use, how its
    /// request body is framed, request bytes whose window waits for it to drain, whether its reading is paused for
    /// the client, and the request head being rendered (`HTTP2ProxyStream+HTTP1.swift`).
    var h1: HTTP1StreamUpstream?
    var h1Chunked = false
    var h1Owed = 0
    var h1Paused = false
    var h1Scratch: [UInt8] = []
    /// While the listener has access logs: its log and this stream's record (`HTTP2ProxyStream+AccessLog.swift`).
    var accessLog: ListenerAccessLog?
    var logRecord: AccessLogRecord?

    var client: any HTTP2FlushTarget { d }

    init(downstream: HTTP2Downstream) {
        d = downstream
        manager = downstream.manager
        timer = PollerTimer { [unowned(unsafe) self] in self.timedOut() }
    }

    /// The listener's proxy; `unowned(unsafe)`: it outlives its connections and their streams, and a counted
    /// reference costs a retain and a release at each use.
    unowned(unsafe) let manager: HTTP2ConnectionManager

    // MARK: - The request

    func start(id: Int32, headers block: HTTP2HeaderBlock, endStream: Bool) {
        self.id = id
        requestComplete = endStream
        requestBodyBytes = 0
        responseStarted = false
        responseDone = false
        status = 0
        responseBodyBytes = 0
        triedConnect = 0
        replayBody.removeAll(keepingCapacity: true)
        replayable = true
        resendOwed = 0
        startNs = MonotonicClock.now()
        idleness = HTTP2StreamIdleness(startNs: startNs)
        grpc = block.first("content-type").map(GRPCWire.isGRPC) ?? false
        manager.stats.requestTotal.wrappingAdd(1, ordering: .relaxed)
        manager.stats.requestActive.wrappingAdd(1, ordering: .relaxed)
        holdsActive = true
        if manager.tap.isWatched { beginSample(block) }

        let routing = manager.routing.value(on: d.executor)
        if let log = routing.accessLog { beginLog(log, headers: block) }
        let input = HTTP2RouteInput(block: block)
        guard let (entry, resolved) = routing.route(input) else {
            manager.stats.noRoute.wrappingAdd(1, ordering: .relaxed)
            logFlag(.noRouteFound)
            return reply(status: 404, reason: "no route matched")
        }
        switch entry.action {
        case .directResponse(let status, let body):
            return reply(status: status, reason: "direct response", body: body)
        case .redirect(let r):
            return reply(status: r.responseCode, reason: "redirect", location: r.location(for: input))
        default:
            break
        }
        route = resolved
        let (c, hosts) = resolved.pick(entry)
        cluster = c
        hostSet = hosts
        if c.admitRequest() != nil {
            logFlag(.upstreamOverflow)
            return reply(status: 503, reason: "upstream overflow")
        }
        holdsClusterRequest = true

        var timeout = entry.timeoutNs
        if let t = block.first("grpc-timeout") {
            guard let ns = GRPCWire.timeoutNs(t) else { return reply(status: 400, reason: "malformed grpc-timeout") }
            if timeout == 0 || ns < timeout { timeout = max(1, ns) }
        }
        if timeout > 0 { d.executor.arm(timer, afterNs: timeout) }
        // Kept for a retry without a copy: the session reads the next block into this stream's previous one.
        requestHeaders = d.session.takeBlock(leaving: requestHeaders)
        if entry.hostRewrite != nil || entry.prefixRewrite != nil {
            requestHeaders.applyRewrites(of: entry, scratch: &h1Scratch)
        }
        if let r = logRecord, accessLog?.tracing != nil { requestHeaders.applyTrace(r) }
        send()
    }

    /// Picks a host, finds a connection with room on this executor (or opens one), and opens the upstream stream.
    private func send() {
        guard let c = cluster else { return }
        guard let h = hostSet?.pickHost() else {
            c.stats.noHealthyUpstream.wrappingAdd(1, ordering: .relaxed)
            manager.stats.noHealthyUpstream.wrappingAdd(1, ordering: .relaxed)
            logFlag(.noHealthyUpstream)
            return reply(status: 503, reason: "no healthy upstream")
        }
        host = h
        if c.config.httpProtocol.map({ $0 == .http1 }) ?? manager.upstreamHTTP1 { return sendHTTP1(h, c) }
        let pool = HTTP2StreamHostPool.on(h, executor: d.executor, slot: manager.poolSlot)
        guard
            let u = pool.connection(
                to: h, of: c, from: d.connection,
                idleTimeout: manager.options.upstreamIdleTimeout)
        else {
            logFlag(.upstreamOverflow)
            return reply(status: 503, reason: "upstream overflow")
        }
        // A connect refused at once (no ports, no route) is reported before `connection` returns: nothing will come
        // on that connection, so this is a connect failure now.
        if u.lost { return connectFailed() }
        let resend = !replayBody.isEmpty
        guard let sid = u.session.submitRequest(requestHeaders, endStream: requestComplete && !resend) else {
            return reply(status: 503, reason: "upstream refused a new stream")
        }
        upstream = u
        upstreamID = sid
        windowOwner = u
        windowOwnerID = sid
        u.streams[sid] = self
        if resend {
            resendOwed = replayBody.count
            replayBody.withUnsafeBytes { u.session.sendData(stream: sid, $0, endStream: requestComplete) }
        }
        h.stats.requestTotal.wrappingAdd(1, ordering: .relaxed)
        h.stats.requestActive.wrappingAdd(1, ordering: .relaxed)
        if logRecord != nil { logSent(connectionID: u.connection?.id ?? 0) }
        d.touch(u)
    }

    func requestData(_ bytes: UnsafeRawBufferPointer) {
        idleness.bump()
        requestBodyBytes += bytes.count
        if replayable {
            if replayBody.count + bytes.count <= manager.options.maxReplayBodyBytes {
                replayBody.append(contentsOf: bytes)
            } else {
                replayable = false
                replayBody.removeAll(keepingCapacity: true)
            }
        }
        if let u = upstream {
            u.session.sendData(stream: upstreamID, bytes, endStream: false)
            d.touch(u)
        } else if let u = h1 {
            http1RequestData(bytes, u)
        } else {
            // Answered already (or never sent): read and dropped.
            d.session.consume(stream: id, bytes: bytes.count)
        }
    }

    func requestEnded() {
        idleness.bump()
        requestComplete = true
        if logRecord != nil { logRequestFinished() }
        if let u = h1 { return http1RequestEnded(u) }
        guard let u = upstream else { return }
        u.session.sendData(stream: upstreamID, UnsafeRawBufferPointer(start: nil, count: 0), endStream: true)
        d.touch(u)
    }

    func requestTrailers(_ block: HTTP2HeaderBlock) {
        idleness.bump()
        requestComplete = true
        if logRecord != nil { logRequestFinished() }
        replayable = false
        // HTTP/1.1 upstreams: as the chunked body's trailer section (a body with a length has none).
        if let u = h1 { return http1RequestEnded(u, trailers: block) }
        guard let u = upstream else { return }
        u.session.sendTrailers(stream: upstreamID, block)
        d.touch(u)
    }

    /// The upstream took `bytes` of the request body: the client may send that much more.
    func requestBytesSent(_ bytes: Int) {
        let again = min(resendOwed, bytes)
        resendOwed -= again
        d.session.consume(stream: id, bytes: bytes - again)
    }

    // MARK: - The response (from the HTTP2Upstream, on this executor)

    func responseHeaders(_ block: HTTP2HeaderBlock, endStream: Bool) {
        idleness.bump()
        guard !responseDone, let s = block.first(":status"), let code = Self.decimal(s) else { return }
        if code < 200 { return }  // interim responses are not passed on
        status = code
        responseStarted = true
        timer.cancel()
        if code >= 500 {
            host?.stats.responseFailed.wrappingAdd(1, ordering: .relaxed)
        } else {
            host?.stats.responseSuccess.wrappingAdd(1, ordering: .relaxed)
        }
        if let h = host { cluster?.outlier?.record(host: h, failure: code >= 500) }
        countResponse(code)
        if logRecord != nil { logResponseHead(block, status: code) }
        // libnghttp2 copies the fields while submitting: the upstream's block goes as it is.
        guard d.session.submitResponse(stream: id, block, endStream: endStream) else {
            cancelUpstream()
            return resetClient(code: HTTP2ErrorCodes.internalError)
        }
        if endStream { responseComplete() }
    }

    func responseData(_ bytes: UnsafeRawBufferPointer) {
        idleness.bump()
        guard responseStarted, !responseDone else {
            upstream?.session.consume(stream: upstreamID, bytes: bytes.count)
            return
        }
        responseBodyBytes += bytes.count
        d.session.sendData(stream: id, bytes, endStream: false)
    }

    func responseEnded() {
        idleness.bump()
        guard responseStarted, !responseDone else { return }
        d.session.sendData(stream: id, UnsafeRawBufferPointer(start: nil, count: 0), endStream: true)
        responseComplete()
    }

    func responseTrailers(_ block: HTTP2HeaderBlock) {
        idleness.bump()
        guard responseStarted, !responseDone else { return }
        d.session.sendTrailers(stream: id, block)
        responseComplete()
    }

    /// `bytes` of the response body left Skiff (the client's window took them, or the stream ended with them
    /// unsent): the upstream may send that much more, on the stream and on its connection (libnghttp2 gives a closed
    /// stream's bytes back to the connection's window).
    func responseBytesSent(_ bytes: Int) {
        idleness.bump()
        if h1 != nil { return http1ResponseDrained() }
        guard let u = windowOwner else { return }
        u.session.consume(stream: windowOwnerID, bytes: bytes)
        d.touch(u)
    }

    /// The whole response is handed to the client's session.
    private func responseComplete() {
        responseDone = true
        let took = MonotonicClock.now() &- startNs
        host?.latency.record(ns: took)
        cluster?.latency.record(ns: took)
        manager.stats.latency.record(ns: took)
        if sampling { endSample(status: status, flags: "") }
    }

    /// The upstream stream closed (its response is complete, or the server reset it).
    func upstreamStreamClosed(errorCode: UInt32) {
        detachLostUpstream()
        if responseDone { return }
        if errorCode == HTTP2ErrorCodes.refusedStream && !responseStarted {
            // REFUSED_STREAM: the server did nothing with it (RFC 9113 §8.7), so it may go again.
            return connectFailed()
        }
        host?.stats.requestRemoteReset.wrappingAdd(1, ordering: .relaxed)
        logFlag(.upstreamRemoteReset)
        if responseStarted {
            manager.http2Stats.upstreamResets.wrappingAdd(1, ordering: .relaxed)
            return resetClient(code: errorCode == 0 ? HTTP2ErrorCodes.internalError : errorCode)
        }
        reply(status: 503, reason: "upstream reset the stream")
    }

    /// The upstream stream is gone: request bytes still waiting in its session never leave, so the client gets their
    /// window back now (a retry then resends the whole kept body, none of it owed).
    private func detachLostUpstream() {
        if let u = upstream { requestBytesSent(u.session.pendingBodyBytes(stream: upstreamID)) }
        upstream = nil
        host?.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Nothing reached the server (a failed connect, a refused stream): once more, on a connection with room or a
    /// fresh one, with the body so far when it was kept; else 503.
    func connectFailed() {
        if let h = host { cluster?.outlier?.record(host: h, failure: true) }
        triedConnect += 1
        if triedConnect <= 1 && replayable {
            cluster?.stats.retryTotal.wrappingAdd(1, ordering: .relaxed)
            manager.stats.retries.wrappingAdd(1, ordering: .relaxed)
            return send()
        }
        logFlag(.upstreamConnectionFailure)
        reply(status: 503, reason: "upstream connect failure")
    }

    /// The upstream connection went away with this stream open.
    func upstreamLost(reason: CloseReason, wasConnected: Bool) {
        detachLostUpstream()
        if responseDone { return }
        if responseStarted {
            manager.http2Stats.upstreamResets.wrappingAdd(1, ordering: .relaxed)
            logFlag(.upstreamConnectionTermination)
            return resetClient(code: HTTP2ErrorCodes.internalError)
        }
        if !wasConnected { return connectFailed() }
        logFlag(.upstreamConnectionTermination)
        host?.stats.requestRemoteReset.wrappingAdd(1, ordering: .relaxed)
        reply(status: 503, reason: "upstream connection lost")
    }

    // MARK: - Ending

    /// The route timeout (or `grpc-timeout`) ran out.
    private func timedOut() {
        manager.stats.routeTimeouts.wrappingAdd(1, ordering: .relaxed)
        host?.stats.requestTimeout.wrappingAdd(1, ordering: .relaxed)
        logFlag(.upstreamRequestTimeout)
        cancelUpstream()
        if responseStarted {
            resetClient(code: HTTP2ErrorCodes.cancel)
        } else {
            reply(status: 504, reason: "upstream request timeout")
        }
        d.flush()
    }

    /// Resets the upstream stream (the client went away, or Skiff answered instead).
    func cancelUpstream() {
        if h1 != nil {
            host?.stats.requestLocalReset.wrappingAdd(1, ordering: .relaxed)
            detachHTTP1(reusable: false)
        }
        guard let u = upstream else { return }
        upstream = nil
        u.streams[upstreamID] = nil
        // Request bytes still waiting for the upstream's window never leave: the client gets their window back now.
        requestBytesSent(u.session.pendingBodyBytes(stream: upstreamID))
        host?.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
        host?.stats.requestLocalReset.wrappingAdd(1, ordering: .relaxed)
        u.session.reset(stream: upstreamID, code: HTTP2ErrorCodes.cancel)
        d.touch(u)
    }

    func resetClientStream() { resetClient(code: HTTP2ErrorCodes.internalError) }

    func resetClient(code: UInt32) {
        responseDone = true
        if sampling { endSample(status: 0, flags: "UR") }
        d.session.reset(stream: id, code: code)
    }

    /// The client's stream closed: the response went out, or the client (or Skiff) reset it.
    func downstreamClosed(errorCode: UInt32) {
        if errorCode != 0 && !responseDone {
            logFlag(.downstreamTerminated)
            manager.http2Stats.clientResets.wrappingAdd(1, ordering: .relaxed)
            manager.stats.requestResets.wrappingAdd(1, ordering: .relaxed)
            if sampling { endSample(status: 0, flags: "DC") }
        }
        cancelUpstream()
        release()
    }

    /// The client connection closed under this stream.
    func downstreamGone() {
        if !responseDone {
            manager.stats.requestResets.wrappingAdd(1, ordering: .relaxed)
            logFlag(.downstreamTerminated)
            if sampling { endSample(status: 0, flags: "DC") }
        }
        cancelUpstream()
        release()
    }

    private func release() {
        timer.cancel()
        if logRecord != nil { endLog() }
        if holdsClusterRequest {
            holdsClusterRequest = false
            cluster?.requestFinished()
        }
        if holdsActive {
            holdsActive = false
            manager.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
        }
        windowOwner = nil
        route = nil
        cluster = nil
        hostSet = nil
        host = nil
        sampling = false
    }

    @inline(__always) func countResponse(_ code: Int) {
        manager.stats.countResponseClass(code)
        manager.stats.statuses.record(code)
    }

    static func decimal(_ v: UnsafeRawBufferPointer) -> Int? {
        guard !v.isEmpty, v.count <= 9 else { return nil }
        var n = 0
        for b in v {
            guard b >= 48, b <= 57 else { return nil }
            n = n * 10 + Int(b - 48)
        }
        return n
    }
}

/// RFC 9113 error codes the proxy sends.
enum HTTP2ErrorCodes {
    static let internalError: UInt32 = 0x2
    static let refusedStream: UInt32 = 0x7
    static let cancel: UInt32 = 0x8
}
