import SkiffAccessLog
import SkiffNet
import SkiffProtocol
import SkiffTelemetry
import SkiffUpstream

/// One client connection of the RPC proxy: splits frames, answers heartbeats, routes each request by its service
/// header and hands it to a multiplexed upstream connection (which rewrites its id); responses come back through
/// `deliver`, with the client's id restored.
///
/// Threads: confined to `executor`; the upstream connections it uses live on the same executor.
final class RPCDownstream<Codec: RPCCodec>: ConnectionHandler, @unchecked Sendable {
    let connection: Connection
    let manager: RPCConnectionManager<Codec>
    /// The listener's latency histogram, unretained (the manager's stats outlive every connection): recording
    /// through `manager.stats` would cost a retain and a release per stream.
    let listenerLatency: Unmanaged<LatencyHistogram>
    let executor: any EventExecutor
    /// This executor's pool of request copies kept for retries (`RPCConnectionManager.replayPools`), looked up on
    /// the first request (on the executor: rwloop builds handlers on its accept thread).
    private var replayPool: BufferPool?
    var inbound: ByteBuffer?
    var info = RPCFrameInfo()
    /// The request being routed, when the live tap sampled it (handed to its stream, or published by a local reply).
    var pendingSample: RPCSampleDraft?
    /// Streams of this client still waiting upstream (to fail them if the client goes).
    var inFlight = 0
    var closed = false
    /// Closes the connection if the client has not after a protocol error (see `protocolError`).
    var lingerTimer: PollerTimer?
    /// Reading is held back while answers pile up unwritten (the client does not read them) or while too many of
    /// this client's streams wait upstream; either alone keeps it paused.
    var pausedForWrites = false
    var pausedForStreams = false

    /// Streams one client connection may have waiting upstream before Skiff stops reading it; reading resumes when
    /// half are answered. Nothing is refused: the client is held back by TCP flow control.
    static var maxStreamsInFlight: Int { 4096 }
    /// Set when the client leaves with streams in flight: upstream streams hold this handler `unowned(unsafe)`,
    /// and the connection lets go of it when it closes. Cleared by the last stream's end.
    private var keptUntilAnswered: RPCDownstream<Codec>?
    /// Closes a connection that sends no frame (heartbeats count) for `manager.idleTimeoutNs` with nothing in
    /// flight; armed once, re-armed lazily when it fires.
    var idleTimer: PollerTimer?
    /// When the last complete frame arrived (coarse monotonic ns).
    var lastFrameNs: UInt64 = 0
    /// The connection's addresses as access-log lines print them (`accessLogAddresses`), made once.
    var logAddresses: AccessLogAddresses?

    init(connection: Connection, manager: RPCConnectionManager<Codec>, executor: any EventExecutor) {
        self.connection = connection
        self.manager = manager
        self.listenerLatency = Unmanaged.passUnretained(manager.stats.latency)
        self.executor = executor
    }

    /// Starts the idle deadline from the accept. Called once, on the accepting thread or on the executor.
    func start() {
        guard manager.idleTimeoutNs > 0 else { return }
        lastFrameNs = connection.openedAt
        let t = PollerTimer { [weak self] in self?.idleCheck() }
        idleTimer = t
        if executor.inExecutor {
            executor.arm(t, afterNs: manager.idleTimeoutNs)
        } else {
            executor.execute { [self] in if !self.closed { self.executor.arm(t, afterNs: self.manager.idleTimeoutNs) } }
        }
    }

    private func idleCheck() {
        guard !closed, let t = idleTimer else { return }
        let now = MonotonicClock.coarse()
        // Waiting for responses is not idleness, and neither is a client Skiff has stopped reading.
        if inFlight > 0 || pausedForWrites || pausedForStreams { lastFrameNs = now }
        let due = lastFrameNs &+ manager.idleTimeoutNs
        if now < due { return executor.arm(t, afterNs: due &- now) }
        manager.stats.idleTimeouts.wrappingAdd(1, ordering: .relaxed)
        connection.close(.idleTimeout)
    }

    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        if closed {
            buffer.release()
            return
        }
        append(buffer)
        processFrames()
    }

    func connectionDidReadEOF(_ c: Connection) {
        // A client that finished sending still gets its responses; close once none are in flight.
        if inFlight == 0 { connection.shutdownWrite() }
    }

    /// Back-pressure from the client's side: its answers are not being read, so read no more requests (or
    /// heartbeats) from it until they drain.
    func connection(_ c: Connection, writabilityChanged writable: Bool) {
        pausedForWrites = !writable
        updateReading()
    }

    private func updateReading() {
        if closed { return }
        if pausedForWrites || pausedForStreams { connection.pauseReading() } else { connection.resumeReading() }
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        lingerTimer?.cancel()
        lingerTimer = nil
        idleTimer?.cancel()
        idleTimer = nil
        closed = true
        inbound?.release()
        inbound = nil
        // Upstream streams still point here (unowned, to cost nothing per request): stay alive until they end.
        if inFlight > 0 { keptUntilAnswered = self }
    }

    /// Appends a read to the inbound bytes; grows to one contiguous buffer for a frame larger than a pool buffer.
    private func append(_ b: ByteBuffer) {
        guard let ib = inbound, ib.readableBytes > 0 else {
            inbound?.release()
            inbound = b
            return
        }
        if ib.writableBytes < b.readableBytes {
            let need = ib.readableBytes + b.readableBytes
            if ib.readerIndex > 0 && need <= ib.capacity {
                let n = ib.readableBytes
                ib.base.copyMemory(from: ib.base + ib.readerIndex, byteCount: n)
                ib.readerIndex = 0
                ib.writerIndex = n
            } else {
                let bigger = ByteBuffer(capacity: max(need, ib.capacity * 2))
                bigger.write(ib.readableView)
                ib.release()
                inbound = bigger
            }
        }
        inbound!.write(b.readableView)
        b.release()
    }

    private func processFrames() {
        var framed = false
        defer { if framed { lastFrameNs = MonotonicClock.coarse() } }
        while let ib = inbound, ib.readableBytes > 0, !closed {
            switch Codec.frameLength(ib.readableView, limits: manager.limits) {
            case .incomplete:
                return
            case .invalid(let e):
                return protocolError(e, frame: nil)
            case .complete(let length):
                framed = true
                let frame = UnsafeRawBufferPointer(rebasing: ib.readableView[0..<length])
                info.reset()
                if let e = Codec.parse(frame, into: &info, limits: manager.limits) { return protocolError(e, frame: frame) }
                handleFrame(frame)
                guard inbound === ib else { return }
                ib.readerIndex += length
                if ib.readableBytes == 0 {
                    ib.release()
                    inbound = nil
                }
            }
        }
    }

    private func handleFrame(_ frame: UnsafeRawBufferPointer) {
        switch info.kind {
        case .heartbeatRequest:
            manager.stats.heartbeats.wrappingAdd(1, ordering: .relaxed)
            // Encoded on the stack and copied behind the previous answer: a flood of heartbeats costs bytes, not a
            // pool buffer each.
            withUnsafeTemporaryAllocation(byteCount: 256, alignment: 8) { scratch in
                if let n = Codec.encodeHeartbeatResponse(to: info, into: scratch.baseAddress!, capacity: scratch.count) {
                    connection.write(copying: UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                }
            }
        case .request, .oneway:
            route(frame)
        case .response, .heartbeatResponse, .goAway:
            // A client has no business sending these; ignore (MOSN does the same).
            break
        }
    }

    private func route(_ frame: UnsafeRawBufferPointer) {
        let oneway = info.kind == .oneway
        manager.stats.requestTotal.wrappingAdd(1, ordering: .relaxed)
        if oneway { manager.stats.oneway.wrappingAdd(1, ordering: .relaxed) }
        if manager.tap.isWatched && !oneway {
            pendingSample = RPCSampleDraft.begin(
                tap: manager.tap, executor: executor, listener: connection.label, proto: Codec.name, frame: frame,
                info: info)
        }
        let routing = manager.routing.value(on: executor)
        let record = routing.accessLog.map { beginLog($0, frame: frame) }
        let input = RPCRouteInput(frame: frame, info: info)
        guard let (entry, resolved) = routing.route(input), !resolved.clusters.isEmpty else {
            manager.stats.noRoute.wrappingAdd(1, ordering: .relaxed)
            return reply(.noUpstream, "no route matched", oneway: oneway, record: record, flag: .noRouteFound)
        }
        let (cluster, hostSet) = resolved.pick(entry)
        if cluster.admitRequest() != nil {
            cluster.stats.localFailed.wrappingAdd(1, ordering: .relaxed)
            return reply(.overflow, "upstream overflow", oneway: oneway, record: record, flag: .upstreamOverflow)
        }
        guard let hostSet, let host = hostSet.pickHost() else {
            cluster.requestFinished()
            cluster.stats.noHealthyUpstream.wrappingAdd(1, ordering: .relaxed)
            manager.stats.noHealthyUpstream.wrappingAdd(1, ordering: .relaxed)
            cluster.stats.localFailed.wrappingAdd(1, ordering: .relaxed)
            return reply(.noUpstream, "no healthy upstream", oneway: oneway, record: record, flag: .noHealthyUpstream)
        }
        let upstream = RPCUpstream<Codec>.on(host: host, cluster: cluster, via: self)
        let timeoutNs: UInt64
        if let ms = info.timeoutMs, ms > 0 {
            timeoutNs = UInt64(ms) * 1_000_000
        } else {
            timeoutNs = entry.timeoutNs > 0 ? entry.timeoutNs : manager.defaultTimeoutNs
        }
        // With tracing, a Bolt frame may go upstream carrying the trace context Skiff decided (a copy of it).
        let traced = record.flatMap { r in r.traceSend.any ? tracedCopy(r, frame: frame) : nil }
        defer { traced?.release() }
        let frame = traced?.readableView ?? frame
        // The frame goes upstream as a copy whose id is the upstream connection's own.
        let out = sendCopy(frame)
        if oneway {
            upstream.sendOneway(out)
            cluster.requestFinished()
            if let record {
                upstream.logSent(record)
                endLogLocally(record, kind: nil, flag: [], bytesSent: 0, host: host, cluster: cluster)
            }
            return
        }
        inFlight += 1
        if inFlight >= Self.maxStreamsInFlight && !pausedForStreams {
            pausedForStreams = true
            updateReading()
        }
        manager.stats.requestActive.wrappingAdd(1, ordering: .relaxed)
        // A second copy stays with the stream until it is answered, to send again if it is lost unanswered.
        let retry = entry.rpcRetry
        let now = MonotonicClock.now()
        upstream.send(
            out,
            RPCUpstream<Codec>.Stream(
                downstream: self, hosts: hostSet, originalID: info.requestID, deadline: now &+ timeoutNs, started: now,
                protocolVersion: info.protocolVersion, codecByte: info.codecByte, retry: retry,
                replay: retry.left > 0 ? replayCopy(frame) : nil, sample: pendingSample, logRecord: record))
        pendingSample = nil
    }

    /// A copy of `frame` to queue on an upstream connection (which releases it once written).
    @inline(__always)
    func sendCopy(_ frame: UnsafeRawBufferPointer) -> ByteBuffer {
        let out: ByteBuffer = frame.count <= connection.bufferPool.bufferSize
            ? connection.bufferPool.acquire() : ByteBuffer(capacity: frame.count)
        out.write(frame)
        return out
    }

    /// A copy of `frame` kept while it is in flight: a small pooled buffer for the usual request, a connection pool
    /// buffer for a larger one; only a frame larger than that allocates (as its send copy does).
    @inline(__always)
    private func replayCopy(_ frame: UnsafeRawBufferPointer) -> ByteBuffer {
        let b: ByteBuffer
        if frame.count <= rpcReplayBufferSize {
            if replayPool == nil { replayPool = manager.replayPool(on: executor) }
            b = replayPool.unsafelyUnwrapped.acquire()
        } else if frame.count <= connection.bufferPool.bufferSize {
            b = connection.bufferPool.acquire()
        } else {
            b = ByteBuffer(capacity: frame.count)
        }
        b.write(frame)
        return b
    }

    /// One of this client's streams is over (answered, or failed with no answer to send): the in-flight count,
    /// reading held back for too many streams, and the idle clock, which runs from the last response on (it may not
    /// be flushed yet when the idle timer next looks).
    private func streamEnded() {
        inFlight -= 1
        manager.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
        if pausedForStreams && inFlight <= Self.maxStreamsInFlight / 2 {
            pausedForStreams = false
            updateReading()
        }
        if inFlight == 0 && idleTimer != nil { lastFrameNs = MonotonicClock.coarse() }
    }

    /// A response (or a local error for a stream) for one of this client's requests, with the client's id.
    func deliver(_ response: ByteBuffer) {
        streamEnded()
        if closed {
            response.release()
            // The last answer for a client that left: nothing refers to this handler any more. Last statement.
            if inFlight == 0 { keptUntilAnswered = nil }
            return
        }
        manager.stats.responses.wrappingAdd(1, ordering: .relaxed)
        connection.write(response)
    }

    /// Fails one stream locally (timeout, upstream lost), answering the client with the protocol's error status.
    /// Returns the bytes of the answer queued (0 when none could be made).
    @discardableResult
    func fail(_ kind: RPCErrorKind, request: RPCFrameInfo, message: StaticString) -> Int {
        switch kind {
        case .timeout: manager.stats.timeouts.wrappingAdd(1, ordering: .relaxed)
        case .upstreamReset, .noUpstream: manager.stats.upstreamResets.wrappingAdd(1, ordering: .relaxed)
        default: break
        }
        let out = connection.bufferPool.acquire()
        guard
            let n = Codec.encodeErrorResponse(
                to: request, error: kind, message: message, into: out.writePointer, capacity: out.writableBytes)
        else {
            out.release()
            streamEnded()
            if closed && inFlight == 0 { keptUntilAnswered = nil }  // last statement (see `deliver`)
            return 0
        }
        out.writerIndex += n
        manager.stats.localReplies.wrappingAdd(1, ordering: .relaxed)
        let sent = closed ? 0 : n
        deliver(out)
        return sent
    }

    /// Answers a request locally before it went anywhere (a oneway one only gets its log line).
    private func reply(
        _ kind: RPCErrorKind, _ message: StaticString, oneway: Bool, record: AccessLogRecord?, flag: AccessLogFlags
    ) {
        if oneway {
            if let record { endLogLocally(record, kind: nil, flag: flag, bytesSent: 0) }
            return
        }
        if let s = pendingSample {
            pendingSample = nil
            s.publish(status: 0, cluster: nil, host: nil, flags: "LR", reason: message)
        }
        inFlight += 1
        manager.stats.requestActive.wrappingAdd(1, ordering: .relaxed)
        let sent = fail(kind, request: info, message: message)
        if let record { endLogLocally(record, kind: kind, flag: flag, bytesSent: sent) }
    }

    /// A frame the codec refused: answer with a codec error where the protocol can, count it, close.
    private func protocolError(_ e: RPCError, frame: UnsafeRawBufferPointer?) {
        manager.stats.protocolErrors.wrappingAdd(1, ordering: .relaxed)
        if frame != nil, info.kind == .request {
            let out = connection.bufferPool.acquire()
            if let n = Codec.encodeErrorResponse(
                to: info, error: .codec, message: "codec error", into: out.writePointer, capacity: out.writableBytes)
            {
                out.writerIndex += n
                connection.write(out)
            } else {
                out.release()
            }
        }
        closed = true
        inbound?.release()
        inbound = nil
        // Linger: keep reading (and dropping) so the client's EOF closes the connection; close anyway after 5 s.
        // A paused reader would never see that EOF and the connection would stay half-open for ever.
        connection.shutdownWrite()
        connection.resumeReading()
        let c = connection
        let linger = PollerTimer { [weak self] in
            // Still writing the error response to a slow reader: wait on.
            if c.queuedBytes > 0, let self, let t = self.lingerTimer {
                self.executor.arm(t, afterNs: 5_000_000_000)
            } else {
                c.close(.local)
            }
        }
        lingerTimer = linger
        executor.arm(linger, afterNs: 5_000_000_000)
        _ = e
    }
}
