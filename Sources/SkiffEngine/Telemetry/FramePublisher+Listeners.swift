import SkiffNet
import SkiffTelemetry

extension FramePublisher {
    /// Every running listener's counters; `live` is the frame's one walk of the connection registries, by owner.
    func listenerRecords(live: [String: [Connection]]) -> [TelemetryFrame.Listener] {
        engine.listeners.map { listenerRecord($0, connections: live[$0.name] ?? []) }
    }

    private func listenerRecord(_ l: RunningListener, connections: [Connection]) -> TelemetryFrame.Listener {
        let st = l.listener.stats
        var r = TelemetryFrame.Listener()
        r.name = l.name
        r.address = l.address.description
        r.model = l.model.rawValue
        r.protocol = l.protocolName
        r.workers = l.workers?.size ?? 0
        r.cxActive = st.active.load(ordering: .relaxed)
        r.cxTotal = st.accepted.load(ordering: .relaxed)
        r.cxRefused = st.refusedOverLimit.load(ordering: .relaxed)
        r.acceptErrors = st.acceptErrors.load(ordering: .relaxed)
        if let h = l.http?.stats ?? l.autoHTTPStats {
            r.rqTotal = h.requestTotal.load(ordering: .relaxed)
            r.rqActive = h.requestActive.load(ordering: .relaxed)
            r.rq1xx = h.responses1xx.load(ordering: .relaxed)
            r.rq2xx = h.responses2xx.load(ordering: .relaxed)
            r.rq3xx = h.responses3xx.load(ordering: .relaxed)
            r.rq4xx = h.responses4xx.load(ordering: .relaxed)
            r.rq5xx = h.responses5xx.load(ordering: .relaxed)
            r.localReplies = h.localReplies.load(ordering: .relaxed)
            r.protocolErrors = h.protocolErrors.load(ordering: .relaxed)
            r.routeTimeouts = h.routeTimeouts.load(ordering: .relaxed)
            r.headerTimeouts = h.headerTimeouts.load(ordering: .relaxed)
            r.bodyTimeouts = h.bodyTimeouts.load(ordering: .relaxed)
            r.idleTimeouts = h.idleTimeouts.load(ordering: .relaxed)
            r.retries = h.retries.load(ordering: .relaxed)
        }
        if let rpc = l.rpcStats {
            r.rqTotal = rpc.requestTotal.load(ordering: .relaxed)
            r.rqActive = rpc.requestActive.load(ordering: .relaxed)
            r.oneway = rpc.oneway.load(ordering: .relaxed)
            r.responses = rpc.responses.load(ordering: .relaxed)
            r.heartbeats = rpc.heartbeats.load(ordering: .relaxed)
            r.localReplies = rpc.localReplies.load(ordering: .relaxed)
            r.timeouts = rpc.timeouts.load(ordering: .relaxed)
            r.protocolErrors = rpc.protocolErrors.load(ordering: .relaxed)
            r.unknownResponses = rpc.unknownResponses.load(ordering: .relaxed)
            r.upstreamResets = rpc.upstreamResets.load(ordering: .relaxed)
            r.retries = rpc.retries.load(ordering: .relaxed)
            r.idleTimeouts = rpc.idleTimeouts.load(ordering: .relaxed)
        }
        if let t = l.tcpProxy?.stats {
            r.sessions = t.sessions.load(ordering: .relaxed)
            r.sessionsActive = t.activeSessions.load(ordering: .relaxed)
            r.upstreamConnectFailures = t.upstreamConnectFailures.load(ordering: .relaxed)
        }
        var writes = l.totals.snapshot
        for c in connections where c.direction == .inbound { writes = writes + c.stats.snapshot }
        r.writes = TelemetryFrame.Writes(writes)
        r.tls = l.listener.tls.map(Self.tlsRecord)
        return r
    }
}

extension TelemetryFrame.Writes {
    /// A connection's (or a sum of connections') write counters.
    init(_ s: WriteStatsSnapshot) {
        self.init()
        bytesIn = s.bytesRead
        bytesOut = s.bytesWritten
        buffers = s.buffersQueued
        writev = s.writevCalls
        hist = s.perWritev
        partial = s.partialWrites
        eagain = s.eagain
        peakQueue = s.peakQueueDepth
        readPauses = s.readPauses
    }
}
