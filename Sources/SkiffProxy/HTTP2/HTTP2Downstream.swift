import SkiffHTTP2
import SkiffNet
import SkiffUpstream

/// One client connection of the HTTP/2 proxy: its `HTTP2Session` (server side) reads frames, and each request stream
/// becomes an `HTTP2ProxyStream`, reused for later streams. Flow control is given back by hand: a request body's
/// bytes reopen the client's window only once the upstream connection took them (`http2Sent` there), and response
/// bytes are drained from the session only while the client connection is writable, so a slow side holds the other
/// back instead of filling memory.
///
/// Deadlines on one timer, about once a second: the connection preface and each idle period (no open stream) end at
/// `connection_idle_timeout` (GOAWAY, then close); open streams are swept for `stream_idle_timeout`; a graceful stop
/// sends GOAWAY and closes once the streams are done.
///
/// Threads: confined to `executor` (the connection's poller, strand or worker shard), as are its streams and the
/// upstream connections they use.
final class HTTP2Downstream: ConnectionHandler, HTTP2SessionDelegate, HTTP2FlushTarget, @unchecked Sendable {
    let connection: Connection
    let manager: HTTP2ConnectionManager
    let executor: any EventExecutor
    let session: HTTP2Session
    let streams: HTTP2StreamTable<HTTP2ProxyStream>
    var spare: [HTTP2ProxyStream] = []
    var writable = true
    var closed = false
    /// Set while its output waits for the flush at the end of the event being handled.
    var dirty = false
    /// Upstream connections written to while handling the current client read, flushed at its end.
    var touchedUpstreams: [HTTP2Upstream] = []
    var timer: PollerTimer!
    /// When the last stream ended (coarse monotonic ns), or the accept.
    var idleSinceNs: UInt64 = 0
    var goingAway = false
    /// The client sent FIN: close once the last stream is done (`finishWhenFlushed`, then, until the flush that
    /// writes its last frame is over).
    var clientFinished = false
    var finishWhenFlushed = false
    /// The connection's protocol error is counted (once, however many GOAWAYs say so).
    var countedProtocolError = false

    init(connection: Connection, manager: HTTP2ConnectionManager, executor: any EventExecutor) {
        self.connection = connection
        self.manager = manager
        self.executor = executor
        session = HTTP2Session(role: .server, limits: manager.limits, consumesManually: true)
        streams = HTTP2StreamTable(capacity: Int(manager.limits.maxConcurrentStreams))
        session.delegate = self
        timer = PollerTimer { [unowned self] in self.timerFired() }
        manager.http2Stats.connectionsTotal.wrappingAdd(1, ordering: .relaxed)
    }

    /// Arms the idle deadline from the accept and sends the server's SETTINGS. Called once, on the accepting thread
    /// or on the executor.
    func start() {
        idleSinceNs = connection.openedAt
        if executor.inExecutor {
            begin()
        } else {
            executor.execute { [self] in if !self.closed { self.begin() } }
        }
    }

    private func begin() {
        armTimer()
        flush()
    }

    private func armTimer() {
        let idle = manager.idleTimeoutNs > 0 ? manager.idleTimeoutNs : manager.headerTimeoutNs
        executor.arm(timer, afterNs: min(idle, 1_000_000_000))
    }

    // MARK: - Client connection events

    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        assert(executor.inExecutor, "HTTP2Downstream read off its executor's thread")
        let result = session.receive(buffer.readableView)
        buffer.release()
        if case .failure = result {
            // A connection error (a flood, too many CONTINUATIONs, a broken frame): GOAWAY goes out (counted when
            // it leaves, `http2GoAwaySent`), then FIN.
            session.fail()
            writable = true
            flush()
            if !closed { finishAfterGoAway() }
            return
        }
        flush()
    }

    func connectionDidReadEOF(_ c: Connection) {
        // The client sends no more frames: the streams under way are answered (it may still read), then the
        // connection closes with the last of them.
        clientFinished = true
        if streams.isEmpty { return finishAfterGoAway() }
        // A request the client never finished can no longer finish: reset it (its upstream stream too).
        for s in streams.all where !s.requestComplete {
            s.cancelUpstream()
            session.reset(stream: s.id, code: HTTP2ErrorCodes.cancel)
        }
        flush()
    }

    func connection(_ c: Connection, writabilityChanged w: Bool) {
        writable = w
        if w { flush() }
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        closed = true
        timer.cancel()
        let open = streams.all
        streams.removeAll()
        for s in open {
            // Response bytes that will never be sent: the upstream gets their window back.
            s.responseBytesSent(session.pendingBodyBytes(stream: s.id))
            s.downstreamGone()
        }
        flushTouchedUpstreams()
    }

    // MARK: - Output

    /// Writes what the session has to send, while the client reads (GOAWAY sent and nothing left open: close), then
    /// flushes the upstream connections its events wrote to. Every event handled here or in an `HTTP2Upstream` ends
    /// with a flush, so output never waits for a later event.
    func flush() {
        dirty = false
        defer { flushTouchedUpstreams() }
        guard writable, !closed else { return }
        session.write(to: connection)
        if !session.isOpen || finishWhenFlushed { finishAfterGoAway() }
    }

    /// GOAWAY is out and no stream is left: FIN after the last byte; the client's EOF, or two seconds, closes the rest.
    private func finishAfterGoAway() {
        closed = true
        connection.shutdownWrite()
        executor.arm(timer, afterNs: 2_000_000_000)
    }

    private func flushTouchedUpstreams() {
        if touchedUpstreams.isEmpty { return }
        let touched = touchedUpstreams
        touchedUpstreams.removeAll(keepingCapacity: true)
        for u in touched { u.flush() }
    }

    /// An upstream connection got frames (or window) for this client's streams: flushed at the end of this
    /// connection's flush.
    func touch(_ u: HTTP2Upstream) {
        if !u.dirty {
            u.dirty = true
            touchedUpstreams.append(u)
        }
    }

    // MARK: - Timer

    private func timerFired() {
        if closed {
            // The linger after GOAWAY ran out.
            return connection.close(.local)
        }
        let now = MonotonicClock.coarse()
        if streams.isEmpty {
            if manager.shuttingDown.load(ordering: .relaxed) && !goingAway {
                goingAway = true
                session.goAway()
                flush()
                return
            }
            // The accept time is read from the precise clock, `now` from the coarse one (a tick behind at most).
            if manager.idleTimeoutNs > 0 && now > idleSinceNs && now - idleSinceNs >= manager.idleTimeoutNs {
                manager.http2Stats.idleTimeouts.wrappingAdd(1, ordering: .relaxed)
                goingAway = true
                session.goAway()
                flush()
                if !closed { connection.shutdownWrite() }
                return
            }
        } else {
            if manager.streamIdleTimeoutNs > 0 {
                for s in streams.all { s.checkIdle(now: now, timeoutNs: manager.streamIdleTimeoutNs) }
            }
            if manager.shuttingDown.load(ordering: .relaxed) && !goingAway {
                goingAway = true
                session.goAway()
            }
            flush()
        }
        if closed { return }
        armTimer()
    }

    // MARK: - Session events

    func http2Headers(stream id: Int32, _ block: HTTP2HeaderBlock, kind: HTTP2HeadersKind, endStream: Bool) {
        switch kind {
        case .request:
            let s = spare.popLast() ?? HTTP2ProxyStream(downstream: self)
            streams[id] = s
            s.start(id: id, headers: block, endStream: endStream)
        case .trailers:
            streams[id]?.requestTrailers(block)
        case .response:
            break
        }
    }

    func http2Data(stream id: Int32, _ bytes: UnsafeRawBufferPointer) {
        if let s = streams[id] {
            s.requestData(bytes)
        } else {
            session.consume(stream: id, bytes: bytes.count)
        }
    }

    func http2EndStream(stream id: Int32) { streams[id]?.requestEnded() }

    func http2GoAwaySent(errorCode: UInt32) {
        guard errorCode != 0, !countedProtocolError else { return }
        countedProtocolError = true
        manager.http2Stats.protocolErrors.wrappingAdd(1, ordering: .relaxed)
        manager.stats.protocolErrors.wrappingAdd(1, ordering: .relaxed)
    }

    func http2HeaderListTooLarge(stream id: Int32) {
        manager.http2Stats.headerListTooLarge.wrappingAdd(1, ordering: .relaxed)
    }

    func http2Sent(stream id: Int32, bytes: Int) { streams[id]?.responseBytesSent(bytes) }

    func http2StreamClosed(stream id: Int32, errorCode: UInt32) {
        guard let s = streams.remove(id) else { return }
        s.downstreamClosed(errorCode: errorCode)
        if streams.isEmpty {
            idleSinceNs = MonotonicClock.coarse()
            // Called from inside the session, perhaps mid-flush: the FIN goes after what that flush writes.
            if clientFinished { finishWhenFlushed = true }
        }
        if spare.count < 32 { spare.append(s) }
    }
}
