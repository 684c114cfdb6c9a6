import SkiffNet
import SkiffTelemetry
import SkiffUpstream

extension FramePublisher {
    /// The latency figures of a host that never answered (what an empty histogram gives, computed once).
    static let unusedLatency = TelemetryFrame.Latency(HistogramSnapshot())

    /// Every cluster, by name, with its hosts; `live` is the frame's one walk of the connection registries, by owner.
    func clusterRecords(live: [String: [Connection]]) -> [TelemetryFrame.Cluster] {
        engine.clusters.clusters.values.sorted(by: { $0.name < $1.name }).map { c in
            let s = c.stats
            var r = TelemetryFrame.Cluster()
            r.name = c.name
            r.lb = c.config.lbType.rawValue
            r.rqTotal = s.requestTotal.load(ordering: .relaxed)
            r.rqActive = s.requestActive.load(ordering: .relaxed)
            r.rqPending = s.requestPending.load(ordering: .relaxed)
            r.cxActive = s.connectionActive.load(ordering: .relaxed)
            r.retries = s.retryTotal.load(ordering: .relaxed)
            r.overflow.maxConnections = s.overflowConnections.load(ordering: .relaxed)
            r.overflow.maxPendingRequests = s.overflowPending.load(ordering: .relaxed)
            r.overflow.maxRequests = s.overflowRequests.load(ordering: .relaxed)
            r.overflow.maxRetries = s.overflowRetries.load(ordering: .relaxed)
            r.noHealthyUpstream = s.noHealthyUpstream.load(ordering: .relaxed)
            r.localFailed = s.localFailed.load(ordering: .relaxed)
            if let service = c.config.healthCheck?.serviceName, !service.isEmpty { r.healthCheckService = service }
            if let subsets = c.subsets {
                r.subsets = subsets.count
                r.subsetPolicy = subsets.config.fallBackPolicy.name
                r.subsetFallbacks = s.subsetFallback.load(ordering: .relaxed)
            }
            if c.config.dns != nil {
                r.dnsResolutions = s.dnsResolutions.load(ordering: .relaxed)
                r.dnsFailures = s.dnsFailures.load(ordering: .relaxed)
            }
            r.latency = TelemetryFrame.Latency(c.latency.snapshot())
            var writes = c.upstreamWrites.snapshot
            for conn in live[c.name] ?? [] where conn.direction == .outbound { writes = writes + conn.stats.snapshot }
            r.writes = TelemetryFrame.Writes(writes)
            r.hosts = c.hosts.map { hostRecord($0, cluster: c) }
            r.tls = c.tls.map(Self.tlsRecord)
            return r
        }
    }

    /// One host: admin state and health as people read them, drain progress, recent checks, counters.
    func hostRecord(_ h: Host, cluster c: Cluster) -> TelemetryFrame.Host {
        let s = h.stats
        var r = TelemetryFrame.Host()
        r.address = h.description
        r.weight = h.weight
        let ramp = c.rampFactor(of: h)
        if ramp < 1 { r.slowStartPercent = Int((ramp * 100).rounded()) }
        if !h.config.metadata.isEmpty { r.metadata = h.config.metadata }
        let admin = h.adminState
        let drained = admin == .drain && h.isDrained
        r.admin = drained ? "DRAINED" : admin.description
        let health = h.health.snapshot
        // MAINT takes no checks: its health is not known, and no check is due.
        r.health = admin == .maint ? "MAINT" : h.health.isEjected ? "EJECTED" : health.text
        r.available = h.isAvailable
        if admin == .drain {
            var d = TelemetryFrame.Drain()
            d.elapsedMs = (MonotonicClock.now() &- h.drainStartedNs.load(ordering: .relaxed)) / 1_000_000
            d.timeoutMs = Connection.nanoseconds(c.config.drainTimeout) / 1_000_000
            d.activeRq = s.requestActive.load(ordering: .relaxed)
            d.activeCx = s.connectionActive.load(ordering: .relaxed) - s.connectionIdle.load(ordering: .relaxed)
            d.idleCx = s.connectionIdle.load(ordering: .relaxed)
            d.drained = drained
            r.drain = d
        }
        r.nextCheckMs = admin == .maint ? nil : engine.healthChecker?.nextCheckMs(h)
        if h.health.isEjected { r.ejectedUntilMs = health.ejectedUntilMs }
        if health.checked {
            r.checks = health.last.map {
                TelemetryFrame.Check(ok: $0.ok, reason: $0.reason, latencyUs: $0.latencyNs / 1000, at: $0.at)
            }
            r.checkRun = health.run
        }
        r.cxActive = s.connectionActive.load(ordering: .relaxed)
        r.cxIdle = s.connectionIdle.load(ordering: .relaxed)
        r.cxTotal = s.connectionTotal.load(ordering: .relaxed)
        r.cxConnectFail = s.connectionConFail.load(ordering: .relaxed)
        r.cxConnectTimeout = s.connectTimeouts.load(ordering: .relaxed)
        r.rqTotal = s.requestTotal.load(ordering: .relaxed)
        r.rqActive = s.requestActive.load(ordering: .relaxed)
        r.rqTimeout = s.requestTimeout.load(ordering: .relaxed)
        r.rqRetry = s.requestRetry.load(ordering: .relaxed)
        r.rqRemoteReset = s.requestRemoteReset.load(ordering: .relaxed)
        r.rqLocalReset = s.requestLocalReset.load(ordering: .relaxed)
        r.ejections = UInt64(health.ejections)
        r.respSuccess = s.responseSuccess.load(ordering: .relaxed)
        r.respFailed = s.responseFailed.load(ordering: .relaxed)
        r.localFailed = s.localFailed.load(ordering: .relaxed)
        // A host that never answered has no histogram storage: no 16 KiB copy for it each frame.
        r.latency = h.latency.isUnused ? Self.unusedLatency : TelemetryFrame.Latency(h.latency.snapshot())
        return r
    }
}
