import Glibc
import Logging
import SkiffAccessLog
import SkiffJSON
import Synchronization
import SkiffConfig
import SkiffControl
import SkiffNet
import SkiffProtocol
import SkiffProxy
import SkiffTelemetry
import SkiffUpstream

/// Why the engine refused to start. Nothing listens when this is thrown.
public struct EngineError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A listener the engine runs, with what the console and logs need to show it.
public struct RunningListener: Sendable {
    /// As running (a reload that re-routes the listener in place updates it).
    public internal(set) var config: ListenerConfig
    public let listener: Listener
    /// The network filter serving it (a reload re-routes it in place when it is a `ReroutableProxy`).
    public let delegate: any ListenerDelegate
    public let workers: WorkerPool?
    public let tcpProxy: TCPProxy?
    public let http: HTTPConnectionManager?
    /// The RPC proxy (Bolt, Bolt v2, Dubbo) when the listener runs one; its stats are `rpcStats`.
    public let rpcStats: RPCListenerStats?
    /// For `Auto` listeners: the HTTP side's counters; for `Http2` listeners, their per-request counters.
    public let autoHTTPStats: HTTPListenerStats?
    /// The HTTP/2 proxy when the listener runs one.
    public let http2: HTTP2ConnectionManager?
    /// Write counters of this listener's closed connections.
    public let totals: WriteTotals

    public var name: String { config.name }

    /// "tcp", "Http1", "bolt", "boltv2" or "dubbo".
    public var protocolName: String {
        if case .proxy(let p)? = config.filterChains.first?.filters.first { return p.downstreamProtocol.rawValue }
        return "tcp"
    }
    public var address: SocketAddress { listener.address }
    public var model: NetModel { listener.model }
}

/// Wires a validated configuration to clusters, filters and listeners on the configured thread models; owns their
/// lifecycle. Start binds every listener or none; `reload` applies a new config's difference while traffic flows.
///
/// Threads: `start`, `reload`, `stopAccepting` and `stop` are serialised by `lifecycle`; what readers (the publisher,
/// the control socket, the admin API) see lives in `live`, swapped whole under its mutex.
public final class Engine: @unchecked Sendable {
    /// What a reload replaces. Read through the accessors below; never hold it across I/O.
    struct Live {
        var config: SkiffConfiguration
        var configText: [UInt8]
        var clusters: ClusterManager
        var listeners: [RunningListener] = []
        /// Listeners a reload removed or replaced: no longer accepting, their connections finishing. Their worker
        /// pools are shut down once their last connection is gone.
        var retired: [RunningListener] = []
        var healthChecker: HealthChecker?
        var netpollGroups: [Int: NetPollGroup] = [:]
        var rwloopGroup: RWLoopGroup?
        var healthGroup: NetPollGroup?
        /// Hosts a reload removed, still draining, with the cluster they were in: the publisher's drain watch walks
        /// them too (drain_timeout, drain_action, host.drained), then forgets them.
        var removedHosts: [(cluster: Cluster, host: Host)] = []
        /// Worker pools of retired listeners, kept until the engine stops (see `reload`).
        var parkedPools: [WorkerPool] = []
        var reloads = 0
    }

    let live: Mutex<Live>
    /// Serialises start, reload and stop.
    let lifecycle = Mutex(())
    private let threadModelOverride: ThreadModel?
    let logger: Logger
    /// Rings of frames and events, and the connection observer.
    public let hub: TelemetryHub
    /// Errors nobody waits for: logged, counted and recorded as events, never dropped.
    public let errors: BackgroundErrors
    /// TLS endpoints from config, and each listener's and cluster's TLS counters across reloads.
    public let tls: TLSRegistry
    /// Every listener's `access_logs`: the files and the one writer thread (`Engine+AccessLog.swift`).
    public let accessLogs: AccessLogService
    /// Snapshots every counter into the frame ring each tick.
    public private(set) var publisher: FramePublisher!
    /// Finishes drains: DRAINED announcements and drain timeouts (its own thread).
    private(set) var drainWatcher: DrainWatcher!
    public let version: String
    public let configPath: String
    /// Configs applied and refused since start, by origin (`/metrics`).
    public let reloadStats = ConfigReloadStats()
    /// Whether `/metrics` writes `process_*`: the start config's `metrics` sink decides (`disable_collect_process`);
    /// a reload changing it takes effect on restart.
    public let collectProcessMetrics: Bool
    /// Listening sockets received from the process being upgraded, by configured address (`127.0.0.1:12080`); set
    /// before `start`, which serves them instead of binding. What the config no longer has is closed.
    private let inherited = Mutex<[String: Int32]>([:])
    private let dynamic = Mutex<(any DynamicConfigSource)?>(nil)
    /// STRICT_DNS and LOGICAL_DNS clusters' answers (`Engine+DNS.swift`).
    let dns = DNSClusterResolver()
    let dnsLoop = EngineLoopThread(name: "skiff-dns")

    public func inheritListeners(_ fds: [String: Int32]) { inherited.withLock { $0 = fds } }

    public init(
        config: SkiffConfiguration, threadModelOverride: ThreadModel? = nil, logger: Logger, version: String = "dev",
        configPath: String = "", configText: [UInt8] = [], hub: TelemetryHub = TelemetryHub()
    ) throws(EngineError) {
        self.threadModelOverride = threadModelOverride
        self.logger = logger
        self.version = version
        self.configPath = configPath
        self.collectProcessMetrics = config.metrics?.collectProcess ?? true
        self.hub = hub
        self.errors = BackgroundErrors(logger: logger, hub: hub)
        self.tls = TLSRegistry(logger: logger)
        self.accessLogs = Self.makeAccessLogs(logger: logger, errors: errors)
        let clusters: ClusterManager
        let clientTLS = try tls.clientEndpoints(config.clusters)
        let round = dns.resolveDue(config.clusters, now: MonotonicClock.now())
        do {
            clusters = try ClusterManager(configs: dns.expand(config.clusters), tls: clientTLS)
        } catch {
            throw EngineError("cluster_manager: \(error)")
        }
        live = Mutex(Live(config: config, configText: configText, clusters: clusters))
        reportDNS(round, clusters: clusters)
        publisher = FramePublisher(engine: self, hub: hub)
        drainWatcher = DrainWatcher(engine: self, hub: hub)
    }

    /// The xDS client's side of the config, when the config has `dynamic_resources` (set once, before serving).
    public var dynamicSource: (any DynamicConfigSource)? {
        get { dynamic.withLock { $0 } }
        set { dynamic.withLock { $0 = newValue } }
    }

    /// The running config.
    public var config: SkiffConfiguration { live.withLock { $0.config } }
    /// The running clusters.
    public var clusters: ClusterManager { live.withLock { $0.clusters } }
    /// The listeners accepting now.
    public var listeners: [RunningListener] { live.withLock { $0.listeners } }
    /// Active checks and ejection expiry, on one dedicated poller (rebuilt by a reload).
    public var healthChecker: HealthChecker? { live.withLock { $0.healthChecker } }
    /// Hosts removed by reloads that have not been seen drained yet.
    public var removedHosts: [(cluster: Cluster, host: Host)] { live.withLock { $0.removedHosts } }

    /// The drain watch saw `host` drained: it is no longer tracked.
    public func forgetRemoved(_ host: Host) { live.withLock { $0.removedHosts.removeAll { $0.host === host } } }

    /// Reloads applied since start.
    public var reloadCount: Int { live.withLock { $0.reloads } }

    /// Binds and starts every listener. On any failure, stops those already started and throws.
    public func start() throws(EngineError) {
        try lifecycle.withLock { _ throws(EngineError) in try startLocked() }
    }

    private func startLocked() throws(EngineError) {
        ignoreSIGPIPE()
        let (config, clusters) = live.withLock { ($0.config, $0.clusters) }
        if config.disableUpgrade && !inherited.withLock({ $0.isEmpty }) {
            for fd in inherited.withLock({ m in defer { m = [:] }; return m.values }) { close(fd) }
            throw EngineError(
                "disable_upgrade: the config says this process takes no listeners over from another, but it was started "
                    + "as an upgrade; remove disable_upgrade (or set it false) to upgrade")
        }
        for w in config.warnings { logger.warning("\("config: \(w)")") }
        let checker = try makeHealthChecker(clusters)
        live.withLock { $0.healthChecker = checker }
        let routers = try buildRouters(config)
        var started: [RunningListener] = []
        do {
            for (si, server) in config.servers.enumerated() {
                for (li, lc) in server.listeners.enumerated() {
                    started.append(
                        try startListener(
                            lc, routers: routers[si], clusters: clusters, path: "servers[\(si)].listeners[\(li)]"))
                }
            }
        } catch {
            for l in started { stopListening(l) }
            for fd in inherited.withLock({ m in defer { m = [:] }; return m.values }) { close(fd) }
            stopLocked()
            throw error
        }
        do {
            try publisher.start()
            try drainWatcher.start()
            try startDNS()
        } catch {
            for l in started { stopListening(l) }
            for fd in inherited.withLock({ m in defer { m = [:] }; return m.values }) { close(fd) }
            stopLocked()
            throw EngineError("engine threads: \(error)")
        }
        live.withLock { $0.listeners = started }
        for fd in inherited.withLock({ m in defer { m = [:] }; return m.values }) { close(fd) }
        hub.event(.engineStart(.init(listeners: started.count, config: configPath)))
    }

    /// Active checks for the clusters that have them (and outlier expiry); nil when no cluster needs either.
    func makeHealthChecker(_ clusters: ClusterManager) throws(EngineError) -> HealthChecker? {
        let checked = clusters.clusters.values.filter { $0.config.healthCheck != nil || $0.outlier != nil }
        guard !checked.isEmpty else { return nil }
        let hub = self.hub
        let logger = self.logger
        let group: NetPollGroup
        do {
            group = try healthGroup()
        } catch {
            throw EngineError("health checks: cannot start: \(error)")
        }
        let checker = HealthChecker(clusters: checked, group: group) { cluster, host, up, result in
            hub.event(
                .hostHealth(
                    .init(
                        cluster: cluster.name, host: host.description, to: up ? "UP" : "DOWN", reason: result.reason,
                        latencyUs: result.latencyNs / 1000)))
            logger.notice("\("host \(cluster.name)/\(host): \(up ? "UP" : "DOWN") (\(result.reason))")")
        }
        do {
            try checker.start()
        } catch {
            throw EngineError("health checks: cannot start: \(error)")
        }
        return checker
    }

    /// The one health poller, for the engine's life (reloads rebuild the checker on it).
    private func healthGroup() throws(SystemError) -> NetPollGroup {
        if let g = live.withLock({ $0.healthGroup }) { return g }
        let g = try NetPollGroup(name: "health", count: 1, bufferSize: 16 * 1024)
        live.withLock { $0.healthGroup = g }
        return g
    }

    /// Every server's routers, compiled.
    func buildRouters(_ config: SkiffConfiguration) throws(EngineError) -> [RouterRegistry] {
        var out: [RouterRegistry] = []
        for (i, server) in config.servers.enumerated() {
            do {
                out.append(try RouterRegistry(server.routers))
            } catch {
                throw EngineError("servers[\(i)].routers: \(error)")
            }
        }
        return out
    }

    /// The loaded config as compact JSON (MOSN's shape, as written, with `admin.token` hidden; the model it decoded to
    /// is what runs).
    public func configJSON() -> [UInt8] {
        let text = live.withLock { $0.configText }
        if text.isEmpty { return Array("{}".utf8) }  // built in code, not from a file
        do {
            return JSONWriter.encode(ConfigRedaction.redacted(try JSONParser.parse(text)))
        } catch {
            // It was decoded from these very bytes at start or reload: failing now is a bug, not a user's error.
            errors.record("encoding the running config for config.dump", error)
            return Array("{}".utf8)
        }
    }

    /// Every live connection of every poller and rwloop group (the publisher's walk; allocates).
    public func allLiveConnections() -> [Connection] {
        let (groups, rw) = live.withLock { (Array($0.netpollGroups.values), $0.rwloopGroup) }
        var out: [Connection] = []
        for g in groups { for p in g.pollers { out += p.registry.connections } }
        if let rw { out += rw.registry.connections }
        return out
    }

    /// Closes every live upstream connection to `host` (drain timeout with drain_action close, or `maint --kill`).
    public func closeConnections(to host: Host, reason: String) {
        let victims = allLiveConnections().filter { $0.direction == .outbound && $0.peerAddress == host.address }
        for c in victims { c.close(.local) }
        logger.warning("\("closed \(victims.count) connections to \(host): \(reason)")")
    }

    /// Live connections grouped by owner label (listener or cluster name).
    public func liveConnectionsByOwner() -> [String: [Connection]] {
        Dictionary(grouping: allLiveConnections(), by: \.label)
    }

    private func effectiveModel(_ lc: ListenerConfig) -> NetModel {
        switch threadModelOverride ?? lc.threadModel {
        case .netpoll: return .netpoll
        case .rwloop: return .rwloop
        }
    }

    /// Builds the filter and starts a listener: bound afresh, or serving `inheritedFD` (a dup of a listener being
    /// replaced, or a socket received from the process being upgraded).
    /// `reuseWorkers`: the worker pool of the listener being replaced, kept when the size matches (its connections
    /// go on using it; executor indices are finite, so a reload does not spend new ones needlessly).
    func startListener(
        _ lc: ListenerConfig, routers: RouterRegistry, clusters: ClusterManager, path: String,
        inheritedFD: Int32? = nil, reuseWorkers: WorkerPool? = nil
    ) throws(EngineError) -> RunningListener {
        let fd = inheritedFD ?? inherited.withLock { $0.removeValue(forKey: lc.address.description) }
        do {
            return try startListenerOwningFD(
                lc, routers: routers, clusters: clusters, path: path, inheritedFD: fd, reuseWorkers: reuseWorkers)
        } catch {
            // Whatever failed (filter, address, workers, listen), the inherited socket is ours to close: a leaked
            // dup would keep the old socket listening after its listener is gone.
            if let fd { close(fd) }
            throw error
        }
    }

    private func startListenerOwningFD(
        _ lc: ListenerConfig, routers: RouterRegistry, clusters: ClusterManager, path: String,
        inheritedFD: Int32?, reuseWorkers: WorkerPool?
    ) throws(EngineError) -> RunningListener {
        guard lc.filterChains.count == 1, let filter = lc.filterChains[0].filters.first,
            lc.filterChains[0].filters.count == 1
        else {
            throw EngineError("\(path).filter_chains: exactly one filter chain with one network filter is supported")
        }
        let delegate: any ListenerDelegate
        var tcp: TCPProxy?
        var http: HTTPConnectionManager?
        var rpc: (any ListenerDelegate)?
        var autoHTTP: HTTPListenerStats?
        var http2: HTTP2ConnectionManager?
        let model = effectiveModel(lc)
        let workerCount = lc.workers
        var runsOnStrand = false
        switch filter {
        case .tcpProxy(let c):
            do {
                tcp = try TCPProxy(config: c, clusters: clusters)
            } catch {
                throw EngineError("\(path): \(error)")
            }
            delegate = tcp!
        case .proxy(let p):
            let filterPath = "\(path).filter_chains[0].filters[0].config"
            do {
                switch p.downstreamProtocol {
                case .http1:
                    http = try HTTPConnectionManager(
                        filter: p, routers: routers, clusters: clusters, options: HTTPProxyOptions(listener: lc), tap: hub.requests)
                    delegate = http!
                case .bolt, .boltv2, .dubbo:
                    guard p.upstreamProtocol == p.downstreamProtocol else {
                        throw EngineError(
                            "\(filterPath): upstream_protocol \(p.upstreamProtocol.rawValue) must match downstream_protocol \(p.downstreamProtocol.rawValue) for RPC")
                    }
                    let r = routers
                    let idle = lc.connectionIdleTimeout
                    switch p.downstreamProtocol {
                    case .bolt:
                        rpc = try RPCConnectionManager<BoltCodec>(
                            filter: p, routers: r, clusters: clusters, idleTimeout: idle, tap: hub.requests)
                    case .boltv2:
                        rpc = try RPCConnectionManager<BoltV2Codec>(
                            filter: p, routers: r, clusters: clusters, idleTimeout: idle, tap: hub.requests)
                    default:
                        rpc = try RPCConnectionManager<DubboCodec>(
                            filter: p, routers: r, clusters: clusters, idleTimeout: idle, tap: hub.requests)
                    }
                    delegate = rpc!
                case .auto:
                    let auto = try AutoProtocolManager(
                        filter: p, routers: routers, clusters: clusters, options: HTTPProxyOptions(listener: lc),
                        tap: hub.requests)
                    autoHTTP = auto.httpStats
                    http2 = auto.http2
                    delegate = auto
                case .http2:
                    let h2 = try HTTP2ConnectionManager(
                        filter: p, routers: routers, clusters: clusters, options: HTTPProxyOptions(listener: lc),
                        tap: hub.requests)
                    http2 = h2
                    autoHTTP = h2.stats
                    delegate = h2
                }
            } catch let e as EngineError {
                throw e
            } catch {
                throw EngineError("\(filterPath): \(error)")
            }
            // L7 on rwloop with workers 0 runs inline on the connections' own threads, serially per connection on a
            // strand (RWLoopStrand, docs/architecture.md); with workers N on the sharded worker pool.
            runsOnStrand = model == .rwloop && workerCount == 0
        }
        (delegate as? any AccessLogging)?.setAccessLog(try accessLog(lc, path: path))
        let address: SocketAddress
        do {
            address = try SocketAddress.resolve(host: lc.address.host, port: lc.address.port)
        } catch {
            throw EngineError("\(path).address: \(error)")
        }
        var workers: WorkerPool?
        do {
            if let w = reuseWorkers, workerCount > 0, w.size == workerCount {
                workers = w
            } else if workerCount > 0 {
                workers = try WorkerPool(name: "\(lc.name)", size: workerCount)
            }
        } catch {
            throw EngineError("\(path).workers: \(error)")
        }
        let maxConnections = lc.maxConnections == 0 && model == .rwloop ? 1024 : lc.maxConnections
        let totals = WriteTotals()
        var options = ListenerOptions(
            name: lc.name, address: address, maxConnections: maxConnections,
            connection: ConnectionOptions(
                maxCoalesce: lc.maxCoalesce, writeLimit: lc.connBufferLimitBytes,
                // HTTP and RPC keep their own idle deadlines (between requests, between frames); a tcp_proxy session
                // closes after the listener's or its filter's idle timeout with no byte either way.
                idleTimeout: tcp != nil ? lc.connectionIdleTimeout ?? tcpIdle(filter) : nil, workers: workers,
                totals: totals,
                observer: hub),
            inheritedFD: inheritedFD)
        options.connection.runsOnStrand = runsOnStrand
        options.tls = try tls.serverEndpoint(lc)
        let listener: Listener
        do {
            switch model {
            case .netpoll:
                listener = try netpollGroup(pollers: lc.pollers).listen(options, delegate: delegate)
            case .rwloop:
                let g = live.withLock { l in
                    if l.rwloopGroup == nil { l.rwloopGroup = RWLoopGroup() }
                    return l.rwloopGroup!
                }
                listener = try g.listen(options, delegate: delegate)
            }
        } catch let e as EngineError {
            if workers !== reuseWorkers { workers?.shutdown() }
            throw e
        } catch {
            if workers !== reuseWorkers { workers?.shutdown() }
            throw EngineError("\(path).address: cannot listen on \(lc.address): \(error)")
        }
        let pollerCount = model == .netpoll ? netpollGroup(lc.pollers)?.pollers.count ?? 0 : 0
        let limit = maxConnections == 0 ? "unlimited" : String(maxConnections)
        let line =
            "listener \(lc.name) on \(listener.address) thread_model=\(model.rawValue)"
            + (model == .netpoll ? " pollers=\(pollerCount)" : "") + " workers=\(workerCount)"
            + (runsOnStrand ? " (inline on strands)" : "") + " max_connections=\(limit)"
            + (listener.tls.map { " tls=\($0.contexts.all.count) certificate(s)\($0.inspector ? " inspector" : "")" } ?? "")
        logger.info("\(line)")
        return RunningListener(
            config: lc, listener: listener, delegate: delegate, workers: workers, tcpProxy: tcp, http: http,
            rpcStats: (rpc as? any RPCStatsProviding)?.rpcStats, autoHTTPStats: autoHTTP, http2: http2,
            totals: totals)
    }

    private func tcpIdle(_ f: NetworkFilterConfig) -> Duration? {
        if case .tcpProxy(let c) = f { return c.idleTimeout }
        return nil
    }

    private func netpollGroup(_ pollers: Int?) -> NetPollGroup? {
        live.withLock { $0.netpollGroups[pollers ?? 0] }
    }

    private func netpollGroup(pollers: Int?) throws(EngineError) -> NetPollGroup {
        let key = pollers ?? 0
        if let g = live.withLock({ $0.netpollGroups[key] }) { return g }
        do {
            let n = live.withLock { $0.netpollGroups.count }
            let g = try NetPollGroup(name: "netpoll\(n)", count: pollers)
            live.withLock { $0.netpollGroups[key] = g }
            return g
        } catch {
            throw EngineError("netpoll: cannot start pollers: \(error)")
        }
    }

    func stopListening(_ l: RunningListener) {
        switch l.model {
        case .netpoll: netpollGroup(l.config.pollers)?.stopListening(l.listener)
        case .rwloop: live.withLock { $0.rwloopGroup }?.stopListening(l.listener)
        }
    }

    /// Duplicates of the listening sockets of every listener still accepting, for a binary upgrade: taken under the
    /// lifecycle lock, so no reload or stop closes an original meanwhile. The caller closes them.
    public func listeningSocketsForHandover() -> [(name: String, address: String, fd: Int32)] {
        lifecycle.withLock { _ in
            listeners.compactMap { l in
                guard !l.listener.isStopping else { return nil }
                let fd = fcntl(l.listener.fd, F_DUPFD_CLOEXEC, 3)
                return fd >= 0 ? (l.name, l.config.address.description, fd) : nil
            }
        }
    }

    /// Stops accepting new connections on every listener (graceful stop); established ones go on, and HTTP responses
    /// from now on carry `Connection: close`. Returns once every listening descriptor is closed (the pollers and
    /// rwloop accept threads close them within a poll round; at most `waitMs`), so a connect made after it is
    /// refused and a binary upgrade's new process may bind what its config adds.
    public func stopAccepting(waitMs: Int = 500) {
        let stopped = lifecycle.withLock { _ in
            let all = listeners
            for l in all {
                l.http?.shuttingDown.store(true, ordering: .relaxed)
                l.http2?.shuttingDown.store(true, ordering: .relaxed)
                stopListening(l)
            }
            return all
        }
        var waited = 0
        while waited < waitMs && !stopped.allSatisfy({ $0.listener.isClosed }) {
            usleep(5_000)
            waited += 5
        }
    }

    /// Requests, streams and tcp sessions still in flight across all listeners, retired ones included.
    public var inFlight: Int {
        let all = live.withLock { $0.listeners + $0.retired }
        return all.reduce(0) { sum, l in
            sum + (l.http?.stats.requestActive.load(ordering: .relaxed) ?? 0)
                + (l.autoHTTPStats?.requestActive.load(ordering: .relaxed) ?? 0)
                + (l.rpcStats?.requestActive.load(ordering: .relaxed) ?? 0)
                + (l.tcpProxy?.stats.activeSessions.load(ordering: .relaxed) ?? 0)
        }
    }

    /// The first server's `graceful_timeout` (default 30 s).
    public var gracefulTimeout: Duration { config.servers.first?.gracefulTimeout ?? .seconds(30) }

    /// Stops accepting and closes everything.
    public func stop() {
        // Before the lock: the DNS thread applies new answers under it (a reload), and must not be waited for there.
        dnsLoop.stop()
        lifecycle.withLock { _ in stopLocked() }
    }

    private func stopLocked() {
        publisher?.stop()
        drainWatcher?.stop()
        let (checker, all, groups, health) = live.withLock { l in
            defer {
                l.listeners.removeAll()
                l.retired.removeAll()
                l.healthChecker = nil
                l.healthGroup = nil
            }
            return (l.healthChecker, l.listeners + l.retired, Array(l.netpollGroups.values), l.healthGroup)
        }
        let parked = live.withLock { l in
            defer { l.parkedPools.removeAll() }
            return l.parkedPools
        }
        checker?.stop()
        health?.shutdown()
        for w in parked where !all.contains(where: { $0.workers === w }) { w.shutdown() }
        for l in all {
            stopListening(l)
            l.workers?.shutdown()
        }
        // The listening sockets close on their pollers' threads once each has let go: wait for that (bounded) while
        // the pollers still run, so the ports are free when stop returns (a new engine may bind them at once).
        var waitedMs = 0
        while waitedMs < 500 && !all.allSatisfy({ $0.listener.isClosed }) {
            usleep(2_000)
            waitedMs += 2
        }
        // Idle keep-alive connections are still open: closed gracefully here, before the process exits.
        live.withLock { $0.rwloopGroup }?.closeAll()
        for g in groups { g.shutdown() }
        // Last: every line the executors formatted reaches its file.
        accessLogs.stop()
    }

    /// The netpoll groups in use (for the Threads view).
    public var pollerGroups: [NetPollGroup] { live.withLock { Array($0.netpollGroups.values) } }
    public var rwloop: RWLoopGroup? { live.withLock { $0.rwloopGroup } }
}
