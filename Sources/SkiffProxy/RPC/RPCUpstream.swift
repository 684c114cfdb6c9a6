import SkiffAccessLog
import SkiffNet
import SkiffProtocol
import SkiffTelemetry
import SkiffUpstream

/// One multiplexed upstream connection to a host, shared by every client connection on its executor: requests from
/// many clients go out with ids from this connection's own id space, and responses are routed back by id with the
/// client's id restored. Per-request timeouts, heartbeats on idle. When the connection is lost, each stream in
/// flight that had no byte of its answer yet is sent again (once by default, `RouteEntry.rpcRetry`) to another host
/// when there is one, alone on a new connection (the first 16; further ones share the pool's); the rest fail.
///
/// Threads: confined to its executor (the same as its clients'), so the stream table takes no lock.
final class RPCUpstream<Codec: RPCCodec>: ConnectionHandler, DrainablePool, @unchecked Sendable {
    /// What is kept per request in flight; a struct in a reserved dictionary, so nothing is allocated per request.
    struct Stream {
        unowned(unsafe) let downstream: RPCDownstream<Codec>
        /// The cluster's hosts the request may go to (its route's subset, or all): a retry picks from them. Held by
        /// the cluster, which this upstream holds.
        unowned(unsafe) let hosts: HostSet
        let originalID: UInt64
        /// Monotonic ns; a retry keeps the first try's deadline (the client's timeout covers every try).
        let deadline: UInt64
        let started: UInt64
        let protocolVersion: UInt8
        let codecByte: UInt8
        /// Sends left if the request is lost unanswered.
        var retry: RPCRetryBudget
        /// The request as the client sent it, kept until it is answered so that it can be sent again; nil when no
        /// retry is allowed. Owned by the stream: released when it ends.
        var replay: ByteBuffer?
        /// The stream holds one of the cluster's `max_retries` slots, from its first retry until it ends.
        var holdsRetrySlot = false
        /// Set only while the live request tap is watched and this request was sampled.
        var sample: RPCSampleDraft? = nil
        /// Set only while the listener has access logs (`RPCAccessLog.swift`).
        var logRecord: AccessLogRecord? = nil
    }

    let host: Host
    let cluster: Cluster
    let executor: any EventExecutor
    let manager: RPCConnectionManager<Codec>
    var connection: Connection!
    var connected = false
    var lost = false
    var streams: [UInt64: Stream] = [:]
    var ids = RPCStreamIDs()
    var inbound: ByteBuffer?
    var info = RPCFrameInfo()
    var timeoutTimer: PollerTimer!
    var heartbeatTimer: PollerTimer!
    var heartbeatMisses = 0
    var heartbeatOutstanding = false
    /// No new streams; the connection closes when the last in-flight one completes (a drained host's connection,
    /// one opened for retries, or one that reached the cluster's `max_request_per_conn`).
    var draining = false
    /// Requests sent on this connection (for `max_request_per_conn`).
    var requestsSent = 0

    init(host: Host, cluster: Cluster, executor: any EventExecutor, manager: RPCConnectionManager<Codec>) {
        self.host = host
        self.cluster = cluster
        self.executor = executor
        self.manager = manager
        streams.reserveCapacity(256)
        timeoutTimer = PollerTimer { [unowned(unsafe) self] in self.expireStreams() }
        heartbeatTimer = PollerTimer { [unowned(unsafe) self] in self.heartbeatTick() }
    }

    /// This executor's connection to `host`, opened (on the client's poller) if there is none, it was lost, or its
    /// peer has finished sending (read EOF: an answer can no longer come on it).
    static func on(host: Host, cluster: Cluster, via d: RPCDownstream<Codec>) -> RPCUpstream<Codec> {
        let state = host.state(on: d.executor)
        if let existing = state[slot: d.manager.poolSlot], !existing.lost, !existing.draining {
            // rwloop: the reader thread may have seen the EOF before this executor runs its event.
            if !existing.connection.hasReadEOF { return existing }
            existing.lost = true
        }
        let u = open(host: host, cluster: cluster, via: d)
        state[slot: d.manager.poolSlot] = u
        return u
    }

    /// A new connection to `host` on `d`'s executor, not in the pool: for retries, which go out alone on a fresh
    /// connection (a server that answers N requests per connection then closes answers the first), and closes once
    /// answered.
    static func dedicated(host: Host, cluster: Cluster, via d: RPCDownstream<Codec>) -> RPCUpstream<Codec> {
        let u = open(host: host, cluster: cluster, via: d)
        u.draining = true
        return u
    }

    private static func open(host: Host, cluster: Cluster, via d: RPCDownstream<Codec>) -> RPCUpstream<Codec> {
        let u = RPCUpstream<Codec>(host: host, cluster: cluster, executor: d.executor, manager: d.manager)
        u.connection = d.connection.connectUpstream(to: host, of: cluster, idleTimeout: nil, handler: u)
        return u
    }

    @inline(__always)
    private func takeID() -> UInt64 {
        ids.take { streams[$0] != nil }
    }

    /// Sends a two-way request frame (already copied into `frame`) with a fresh upstream id, as stream `s`.
    func send(_ frame: ByteBuffer, _ s: Stream) {
        let id = takeID()
        Codec.setRequestID(id, in: UnsafeMutableRawBufferPointer(start: frame.readPointer, count: frame.readableBytes))
        host.stats.requestTotal.wrappingAdd(1, ordering: .relaxed)
        streams[id] = s
        host.stats.requestActive.wrappingAdd(1, ordering: .relaxed)
        let now = MonotonicClock.coarse()
        let timeoutNs = s.deadline > now ? s.deadline &- now : 0
        if !timeoutTimer.isArmed || timeoutTimer.deadline > now &+ timeoutNs {
            executor.arm(timeoutTimer, afterNs: timeoutNs)
        }
        connection.write(frame)
        if let r = s.logRecord { logSent(r) }
        countRequest()
    }

    /// Sends a oneway request (no stream: nothing comes back).
    func sendOneway(_ frame: ByteBuffer) {
        Codec.setRequestID(
            takeID(), in: UnsafeMutableRawBufferPointer(start: frame.readPointer, count: frame.readableBytes))
        host.stats.requestTotal.wrappingAdd(1, ordering: .relaxed)
        connection.write(frame)
        countRequest()
    }

    /// At the cluster's `max_request_per_conn` the connection takes no more: the next request opens a new one, this
    /// one closes once answered. `max_request_per_conn: 1` suits a server known to close after each response: no
    /// request then races its close.
    @inline(__always)
    private func countRequest() {
        requestsSent &+= 1
        let limit = cluster.config.maxRequestPerConn
        if limit > 0 && requestsSent >= limit && !draining {
            draining = true
            let state = host.state(on: executor)
            if state[slot: manager.poolSlot] === self { state[slot: manager.poolSlot] = nil }
            // Only oneway requests went out: nothing to wait for but the write itself.
            if streams.isEmpty { connection?.shutdownWrite() }
        }
    }

    // MARK: - Connection events

    func connectionDidConnect(_ c: Connection) {
        connected = true
        host.stats.connectionActive.wrappingAdd(1, ordering: .relaxed)
        // Counted on the cluster too (as HTTP's are), so the cluster's CX is its hosts' connections.
        cluster.stats.connectionActive.wrappingAdd(1, ordering: .relaxed)
        if manager.heartbeatIntervalNs > 0 { executor.arm(heartbeatTimer, afterNs: manager.heartbeatIntervalNs) }
    }

    func connection(_ c: Connection, didRead buffer: ByteBuffer) {
        heartbeatMisses = 0
        if let ib = inbound, ib.readableBytes > 0 {
            if ib.writableBytes < buffer.readableBytes {
                let bigger = ByteBuffer(capacity: max(ib.readableBytes + buffer.readableBytes, ib.capacity * 2))
                bigger.write(ib.readableView)
                ib.release()
                inbound = bigger
            }
            inbound!.write(buffer.readableView)
            buffer.release()
        } else {
            inbound?.release()
            inbound = buffer
        }
        while let ib = inbound, ib.readableBytes > 0 {
            switch Codec.frameLength(ib.readableView, limits: manager.limits) {
            case .incomplete:
                return
            case .invalid:
                manager.stats.protocolErrors.wrappingAdd(1, ordering: .relaxed)
                c.close(.protocolError("bad frame from upstream"))
                return
            case .complete(let length):
                let frame = UnsafeRawBufferPointer(rebasing: ib.readableView[0..<length])
                info.reset()
                if Codec.parse(frame, into: &info, limits: manager.limits) != nil {
                    manager.stats.protocolErrors.wrappingAdd(1, ordering: .relaxed)
                    c.close(.protocolError("bad frame from upstream"))
                    return
                }
                handleFrame(frame)
                // Handling a frame can close this connection (a drained host's last stream), which releases the
                // inbound buffer: never touch it again then.
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
        case .response:
            guard let s = streams.removeValue(forKey: info.requestID) else {
                manager.stats.unknownResponses.wrappingAdd(1, ordering: .relaxed)
                return
            }
            s.replay?.release()
            finishStream(s, success: info.status == 0)
            s.sample?.publish(status: info.status, cluster: cluster, host: host, bytesOut: frame.count)
            if let r = s.logRecord { endLog(r, response: frame, downstreamClosed: s.downstream.closed) }
            defer { if draining && streams.isEmpty { connection?.close(.local) } }
            let out: ByteBuffer = frame.count <= connection.bufferPool.bufferSize
                ? s.downstream.connection.bufferPool.acquire() : ByteBuffer(capacity: frame.count)
            out.write(frame)
            Codec.setRequestID(s.originalID, in: UnsafeMutableRawBufferPointer(start: out.readPointer, count: out.readableBytes))
            s.downstream.deliver(out)
        case .heartbeatResponse:
            heartbeatOutstanding = false
        case .heartbeatRequest:
            let out = connection.bufferPool.acquire()
            if let n = Codec.encodeHeartbeatResponse(to: info, into: out.writePointer, capacity: out.writableBytes) {
                out.writerIndex += n
                connection.write(out)
            } else {
                out.release()
            }
        case .goAway:
            // The host is going away: no new requests here; in-flight ones may still be answered.
            lost = true
        case .request, .oneway:
            break
        }
    }

    /// A stream that gets no answer from upstream (lost connection, timeout): its kept copy goes, the cluster
    /// counts it finished, and its client gets the protocol's error status. The caller has taken it out of `streams`.
    private func failStream(_ s: Stream, _ kind: RPCErrorKind, _ message: StaticString) {
        // The client gets an error Skiff made up for this host: counted where the host's 5xx are.
        host.stats.localFailed.wrappingAdd(1, ordering: .relaxed)
        cluster.stats.localFailed.wrappingAdd(1, ordering: .relaxed)
        s.replay?.release()
        cluster.requestFinished()
        if s.holdsRetrySlot { cluster.retryFinished() }
        s.sample?.publish(status: 0, cluster: cluster, host: host, flags: "LR", reason: message)
        let took = MonotonicClock.now() &- s.started
        s.downstream.listenerLatency._withUnsafeGuaranteedRef { $0.record(ns: took) }
        let sent = s.downstream.fail(kind, request: requestInfo(s), message: message)
        if let r = s.logRecord {
            let flag: AccessLogFlags =
                switch kind {
                case .timeout: .upstreamRequestTimeout
                case .noUpstream: .upstreamConnectionFailure
                default: .upstreamRemoteReset
                }
            endLogFailed(r, kind: kind, flag: flag, bytesSent: sent)
        }
    }

    private func finishStream(_ s: Stream, success: Bool) {
        host.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
        cluster.requestFinished()
        if s.holdsRetrySlot { cluster.retryFinished() }
        let took = MonotonicClock.now() &- s.started
        host.latency.record(ns: took)
        cluster.latency.record(ns: took)
        s.downstream.listenerLatency._withUnsafeGuaranteedRef { $0.record(ns: took) }
        if success {
            host.stats.responseSuccess.wrappingAdd(1, ordering: .relaxed)
        } else {
            host.stats.responseFailed.wrappingAdd(1, ordering: .relaxed)
        }
        // An application error status is the service's answer, not the host failing: only transport counts.
        cluster.outlier?.record(host: host, failure: false)
    }

    /// The peer finished sending: no answer can come any more. Close now, so that the streams in flight are sent
    /// again (or fail) at once and no new stream comes here.
    func connectionDidReadEOF(_ c: Connection) {
        lost = true
        c.close(.eof)
    }

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        lost = true
        timeoutTimer.cancel()
        heartbeatTimer.cancel()
        if connected {
            host.stats.connectionActive.wrappingSubtract(1, ordering: .relaxed)
            cluster.stats.connectionActive.wrappingSubtract(1, ordering: .relaxed)
            host.stats.countClose(reason)
        } else {
            host.stats.connectionConFail.wrappingAdd(1, ordering: .relaxed)
        }
        if !connected || !streams.isEmpty { cluster.outlier?.record(host: host, failure: true) }
        let state = host.state(on: executor)
        if state[slot: manager.poolSlot] === self { state[slot: manager.poolSlot] = nil }
        // A response cut short answered one stream: that one is never sent again. When too little of it came to
        // tell which, none is.
        let cut = answerUnderWay()
        inbound?.release()
        inbound = nil
        // Exactly the streams in flight on this connection are sent again or fail.
        let lostStreams = streams
        streams.removeAll()
        let now = MonotonicClock.now()
        var resent = 0
        for (id, s) in lostStreams {
            host.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
            let answered = cut.map { $0 == nil || $0 == id } ?? false
            if !answered && s.retry.allows(connected: connected) && s.deadline > now && !s.downstream.closed,
                resend(s, alone: resent < Self.retryConnectionsPerLoss)
            {
                resent += 1
                continue
            }
            host.stats.requestRemoteReset.wrappingAdd(1, ordering: .relaxed)
            failStream(
                s, connected ? .upstreamReset : .noUpstream,
                connected ? "upstream connection lost" : "upstream connect failed")
        }
        connection = nil
    }

    /// nil when no response was under way; `.some(id)` for the stream a partial response answers; `.some(nil)` when
    /// a response had begun but too little of it arrived to read its id.
    private func answerUnderWay() -> UInt64?? {
        guard let ib = inbound, ib.readableBytes > 0 else { return nil }
        return .some(Codec.requestID(ofPartial: ib.readableView))
    }

    /// At most this many retries from one lost connection go out alone on connections of their own; the rest share
    /// the pool's (a keep-alive server that went away with hundreds of streams in flight is not met with hundreds
    /// of connects).
    static var retryConnectionsPerLoss: Int { 16 }

    /// Sends stream `s`, lost unanswered here, again, to another host of the cluster when there is one: `alone` on a
    /// new connection (a server that answers N requests per connection and then closes answers the first), else on
    /// the pool's. Counted on this host (`request_retry`) and the cluster (`retries`). False when it cannot go (no
    /// host, the `max_retries` breaker, no copy kept).
    private func resend(_ s: Stream, alone: Bool) -> Bool {
        guard let replay = s.replay, let target = s.hosts.pickHost(excluding: [host]) else { return false }
        var again = s
        // `max_retries` bounds retries in flight: the stream holds its slot until it is answered or fails.
        if !s.holdsRetrySlot {
            if cluster.admitRetry() != nil { return false }
            again.holdsRetrySlot = true
        } else {
            cluster.stats.retryTotal.wrappingAdd(1, ordering: .relaxed)
        }
        host.stats.requestRetry.wrappingAdd(1, ordering: .relaxed)
        manager.stats.retries.wrappingAdd(1, ordering: .relaxed)
        again.retry.left -= 1
        let out = s.downstream.sendCopy(replay.readableView)
        if again.retry.left == 0 {
            // The last try: nothing more to keep.
            again.replay = nil
            replay.release()
        }
        let upstream =
            alone
            ? RPCUpstream.dedicated(host: target, cluster: cluster, via: s.downstream)
            : RPCUpstream.on(host: target, cluster: cluster, via: s.downstream)
        upstream.send(out, again)
        return true
    }

    /// The host is draining: take no new streams, close once the in-flight ones are answered.
    func drain() {
        draining = true
        let state = host.state(on: executor)
        if state[slot: manager.poolSlot] === self { state[slot: manager.poolSlot] = nil }
        if streams.isEmpty { connection?.close(.local) }
    }

    private func requestInfo(_ s: Stream) -> RPCFrameInfo {
        var i = RPCFrameInfo()
        i.kind = .request
        i.requestID = s.originalID
        i.protocolVersion = s.protocolVersion
        i.codecByte = s.codecByte
        return i
    }

    // MARK: - Timers

    /// Fails the streams past their deadline and re-arms for the next one.
    private func expireStreams() {
        let now = MonotonicClock.now()
        var next: UInt64 = .max
        var expired: [UInt64] = []
        for (id, s) in streams {
            if s.deadline <= now {
                expired.append(id)
            } else if s.deadline < next {
                next = s.deadline
            }
        }
        for id in expired {
            guard let s = streams.removeValue(forKey: id) else { continue }
            host.stats.requestTimeout.wrappingAdd(1, ordering: .relaxed)
            host.stats.requestActive.wrappingSubtract(1, ordering: .relaxed)
            failStream(s, .timeout, "upstream timeout")
        }
        if next != .max { executor.arm(timeoutTimer, afterNs: next - now) }
        // A draining (or retry) connection whose last streams timed out has nothing left to wait for.
        if draining && streams.isEmpty && !expired.isEmpty { connection?.close(.local) }
    }

    /// Every interval: a heartbeat when the last one was answered (or none is out); close after too many misses.
    private func heartbeatTick() {
        guard !lost, let c = connection else { return }
        if heartbeatOutstanding {
            heartbeatMisses += 1
            if heartbeatMisses >= manager.heartbeatMisses {
                c.close(.protocolError("\(manager.heartbeatMisses) heartbeats unanswered"))
                return
            }
        }
        let out = connection.bufferPool.acquire()
        let id = takeID()
        if let n = Codec.encodeHeartbeatRequest(id: id, into: out.writePointer, capacity: out.writableBytes) {
            out.writerIndex += n
            heartbeatOutstanding = true
            c.write(out)
        } else {
            out.release()
        }
        executor.arm(heartbeatTimer, afterNs: manager.heartbeatIntervalNs)
    }
}
