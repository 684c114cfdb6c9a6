import SkiffAccessLog
import SkiffNet
import SkiffProtocol
import SkiffTelemetry
import SkiffUpstream

/// One request and its response: routing, the upstream connection, retries, the route timeout, the response
/// stream, or a local reply. Owned by an `HTTPDownstream`, reused for later requests (no allocation per request),
/// and confined to the same executor.
///
/// An exchange may write to the client only while it is at the head of its downstream's queue; a reply it has to
/// make earlier (no route, overflow, timeout) is rendered and kept until its turn.
final class HTTPExchange: @unchecked Sendable {
    /// The owner. `unowned(unsafe)`: the downstream holds its exchanges and outlives them (they are aborted when it
    /// closes), and checked `unowned` costs a runtime retain on every access.
    unowned(unsafe) let d: HTTPDownstream
    let manager: HTTPConnectionManager
    /// The listener's latency histogram, unretained: the manager's stats outlive every exchange, and recording
    /// through a strong or `unowned` reference costs a retain and a release per request.
    let listenerLatency: Unmanaged<LatencyHistogram>
    /// The listener's table of responses by status (an address: copying it retains nothing).
    let listenerStatuses: HTTPStatusCounts
    let connection: Connection
    let executor: any EventExecutor
    /// `executor.executorIndex`, read once (the access log's lanes are found by it on every line).
    let executorIndex: Int

    /// The exchange's decisions (phase, retry budget, close-after, turn taking) as a value; this class carries
    /// them out.
    var state = HTTPExchangeState()
    var method: HTTPMethod { state.method }
    var requestComplete: Bool { state.requestComplete }
    var requestBody = HTTPBodyTracker(kind: .none)
    /// When the request head was complete (monotonic ns), for the latency histograms.
    var startNs: UInt64 = 0

    // Routing and the upstream side.
    var route: ResolvedRoute?
    var cluster: Cluster?
    /// The cluster's hosts this request may use (its subset, or all); nil when its subset policy leaves none.
    var hostSet: HostSet?
    var host: Host?
    var upstream: HTTPUpstream?
    var triedHosts: [Host] = []
    var requestHash: UInt64 = 0
    /// The rendered upstream request (head + a small body) kept for a retry, or nil when not replayable.
    var replay: ByteBuffer?

    /// A reply made before this exchange's turn; written when it reaches the head of the queue.
    var localReply: ByteBuffer?
    /// Response bytes (and an EOF) that arrived before this exchange's turn: rwloop's blocking reader may already
    /// be inside read() when reading is paused. Replayed in order by `becameHead`.
    var early: [ByteBuffer] = []

    var timer: PollerTimer!
    /// The stream of an `upstream_protocol: Http2` listener's request (`HTTPExchange+HTTP2.swift`), and whether its
    /// gathered response bytes wait for the end of the upstream's event.
    var h2 = HTTPExchangeHTTP2Leg()
    var dirty = false
    /// This request goes to an HTTP/2 upstream (the filter's `upstream_protocol`, or its xDS cluster's).
    var viaHTTP2 = false

    /// True while this request is sampled for the live tap (`HTTPExchange+Sample.swift`); its draft, kept for reuse.
    var sampling = false
    var sampleDraft: HTTPSampleDraft?
    /// True while this request is to be logged (`HTTPExchange+AccessLog.swift`); its log and reused record, held,
    /// and the same two borrowed (`logRef`, `logRecordRef`: what the request path reads, without reference counting).
    var logging = false
    var accessLog: ListenerAccessLog?
    var logRecord: AccessLogRecord?
    var logRef: Unmanaged<ListenerAccessLog>?
    var logRecordRef: Unmanaged<AccessLogRecord>?

    init(downstream: HTTPDownstream) {
        self.d = downstream
        self.manager = downstream.manager
        self.listenerLatency = Unmanaged.passUnretained(downstream.manager.stats.latency)
        self.listenerStatuses = downstream.manager.stats.statuses
        self.connection = downstream.connection
        self.executor = downstream.executor
        self.executorIndex = downstream.executor.executorIndex
        // The timer is cancelled whenever the exchange ends, before the exchange can go away.
        self.timer = PollerTimer { [unowned(unsafe) self] in self.timedOut() }
        triedHosts.reserveCapacity(4)
    }

    /// Clears everything for the next request.
    func reset() {
        timer.cancel()
        sampling = false
        logging = false
        route = nil
        cluster = nil
        hostSet = nil
        host = nil
        upstream = nil
        triedHosts.removeAll(keepingCapacity: true)
        replay?.release()
        replay = nil
        state.clear()
        localReply?.release()
        localReply = nil
        for b in early { b.release() }
        early.removeAll(keepingCapacity: true)
        h2.clear()
        viaHTTP2 = false
    }

    // MARK: - Starting

    /// Routes the request parsed into `d.request`, renders it for the upstream and sends it, or replies locally.
    /// Advances `inbound` past the head (and a small body taken whole).
    func start(head: UnsafeRawBufferPointer, headLength: Int, inbound ib: ByteBuffer) {
        assert(executor.inExecutor, "HTTPExchange started off its executor's thread")
        let request = d.request
        requestBody = HTTPBodyTracker(kind: request.bodyKind, limits: manager.options.limits)
        state.begin(
            method: request.method, version: request.version, connectionClose: request.connectionClose,
            bodyComplete: requestBody.isComplete)
        // A recycled exchange starts writable; a client still behind on the last response is not.
        if !d.clientWritable { state.clientWritabilityChanged(false) }
        manager.stats.requestTotal.wrappingAdd(1, ordering: .relaxed)
        manager.stats.requestActive.wrappingAdd(1, ordering: .relaxed)
        startNs = MonotonicClock.now()
        if manager.tap.isWatched { beginSample(head: head) }
        let routing = manager.routing.value(on: executor)
        if let log = routing.accessLogRef { beginLog(log, head: head) }

        let input = HTTPRouteInput(source: head, request: request, headers: d.requestHeaders)
        guard let (entry, resolved) = routing.route(input) else {
            manager.stats.noRoute.wrappingAdd(1, ordering: .relaxed)
            logFlag(.noRouteFound)
            ib.readerIndex += headLength
            return replyBeforeUpstream(status: 404, reason: "no route matched", inbound: ib)
        }
        switch entry.action {
        case .directResponse(let status, let body):
            ib.readerIndex += headLength
            return replyBeforeUpstream(status: status, reason: "direct response", body: body, inbound: ib)
        case .redirect(let r):
            let location = r.location(for: input)
            ib.readerIndex += headLength
            return replyBeforeUpstream(status: r.responseCode, reason: "redirect", location: location, inbound: ib)
        default:
            break
        }
        route = resolved
        let (c, hosts) = resolved.pick(entry)
        cluster = c
        hostSet = hosts
        if let overflow = c.admitRequest() {
            logFlag(.upstreamOverflow)
            ib.readerIndex += headLength
            return replyBeforeUpstream(status: 503, reason: "upstream overflow", overflow: overflow.rawValue, inbound: ib)
        }
        state.admitted()
        if !entry.hashPolicyHeaders.isEmpty { requestHash = hashKey(entry.hashPolicyHeaders, head: head) }
        viaHTTP2 = c.config.httpProtocol.map { $0 == .http2 } ?? manager.upstreamHTTP2
        if viaHTTP2 {
            return startHTTP2(head: head, headLength: headLength, request: request, entry: entry, inbound: ib)
        }

        let out = connection.bufferPool.acquire()
        guard let n = render(head: head, request: request, entry: entry, into: out) else {
            out.release()
            ib.readerIndex += headLength
            return replyBeforeUpstream(status: 431, reason: "request header fields too large", inbound: ib)
        }
        out.writerIndex = n
        ib.readerIndex += headLength

        // Replayable: no body, or a small body already here in full (then it travels with the head).
        let replayable = HTTPExchangeState.isReplayable(
            bodyKind: request.bodyKind, available: ib.readableBytes,
            maxReplayBytes: manager.options.maxReplayBodyBytes, headBytes: n, capacity: out.capacity)
        state.routed(by: entry, replayable: replayable)
        if replayable, case .contentLength(let len) = request.bodyKind, len > 0 {
            out.write(UnsafeRawBufferPointer(rebasing: ib.readableView[0..<len]))
            ib.readerIndex += len
            requestBody = HTTPBodyTracker(kind: .none)
            state.requestComplete = true
        }
        if replayable {
            let keep = connection.bufferPool.acquire()
            keep.write(out.readableView)
            replay = keep
        }
        executor.arm(timer, afterNs: entry.timeoutNs)
        send(head: out)
    }

    /// Picks a host, gets a pooled or new upstream connection, and queues `head` on it.
    func send(head: ByteBuffer) {
        guard let c = cluster, let h = pickHost(c) else {
            head.release()
            return
        }
        let u: HTTPUpstream
        let pool = HTTPHostPool.on(h, executor: executor, slot: manager.poolSlot)
        if let pooled = pool.take() {
            u = pooled
            manager.stats.upstreamReused.wrappingAdd(1, ordering: .relaxed)
        } else {
            if let overflow = c.admitConnection() {
                head.release()
                logFlag(.upstreamOverflow)
                return fail(status: 503, reason: "upstream overflow", overflow: overflow.rawValue)
            }
            // The request waits for this connection: that is what max_pending_requests bounds.
            if let overflow = c.admitPending() {
                c.connectionClosed()
                head.release()
                logFlag(.upstreamOverflow)
                return fail(status: 503, reason: "upstream overflow", overflow: overflow.rawValue)
            }
            u = HTTPUpstream(host: h, cluster: c, executor: executor, pool: pool)
            u.pendingCounted = true
            let uc = connection.connectUpstream(
                to: h, of: c, idleTimeout: c.config.idleTimeout ?? manager.options.upstreamIdleTimeout, handler: u)
            // A connect refused at once was reported before the exchange adopted the connection: a connect
            // failure now, not a wait for the route timeout.
            if u.closed {
                head.release()
                return upstreamLoss(connectFailure: true, staleReuse: false)
            }
            u.connection = uc
        }
        upstream = u
        u.beginExchange(self)
        // Responses go back in order: only the head exchange reads its upstream.
        if !d.isHead(self) || !state.clientWritable { u.connection.pauseReading() }
        h.stats.requestTotal.wrappingAdd(1, ordering: .relaxed)
        h.stats.requestActive.wrappingAdd(1, ordering: .relaxed)
        u.connection.write(head)
        if logging { logSent(u) }
    }

    /// A host of the request's set not tried yet (by the route's hash policy when it has one), now `host`; nil
    /// after answering 503 when none is healthy.
    func pickHost(_ c: Cluster) -> Host? {
        let picked: Host?
        if let entry = route?.entry, !entry.hashPolicyHeaders.isEmpty {
            picked = hostSet?.pickHost(hash: requestHash, excluding: triedHosts)
        } else {
            picked = hostSet?.pickHost(excluding: triedHosts)
        }
        guard let h = picked else {
            c.stats.noHealthyUpstream.wrappingAdd(1, ordering: .relaxed)
            manager.stats.noHealthyUpstream.wrappingAdd(1, ordering: .relaxed)
            logFlag(.noHealthyUpstream)
            fail(status: 503, reason: "no healthy upstream")
            return nil
        }
        host = h
        triedHosts.append(h)
        return h
    }

    // MARK: - Request body

    func forwardRequestBody(_ ib: ByteBuffer) {
        if viaHTTP2 { return forwardRequestBodyHTTP2(ib) }
        let consumed: Int
        let complete: Bool
        switch requestBody.consume(ib.readableView) {
        case .invalid(let e):
            manager.stats.protocolErrors.wrappingAdd(1, ordering: .relaxed)
            d.requestBodyFailed(self, e)
            return
        case .partial(let n):
            consumed = n
            complete = false
        case .complete(let n):
            consumed = n
            complete = true
        }
        if let u = upstream?.connection {
            if consumed == ib.readableBytes {
                d.inbound = nil
                u.write(ib)
            } else {
                let part = connection.bufferPool.acquire()
                part.write(UnsafeRawBufferPointer(rebasing: ib.readableView[0..<consumed]))
                ib.readerIndex += consumed
                u.write(part)
            }
        } else {
            // Already answered locally: the body is read and dropped.
            ib.readerIndex += consumed
            if ib.readableBytes == 0 {
                ib.release()
                d.inbound = nil
            }
        }
        if complete { finishRequestBody() }
    }

    func finishRequestBody() {
        state.requestComplete = true
        if logging { logRecord.unsafelyUnwrapped.requestFinishedNs = MonotonicClock.now() }
        if d.phase == .requestBody && d.exchanges.last === self { d.requestBodyFinished() }
    }

    /// The upstream reads the request body slower than the client sends it.
    func upstreamWritabilityChanged(_ writable: Bool) {
        guard d.bodyExchange === self else { return }
        if writable { connection.resumeReading() } else { connection.pauseReading() }
    }

    /// The client reads slower than the upstream sends (head exchange only).
    func downstreamWritability(_ writable: Bool) {
        state.clientWritabilityChanged(writable)
        if writable && h2.owed > 0 { clientWritableForHTTP2() }
        guard let u = upstream?.connection else { return }
        if writable { u.resumeReading() } else { u.pauseReading() }
    }

    // MARK: - Turn taking

    /// This exchange now heads the queue: write its kept reply, or start reading its upstream.
    func becameHead() {
        // Writability changes went to the exchange before this one.
        state.clientWritabilityChanged(d.clientWritable)
        if case .writeKeptReply(let close) = state.becameHead(), let reply = localReply {
            localReply = nil
            connection.write(reply)
            d.lastFinishNs = MonotonicClock.coarse()
            d.exchangeFinished(self, closeAfter: close)
            return
        }
        if let u = upstream {
            let stashed = early
            early.removeAll(keepingCapacity: true)
            for b in stashed { upstreamDidRead(u, b) }
            if state.takeEarlyEOF(), upstream === u { upstreamDidReadEOF(u) }
            if state.clientWritable { upstream?.connection?.resumeReading() }
        }
    }

    // MARK: - Upstream events (from HTTPUpstream, on this executor)

    func upstreamDidRead(_ u: HTTPUpstream, _ b: ByteBuffer) {
        guard u === upstream else {
            b.release()
            return
        }
        if !d.isHead(self) {
            early.append(b)
            return
        }
        if u.response.readingBody {
            if let ib = u.response.inbound {
                ib.write(b.readableView)
                b.release()
                u.response.inbound = nil
                forwardResponseBody(u, ib)
            } else {
                forwardResponseBody(u, b)
            }
            return
        }
        guard u.response.appendHeadBytes(b) else {
            return failFromUpstream(status: 502, reason: "upstream response head too large")
        }
        parseResponseHeads(u)
    }

    private func parseResponseHeads(_ u: HTTPUpstream) {
        while !u.response.readingBody {
            let len: Int
            switch u.response.nextHead(limits: manager.options.limits) {
            case .needMore: return
            case .invalid: return failFromUpstream(status: 502, reason: "invalid upstream response")
            case .tooLarge: return failFromUpstream(status: 502, reason: "upstream response head too large")
            case .head(let length): len = length
            }
            guard let ib = u.response.inbound else { return }
            let head = UnsafeRawBufferPointer(rebasing: ib.readableView[0..<len])
            let status = u.response.head.statusCode
            // Retry on a 5xx or a listed status, if allowed and nothing has gone downstream yet.
            let retriable = route?.entry.shouldRetry(status: status) ?? false
            let action = state.responseHead(status: status, retriable: retriable)
            if action == .retry {
                u.response.discardResponse()
                if let h = host { cluster?.outlier?.record(host: h, failure: status >= 500) }
                return retry()
            }
            countUpstreamResponse(status)
            let bodyKind = u.response.head.bodyKind(requestMethod: method)
            let closeAfter = state.closeAfterResponse(
                untilClose: bodyKind == .untilClose, clientClosedRead: d.clientClosedRead,
                shuttingDown: manager.shuttingDown.load(ordering: .relaxed))
            let out = connection.bufferPool.acquire()
            guard
                let n = HTTPRenderer.renderResponse(
                    head: u.response.head, headers: u.response.headers, source: head, into: out.writePointer,
                    capacity: out.writableBytes,
                    options: HTTPRenderer.ResponseOptions(
                        connectionClose: closeAfter,
                        keepAliveForHTTP10: state.version == .http10 && !state.requestClose))
            else {
                out.release()
                return failFromUpstream(status: 502, reason: "upstream response head too large")
            }
            out.writerIndex = n
            connection.write(out)
            if action == .forwardInterim {
                // An interim response (100 Continue): passed on; the final one follows.
                u.response.interimHeadForwarded(length: len)
                continue
            }
            countResponse(status)
            if logging { logResponseHead(u, head: head, status: status) }
            guard let rest = u.response.beginBody(afterHead: len, kind: bodyKind, limits: manager.options.limits) else {
                if u.response.body.isComplete { finish(u) }
                return
            }
            forwardResponseBody(u, rest)
            return
        }
    }

    private func forwardResponseBody(_ u: HTTPUpstream, _ b: ByteBuffer) {
        let consumed: Int
        let complete: Bool
        switch u.response.body.consume(b.readableView) {
        case .invalid:
            b.release()
            manager.stats.upstreamResets.wrappingAdd(1, ordering: .relaxed)
            return cutClient()
        case .partial(let n):
            consumed = n
            complete = false
        case .complete(let n):
            consumed = n
            complete = true
        }
        var reusable = true
        if consumed == b.readableBytes {
            if consumed > 0 { connection.write(b) } else { b.release() }
        } else {
            // Bytes past the end of the response: the upstream is out of step; never reuse it.
            reusable = false
            if consumed > 0 {
                let part = connection.bufferPool.acquire()
                part.write(UnsafeRawBufferPointer(rebasing: b.readableView[0..<consumed]))
                connection.write(part)
            }
            b.release()
        }
        if complete { finish(u, reusable: reusable) }
    }

    func upstreamDidReadEOF(_ u: HTTPUpstream) {
        guard u === upstream else { return }
        let untilClose = u.response.readingBody && u.response.body.kind == .untilClose
        switch state.upstreamEOF(isHead: d.isHead(self), readingUntilCloseBody: untilClose) {
        case .keepForTurn:
            return
        case .finishResponse:
            _ = u.response.body.finishAtEOF()
            finish(u, reusable: false)
        case .upstreamLost:
            upstreamLost(u, reason: .eof, wasConnected: true)
        }
    }

    func upstreamDidClose(_ u: HTTPUpstream, reason: CloseReason, wasConnected: Bool) {
        guard u === upstream else { return }
        upstreamLost(u, reason: reason, wasConnected: wasConnected)
    }

    /// The upstream went away before the response was complete.
    private func upstreamLost(_ u: HTTPUpstream, reason: CloseReason, wasConnected: Bool) {
        let connectFailure: Bool
        switch reason {
        case .connectFailed, .connectTimeout: connectFailure = true
        default: connectFailure = !wasConnected
        }
        // A reused keep-alive connection the server had already closed: one free retry on a fresh connection.
        upstreamLoss(
            connectFailure: connectFailure, staleReuse: wasConnected && u.requestsSent > 1 && !u.gotResponseBytes)
    }

    // MARK: - Ending

    /// The response is complete: park the upstream for reuse, let the next exchange respond.
    private func finish(_ u: HTTPUpstream, reusable: Bool = true) {
        let keepUpstream = state.upstreamReusable(
            inStep: reusable, upstreamClose: u.response.head.connectionClose,
            responseComplete: u.response.body.isComplete)
        let closeAfter = state.closeAfterResponse(
            untilClose: u.response.body.kind == .untilClose, clientClosedRead: d.clientClosedRead,
            shuttingDown: manager.shuttingDown.load(ordering: .relaxed))
        state.finished()
        recordFinished(status: u.response.head.statusCode, bodyBytes: u.response.body.bodyBytes)
        detachUpstream(reusable: keepUpstream)
        endRequest()
        d.exchangeFinished(self, closeAfter: closeAfter)
    }

    /// The response is complete: its latency on the host, the cluster and the listener, its sample and log line.
    @inline(__always)
    func recordFinished(status: Int, bodyBytes: Int) {
        let now = MonotonicClock.now()
        let took = now &- startNs
        host?.latency.record(ns: took)
        cluster?.latency.record(ns: took)
        listenerLatency._withUnsafeGuaranteedRef { $0.record(ns: took) }
        if sampling { endSample(status: status, bytesOut: bodyBytes) }
        if logging { endLog(status: status, bytesSent: bodyBytes, now: now) }
        d.lastFinishNs = now
    }

    /// The upstream answered `status` (final): a success or failure of the host, for its counters and outlier
    /// detection.
    @inline(__always)
    func countUpstreamResponse(_ status: Int) {
        if status >= 500 {
            host?.stats.responseFailed.wrappingAdd(1, ordering: .relaxed)
        } else {
            host?.stats.responseSuccess.wrappingAdd(1, ordering: .relaxed)
        }
        if let h = host { cluster?.outlier?.record(host: h, failure: status >= 500) }
    }

    /// Counts a response sent to the client: by class on the listener's stats, by exact status in its table.
    @inline(__always)
    func countResponse(_ status: Int) {
        manager.stats.countResponseClass(status)
        listenerStatuses.record(status)
    }

    func detachUpstream(reusable: Bool) {
        if h2.upstream != nil { return detachHTTP2() }
        guard let u = upstream else { return }
        upstream = nil
        host?.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
        u.connection?.resumeReading()
        u.endExchange(reusable: reusable)
    }

    func endRequest() {
        timer.cancel()
        let held = state.releaseHolds()
        if held.contains(.clusterRequest) { cluster?.requestFinished() }
        if held.contains(.clusterRetry) { cluster?.retryFinished() }
        if held.contains(.activeRequest) { manager.stats.requestActive.wrappingSubtract(1, ordering: .relaxed) }
        replay?.release()
        replay = nil
    }

    /// Torn down without a reply (client gone, or closing after an earlier response).
    func abort() {
        sampling = false
        if logging { endLogUnanswered(d.closed ? .downstreamTerminated : .localReset) }
        if state.phase != .idle && state.phase != .finished {
            manager.stats.requestResets.wrappingAdd(1, ordering: .relaxed)
        }
        if let u = upstream {
            host?.stats.requestLocalReset.wrappingAdd(1, ordering: .relaxed)
            host?.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
            upstream = nil
            u.exchange = nil
            u.connection?.close(.local)
        }
        if h2.upstream != nil {
            host?.stats.requestLocalReset.wrappingAdd(1, ordering: .relaxed)
            detachHTTP2()
        }
        // What the stream's event gathered goes out first, as the HTTP/1 path's bytes did.
        flush()
        endRequest()
        localReply?.release()
        localReply = nil
        for b in early { b.release() }
        early.removeAll(keepingCapacity: true)
        state.finished()
    }

    /// A response cut mid-way: the client connection must not look complete. `flag`: why, for the access log.
    func cutClient(_ flag: AccessLogFlags = .upstreamConnectionTermination) {
        if sampling { endSample(status: 0, flags: "UC") }
        if logging { endLogUnanswered(flag) }
        abort()
        connection.close(.peerClosed)
    }

    func failFromUpstream(status: Int, reason: StaticString) {
        switch state.upstreamFailed(status: status) {
        case .cutClient: cutClient()
        case .reply(let status): fail(status: status, reason: reason)
        }
    }
}
