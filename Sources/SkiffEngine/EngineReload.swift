import Glibc
import SkiffAccessLog
import SkiffConfig
import SkiffNet
import SkiffProxy
import SkiffTelemetry
import SkiffUpstream

/// One cluster's host changes in a reload: a line each while few, counts when many (an EDS update of a large
/// cluster would otherwise log hundreds of lines a second).
struct HostChanges {
    var lines: (added: [String], removed: [String], weights: [String]) = ([], [], [])
    static let listedUpTo = 8

    func report(cluster: String) -> [String] {
        let all = lines.added + lines.removed + lines.weights
        if all.count <= Self.listedUpTo { return all.map { "cluster \(cluster): \($0)" } }
        return [
            "cluster \(cluster): \(lines.added.count) hosts added, \(lines.removed.count) removed (draining), "
                + "\(lines.weights.count) weights changed"
        ]
    }
}

/// What a reload changed, one line per thing (`skiff reload` prints them).
public struct ReloadReport: Sendable {
    public var changes: [String] = []
    /// Settings that differ but only take effect on restart (the admin API address, for one).
    public var needRestart: [String] = []

    public var summary: String {
        if changes.isEmpty && needRestart.isEmpty { return "no changes" }
        return (changes + needRestart.map { "\($0) (takes effect on restart)" }).joined(separator: "\n")
    }
}

extension Engine {
    /// Reads, validates and applies the config file at `configPath` (SIGHUP, `skiff reload`). An invalid file is
    /// refused with every error and its path, and nothing changes.
    public func reloadFromFile() throws(EngineError) -> ReloadReport {
        let loaded: (config: SkiffConfiguration, text: [UInt8])
        do {
            loaded = try ConfigDecoder.loadWithText(path: configPath)
        } catch {
            reloadStats.record(.file, .refused)
            throw EngineError(error.errors.map { "\($0)" }.joined(separator: "\n"))
        }
        guard let source = dynamicSource else { return try reload(config: loaded.config, configText: loaded.text) }
        let xdsChanged = loaded.config.xds != config.xds
        // `reload` counts what reaches it; a file the xDS session refuses before that is counted here.
        var reachedEngine = false
        var report: ReloadReport
        do {
            report = try source.reloadFile(loaded.config) { merged throws(EngineError) in
                reachedEngine = true
                return try reload(config: merged, configText: loaded.text)
            }
        } catch {
            if !reachedEngine { reloadStats.record(.file, .refused) }
            throw error
        }
        // The running client keeps its control plane and node.
        if xdsChanged { report.needRestart.append("dynamic_resources") }
        return report
    }

    /// Applies `new` in place, without dropping an established connection or failing an in-flight request:
    /// - clusters are rebuilt with their counters, and each host that is still there (same address, same health
    ///   thresholds) keeps its object: pools, health, ejection and admin state; it takes the new weight. Hosts that
    ///   are gone go to DRAIN (no new work; idle pooled connections close now, busy ones after their last answer);
    /// - a listener whose only change is its routes or filter settings keeps its socket and connections and is
    ///   re-routed: new requests see the new routes and clusters (one relaxed load per request to notice);
    /// - a listener whose socket settings changed is replaced: on the same address the new one serves a dup of the
    ///   same socket (its accept queue carries over: nothing refused), elsewhere it binds; the old one stops
    ///   accepting and its connections finish;
    /// - a listener that is gone stops accepting; its connections finish.
    /// Every bind happens before anything is committed: a failure leaves the running config as it was.
    /// `origin` names where the config came from in the log line and the `config.reload` event (the config file's
    /// path when nil; `xds` for a control plane's update).
    public func reload(
        config new: SkiffConfiguration, configText: [UInt8], origin: String? = nil
    ) throws(EngineError) -> ReloadReport {
        let counted: ConfigReloadStats.Origin = origin == "xds" ? .xds : .file
        do {
            let report = try lifecycle.withLock { _ throws(EngineError) in
                try reloadLocked(new, configText, origin ?? configPath)
            }
            reloadStats.record(counted, .applied)
            return report
        } catch {
            reloadStats.record(counted, .refused)
            throw error
        }
    }

    /// Applies the running config again, read under the reload lock (a file or control-plane reload in between is
    /// never undone): what the DNS thread does when an answer changed (`origin` "dns").
    func reapplyRunningConfig(origin: String) throws(EngineError) -> ReloadReport {
        try lifecycle.withLock { _ throws(EngineError) in
            let (config, text) = live.withLock { ($0.config, $0.configText) }
            return try reloadLocked(config, text, origin)
        }
    }

    private func reloadLocked(
        _ new: SkiffConfiguration, _ configText: [UInt8], _ origin: String
    ) throws(EngineError) -> ReloadReport {
        let (old, oldClusters, oldListeners) = live.withLock { ($0.config, $0.clusters, $0.listeners) }
        var report = ReloadReport()
        if new.admin != old.admin { report.needRestart.append("admin") }
        if new.metrics != old.metrics { report.needRestart.append("metrics") }
        for w in new.warnings { logger.warning("\("config: \(w)")") }

        // 1. Routers and clusters (weights are restored if anything below fails).
        let routers = try buildRouters(new)
        let oldWeights = oldClusters.allHosts.map { ($0, $0.weight) }
        let restoreWeights = { for (h, w) in oldWeights { h.setWeight(w) } }
        let clusters: ClusterManager
        let clientTLS = try tls.clientEndpoints(new.clusters)
        do {
            // Clusters new to this config are resolved now (on the reloading thread); the others keep their answers.
            let round = dns.resolveDue(new.clusters, now: MonotonicClock.now(), onlyNew: true)
            dns.keepOnly(new.clusters)
            clusters = try ClusterManager(configs: dns.expand(new.clusters), previous: oldClusters, tls: clientTLS)
            reportDNS(round, clusters: clusters)
        } catch {
            restoreWeights()  // hosts carried before the failure took their new weights already
            throw EngineError("cluster_manager: \(error)")
        }

        // 2. Decide per listener; bind what must be bound.
        enum Plan {
            /// `certificates`: the listener's TLS contexts read afresh (files may have changed under the same paths).
            /// `accessLog`: set when the listener's `access_logs` changed (the new ones, nil for none).
            case reroute(
                RunningListener, NetworkFilterConfig, RouterRegistry, changed: Bool, certificates: TLSServerContexts?,
                accessLog: ListenerAccessLog??)
            case replace(RunningListener, RunningListener)
            case add(RunningListener)
        }
        var plans: [Plan] = []
        var kept = Set<String>()
        let byName = Dictionary(oldListeners.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        do throws(EngineError) {
            for (si, server) in new.servers.enumerated() {
                for (li, lc) in server.listeners.enumerated() {
                    let path = "servers[\(si)].listeners[\(li)]"
                    guard let running = byName[lc.name] else {
                        plans.append(.add(try startListener(lc, routers: routers[si], clusters: clusters, path: path)))
                        continue
                    }
                    kept.insert(lc.name)
                    if canReroute(running, to: lc) {
                        var (a, b) = (running.config, lc)
                        (a.accessLogs, b.accessLogs) = ([], [])
                        (a.tracing, b.tracing) = (nil, nil)
                        let changed = a != b || routersChanged(old, new, lc)
                        let certificates = try tls.serverContexts(lc.tls)
                        let accessLog: ListenerAccessLog?? =
                            running.config.accessLogs == lc.accessLogs && running.config.tracing == lc.tracing
                            ? .none : .some(try accessLog(lc, path: path))
                        plans.append(
                            .reroute(
                                running, lc.filterChains[0].filters[0], routers[si], changed: changed,
                                certificates: certificates, accessLog: accessLog))
                        continue
                    }
                    var inherited: Int32?
                    if running.config.address == lc.address {
                        do {
                            inherited = try Socket.duplicate(running.listener.fd)
                        } catch {
                            throw EngineError("\(path): cannot take over the listening socket: \(error)")
                        }
                    }
                    let replacement = try startListener(
                        lc, routers: routers[si], clusters: clusters, path: path, inheritedFD: inherited,
                        reuseWorkers: running.workers)
                    plans.append(.replace(running, replacement))
                }
            }
        } catch {
            // The listeners started so far were live at once (netpoll registers on start; a replacement shares its
            // predecessor's accept queue), so they may hold connections already: they stop accepting and retire
            // like any other, their worker pools left running for what they accepted.
            var undone: [RunningListener] = []
            for p in plans {
                switch p {
                case .add(let l), .replace(_, let l):
                    stopListening(l)
                    undone.append(l)
                case .reroute: break
                }
            }
            live.withLock { $0.retired += undone }
            restoreWeights()
            throw error
        }

        // 3. Re-route the kept listeners (checked by config validation; a failure here is reported, not fatal).
        var listeners: [RunningListener] = []
        var retiring: [RunningListener] = []
        for p in plans {
            switch p {
            case .reroute(var l, let filter, let registry, let changed, let certificates, let accessLog):
                if let lc = new.servers.lazy.flatMap(\.listeners).first(where: { $0.name == l.name }) { l.config = lc }
                listeners.append(l)
                if let certificates, let endpoint = l.listener.tls,
                    endpoint.contexts.all.map(\.settings) != certificates.all.map(\.settings)
                {
                    endpoint.replace(certificates)
                    report.changes.append("listener \(l.name): certificates reloaded (new connections use them)")
                }
                if case .some(let log) = accessLog, let logging = l.delegate as? any AccessLogging {
                    logging.setAccessLog(log)
                    let paths = log?.paths.joined(separator: ", ") ?? "none"
                    report.changes.append("listener \(l.name): access logs updated (\(paths))")
                }
                if let r = l.delegate as? any ReroutableProxy {
                    do {
                        try r.reroute(filter: filter, routers: registry, clusters: clusters)
                        if changed { report.changes.append("listener \(l.name): routes updated") }
                    } catch {
                        report.changes.append("listener \(l.name): routes NOT updated: \(error)")
                        logger.error("\("reload: listener \(l.name): \(error)")")
                    }
                }
            case .replace(let old, let l):
                listeners.append(l)
                retiring.append(old)
                // Its connections stay on the old filter: give it the new routes and clusters too (hosts removed by
                // this reload are DRAIN, so old routes would answer 503).
                if let r = old.delegate as? any ReroutableProxy, canReroute(old, to: l.config, ignoringSocket: true) {
                    do {
                        try r.reroute(
                            filter: l.config.filterChains[0].filters[0], routers: registryFor(l.name, new, routers),
                            clusters: clusters)
                    } catch {
                        report.changes.append("listener \(l.name): its old connections keep the old routes: \(error)")
                        logger.error("\("reload: listener \(l.name): old connections keep the old routes: \(error)")")
                    }
                }
                let how = old.config.address == l.config.address ? "same socket" : "moved to \(l.address)"
                report.changes.append("listener \(l.name): replaced (\(how); old connections finish)")
            case .add(let l):
                listeners.append(l)
                report.changes.append("listener \(l.name): added on \(l.address) (\(l.model.rawValue))")
            }
        }
        for l in oldListeners where !kept.contains(l.name) {
            // Gone from the config: its keep-alive clients are told to go (Connection: close after their response).
            l.http?.shuttingDown.store(true, ordering: .relaxed)
            l.http2?.shuttingDown.store(true, ordering: .relaxed)
            retiring.append(l)
            report.changes.append("listener \(l.name): removed (stops accepting; its connections finish)")
        }
        for l in retiring { stopListening(l) }

        // 4. Hosts that are gone drain; the health checker follows the new clusters.
        let newHosts = Set(clusters.allHosts.map(ObjectIdentifier.init))
        var hostChanges: [String: HostChanges] = [:]
        for c in oldClusters.clusters.values {
            let now = clusters[c.name]
            if now == nil { report.changes.append("cluster \(c.name): removed (its hosts drain)") }
            var removed: [Host] = []
            for h in c.hosts where !newHosts.contains(ObjectIdentifier(h)) {
                h.adminState = .drain
                h.drainPools()
                removed.append(h)
                if now != nil { hostChanges[c.name, default: HostChanges()].lines.removed.append("host \(h) removed (draining)") }
            }
            if !removed.isEmpty { live.withLock { l in l.removedHosts += removed.map { (c, $0) } } }
        }
        let weightsBefore = Dictionary(oldWeights.map { (ObjectIdentifier($0.0), $0.1) }, uniquingKeysWith: { a, _ in a })
        for c in clusters.clusters.values.sorted(by: { $0.name < $1.name }) {
            guard let before = oldClusters[c.name] else {
                report.changes.append("cluster \(c.name): added with \(c.hosts.count) hosts")
                continue
            }
            let oldIDs = Set(before.hosts.map(ObjectIdentifier.init))
            var changes = hostChanges[c.name] ?? HostChanges()
            for h in c.hosts {
                let id = ObjectIdentifier(h)
                if !oldIDs.contains(id) {
                    changes.lines.added.append("host \(h) added")
                } else if let w = weightsBefore[id], h.weight != w {
                    changes.lines.weights.append("host \(h) weight \(w) -> \(h.weight)")
                }
            }
            report.changes += changes.report(cluster: c.name)
            var a = before.config
            var b = c.config
            a.hosts = []
            b.hosts = []
            if a != b { report.changes.append("cluster \(c.name): settings updated") }
        }
        let oldChecker = live.withLock { $0.healthChecker }
        oldChecker?.stop()
        let checker: HealthChecker?
        do {
            checker = try makeHealthChecker(clusters)
        } catch {
            checker = nil
            report.changes.append("health checks NOT running: \(error)")
            logger.error("\("reload: \(error)")")
        }

        // 5. Commit; reap retired listeners whose connections are all gone.
        let reap: [RunningListener] = live.withLock { l in
            l.config = new
            l.configText = configText
            l.clusters = clusters
            l.listeners = listeners
            l.healthChecker = checker
            l.reloads += 1
            // Listeners retired by an earlier reload whose last downstream connection is gone leave the list (not
            // this reload's: an rwloop accept thread may still hand over one last connection for up to 50 ms).
            // Their worker pools are parked, not shut down: pooled upstream connections made on those shards may
            // live on in hosts that carried over, and would never see their events on a stopped shard.
            let done = l.retired.filter { $0.listener.stats.active.load(ordering: .relaxed) == 0 }
            l.retired.removeAll { r in done.contains { $0.listener === r.listener } }
            l.retired += retiring
            for r in done {
                if let w = r.workers, !l.parkedPools.contains(where: { $0 === w }) { l.parkedPools.append(w) }
            }
            return done
        }
        _ = reap
        if report.changes.isEmpty && new != old { report.changes.append("config updated (nothing running changed)") }
        let summary = report.changes
        hub.event(.configReload(.init(config: origin, changes: summary)))
        logger.notice("\("reloaded \(origin): \(summary.isEmpty ? "no changes" : summary.joined(separator: "; "))")")
        // The listeners this reload stopped close their sockets on their own threads within a poll round; wait for
        // that (bounded), so the next reload may bind a port this one gave up (a listener removed, then put back).
        var waitedMs = 0
        while waitedMs < 500 && !retiring.allSatisfy({ $0.listener.isClosed }) {
            usleep(5_000)
            waitedMs += 5
        }
        return report
    }

    /// The routers of the server that has listener `name` in `config`.
    private func registryFor(_ name: String, _ config: SkiffConfiguration, _ routers: [RouterRegistry]) -> RouterRegistry {
        for (i, s) in config.servers.enumerated() where s.listeners.contains(where: { $0.name == name }) {
            return routers[i]
        }
        return routers[0]
    }

    /// True when `lc` differs from the running listener in filter content only (same socket settings, same kind of
    /// filter), so the listener can keep its socket and connections. With `ignoringSocket`, only the filter kind
    /// must match (a replaced listener's old filter taking the new routes).
    private func canReroute(_ running: RunningListener, to lc: ListenerConfig, ignoringSocket: Bool = false) -> Bool {
        var a = running.config
        var b = lc
        a.filterChains = []
        b.filterChains = []
        // Access logs (and the digest log tracing writes through them) change in place too
        // (`AccessLogging.setAccessLog`).
        a.accessLogs = []
        b.accessLogs = []
        a.tracing = nil
        b.tracing = nil
        guard a == b || ignoringSocket, let fa = running.config.filterChains.first?.filters.first, let fb = lc.filterChains.first?.filters.first,
            lc.filterChains.count == 1, lc.filterChains[0].filters.count == 1
        else { return false }
        switch (fa, fb) {
        case (.tcpProxy, .tcpProxy): return true
        case (.proxy(let x), .proxy(let y)):
            return x.downstreamProtocol == y.downstreamProtocol && x.upstreamProtocol == y.upstreamProtocol
        default: return false
        }
    }

    /// True when the router `lc` uses is different in `new` (its routes changed, even if the listener did not).
    private func routersChanged(_ old: SkiffConfiguration, _ new: SkiffConfiguration, _ lc: ListenerConfig) -> Bool {
        guard case .proxy(let p)? = lc.filterChains.first?.filters.first else { return false }
        func find(_ c: SkiffConfiguration) -> RouterConfig? {
            for s in c.servers { if let r = s.routers.first(where: { $0.name == p.routerConfigName }) { return r } }
            return nil
        }
        return find(old) != find(new)
    }

}
