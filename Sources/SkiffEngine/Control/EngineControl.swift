import Glibc
import Logging
import SkiffConfig
import SkiffControl
import SkiffJSON
import SkiffTelemetry
import SkiffUpstream
import Synchronization

/// The engine behind the control socket and the admin API: answers commands from live state and the rings.
///
/// Threads: called from the control server's client threads and the admin HTTP threads, concurrently; everything
/// it reads is atomic or immutable, and host state changes are atomic stores.
public final class EngineControl: ControlBackend, @unchecked Sendable {
    /// Held strongly: a control or admin thread may still be answering while the process tears the engine down
    /// (an `unowned` reference trapped there). The engine does not refer back, so there is no cycle.
    let engine: Engine
    /// The server hosting the engine: it stops, reloads and knows its state. Weak: the server owns the control
    /// socket, which owns this. Nil in-process without a server (`skiff demo`): `stop` then only stops accepting.
    private weak var runtime: (any ServerRuntime)?

    /// The admin API's configured address and a duplicate of its listening socket, for a binary upgrade to take
    /// over (the caller closes the duplicate); set once the admin API runs.
    public var adminSocket: (@Sendable () -> (address: String, fd: Int32)?)? {
        get { admin.withLock { $0 } }
        set { admin.withLock { $0 = newValue } }
    }
    private let admin = Mutex<(@Sendable () -> (address: String, fd: Int32)?)?>(nil)

    /// The metrics sink's configured address and a duplicate of its listening socket, for a binary upgrade (as
    /// `adminSocket`); set once the sink runs.
    public var metricsSocket: (@Sendable () -> (address: String, fd: Int32)?)? {
        get { metricsSink.withLock { $0 } }
        set { metricsSink.withLock { $0 = newValue } }
    }
    private let metricsSink = Mutex<(@Sendable () -> (address: String, fd: Int32)?)?>(nil)

    /// How long a `stop` asked over the control socket keeps the socket open for its own answer.
    public static let stopReplyGraceMs = 200

    public init(engine: Engine, runtime: (any ServerRuntime)? = nil) {
        self.engine = engine
        self.runtime = runtime
    }

    /// Re-reads and applies the config file (`reload`, the admin API): through the server, which refuses it while
    /// stopping or while a binary upgrade takes the sockets.
    public func reload(by origin: String) throws(EngineError) -> ReloadReport {
        if let runtime { return try runtime.reload(by: origin) }
        return try engine.reloadFromFile()
    }

    /// Serving and configured (see `ServerRuntime.isReady`); in-process without a server, always.
    public var isReady: Bool { runtime?.isReady ?? true }

    /// The server's state word (`running`, `draining`, ...), or `running` in-process without a server.
    public var stateName: String { runtime?.state.rawValue ?? ServerState.running.rawValue }

    /// `log.level` (and MOSN's `POST /api/v1/update_loglevel`): sets the process's log level when `name` is given
    /// (swift-log's or MOSN's names), answers `{"level":...,"previous":...}`.
    public func setLogLevel(_ name: String?, by who: String) -> ControlResult {
        guard let levels = runtime?.runtimeLogLevel else { return .error("this skiff's log level cannot change at run time") }
        let previous = levels.level
        guard let name else {
            return .ok([JSONMember(key: "level", value: .string(previous.rawValue))])
        }
        guard let level = LogSettings.level(named: name) else {
            return .error("unknown level \"\(name)\" (trace, debug, info, notice, warning, error, critical; or MOSN's TRACE ... FATAL)")
        }
        levels.level = level
        engine.logger.notice("\("log level \(previous.rawValue) -> \(level.rawValue) (by \(who))")")
        return .ok([
            JSONMember(key: "level", value: .string(level.rawValue)),
            JSONMember(key: "previous", value: .string(previous.rawValue)),
        ])
    }

    /// `{"state":"running","engine_errors":0}`: the server's part of the `stats` reply.
    func serverStatus() -> ServerStatus {
        ServerStatus(state: runtime?.state.rawValue, engineErrors: engine.errors.count)
    }

    public func handle(_ request: ControlRequest, peer: PeerCredentials) -> ControlResult {
        switch request.cmd {
        case "stats":
            return .ok(fields: FrameReply(frame: engine.publisher.statsFrame(), server: serverStatus()).jsonBytes)
        case "snapshot":
            return .ok(fields: FrameReply(frame: engine.publisher.fullFrame()).jsonBytes)
        case "hosts":
            return .ok(fields: engine.publisher.hosts().jsonBytes)
        case "events":
            // The control server has refused a limit outside `eventLimitRange`; in-process callers get it clamped.
            let range = ControlServer.eventLimitRange
            let limit = min(max(request.int("limit") ?? 100, range.lowerBound), range.upperBound)
            return .ok(
                fields: recentEvents(since: request.uint64("since") ?? 0, limit: limit, kind: request.string("kind"))
                    .jsonBytes)
        case "config.dump":
            return .ok(fields: wrap("config", engine.configJSON()))
        case "log.level":
            return setLogLevel(request.string("level"), by: "control socket (uid \(peer.uid))")
        case "xds":
            guard let source = engine.dynamicSource else {
                return .error("this skiff has no control plane (its config has no dynamic_resources)")
            }
            return .ok(fields: wrap("xds", JSONWriter.encode(source.statusJSON)))
        case "host.set_state":
            return setHostState(
                cluster: request.string("cluster") ?? "", host: request.string("host") ?? "",
                state: request.string("state") ?? "", uid: peer.uid, via: "control socket",
                kill: request.bool("kill") ?? false)
        case "host.set_weight":
            guard let weight = request.int("weight") else {
                return .error("weight must be an integer from \(Host.runtimeWeightRange.lowerBound) to \(Host.runtimeWeightRange.upperBound)")
            }
            return setHostWeight(
                cluster: request.string("cluster") ?? "", host: request.string("host") ?? "", weight: weight,
                uid: peer.uid, via: "control socket")
        case "reload":
            engine.hub.event(.adminReload(.init(uid: UInt64(peer.uid))))
            do {
                let report = try reload(by: "control socket (uid \(peer.uid))")
                return .ok([
                    JSONMember(key: "changes", value: .array(report.changes.map { .string($0) })),
                    JSONMember(key: "restart_needed", value: .array(report.needRestart.map { .string($0) })),
                ])
            } catch {
                return .error("reload refused, the running config stays:\n\(error)")
            }
        case "stop":
            let now = request.bool("now") ?? false
            engine.hub.event(.adminStop(.init(uid: UInt64(peer.uid), now: now)))
            // No new connections from the moment the answer leaves: a binary upgrade's new process, which sends
            // this, can then bind what its config adds at once; the drain goes on as after SIGTERM.
            engine.stopAccepting()
            runtime?.requestStop(now: now, by: "control socket (uid \(peer.uid))", replyGraceMs: Self.stopReplyGraceMs)
            return .ok([JSONMember(key: "stopping", value: .bool(true))])
        default:
            return .error("unknown command \"\(request.cmd)\"")
        }
    }

    /// `upgrade.listeners`: every accepting listener's socket, for a new skiff process taking over (a binary
    /// upgrade). The reply names each one (`name`, configured `address`) in the order the descriptors are attached;
    /// the admin API's socket follows, named `admin` with `"admin":true`, then the metrics sink's, named `metrics`
    /// with `"metrics":true`. The descriptors are duplicates taken
    /// while no reload or stop can close the originals (the server closes them once sent). This process keeps
    /// accepting until the new one asks it to `stop`, and refuses reloads meanwhile.
    public func handleWithDescriptors(_ request: ControlRequest, peer: PeerCredentials) -> (ControlResult, [Int32])? {
        guard request.cmd == "upgrade.listeners" else { return nil }
        runtime?.handingOver(to: peer.pid)
        let listeners = engine.listeningSocketsForHandover()
        var items: [JSONValue] = listeners.map { l in
            .object([
                JSONMember(key: "name", value: .string(l.name)), JSONMember(key: "address", value: .string(l.address)),
            ])
        }
        var fds = listeners.map(\.fd)
        if let a = adminSocket?() {
            items.append(
                .object([
                    JSONMember(key: "name", value: .string("admin")),
                    JSONMember(key: "address", value: .string(a.address)), JSONMember(key: "admin", value: .bool(true)),
                ]))
            fds.append(a.fd)
        }
        if let m = metricsSocket?() {
            items.append(
                .object([
                    JSONMember(key: "name", value: .string("metrics")),
                    JSONMember(key: "address", value: .string(m.address)),
                    JSONMember(key: "metrics", value: .bool(true)),
                ]))
            fds.append(m.fd)
        }
        engine.hub.event(.adminUpgrade(.init(uid: UInt64(peer.uid), peerPid: Int(peer.pid), listeners: listeners.count)))
        engine.logger.notice("\("handing \(listeners.count) listening sockets to pid \(peer.pid) (binary upgrade)")")
        return (
            .ok([
                JSONMember(key: "pid", value: .number(String(getpid()))),
                JSONMember(key: "listeners", value: .array(items)),
            ]), fds
        )
    }

    /// Sets a host's admin state and records who did it. Shared by the control socket and the admin API.
    public func setHostState(
        cluster: String, host: String, state: String, uid: UInt32, via: String, kill: Bool = false
    ) -> ControlResult {
        guard let c = engine.clusters[cluster] else { return .error("no cluster \"\(cluster)\"") }
        guard let h = c.host(at: host) else { return .error("no host \(host) in cluster \(cluster)") }
        guard let s = AdminState(text: state) else {
            return .error("state must be ready, drain or maint, not \"\(state)\"")
        }
        let before = h.adminState
        h.adminState = s
        switch s {
        case .drain, .maint:
            // No new work goes there (the balancers skip it); idle pooled connections close now, busy ones after
            // their last response.
            h.drainPools()
            if s == .maint && kill { engine.closeConnections(to: h, reason: "maint --kill") }
        case .ready:
            break
        }
        engine.hub.event(
            .hostAdmin(
                .init(
                    cluster: cluster, host: host, from: before.description, to: s.description, uid: UInt64(uid),
                    via: via, kill: kill ? true : nil)))
        engine.logger.notice("\("host \(cluster)/\(host): \(before) -> \(s) by uid \(uid) via \(via)")")
        return .ok([
            JSONMember(key: "cluster", value: .string(cluster)), JSONMember(key: "host", value: .string(host)),
            JSONMember(key: "from", value: .string(before.description)),
            JSONMember(key: "state", value: .string(s.description)),
        ])
    }

    public func subscribe(since: UInt64?) -> any ControlSubscription {
        RingSubscription(hub: engine.hub, since: since, asks: engine.publisher.asks)
    }

    /// A subscription paced at `intervalMs`: the publisher ticks at least that often while it lasts.
    public func subscribe(since: UInt64?, intervalMs: Int) -> (any ControlSubscription)? {
        let s = RingSubscription(hub: engine.hub, since: since, asks: engine.publisher.asks)
        _ = s.setInterval(ms: intervalMs)
        return s
    }

    public func subscribeRequests() -> (subscription: any ControlSubscription, maxPerSecond: Int)? {
        (RequestSubscription(reader: engine.hub.requests.watch()), engine.hub.requests.maxPerSecond)
    }

    /// `{"key":<object>}` around an already-encoded object.
    private func wrap(_ key: String, _ object: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        JSONWriter.appendString(key, to: &out)
        out.append(UInt8(ascii: ":"))
        return out + object + [UInt8(ascii: "}")]
    }

    /// The last `limit` events after `since`; with `kind`, only events whose kind starts with it (`host.` matches
    /// every host event), searched through the whole ring.
    private func recentEvents(since: UInt64, limit: Int, kind: String? = nil) -> EventsReply {
        let ring = engine.hub.events
        var cursor = since
        if since == 0 && kind == nil && ring.latestSeq > UInt64(limit) { cursor = ring.latestSeq - UInt64(limit) }
        var picked: [TelemetryEvent] = []
        var buf: [UInt8] = []
        var missed: UInt64 = 0
        while true {
            guard case .frame(let seq, let m) = ring.read(after: cursor, into: &buf) else { break }
            missed += m
            cursor = seq
            // The ring holds only what `TelemetryHub.event` encoded; a record that does not parse is skipped.
            guard let json = try? JSONParser.parse(buf) else { continue }
            let event = TelemetryEvent(json: json)
            if let k = kind, !event.kind.hasPrefix(k) { continue }
            picked.append(event)
            if picked.count > limit { picked.removeFirst() }
        }
        return EventsReply(events: picked, latest: cursor, missed: missed)
    }
}

/// One subscriber: frames and events in sequence order, each line tagged by its ring; gaps become a
/// `{"type":"gap","ring":"frames","missed":N}` line so a slow reader knows what it lost.
final class RingSubscription: ControlSubscription {
    let hub: TelemetryHub
    var frameCursor: UInt64
    var eventCursor: UInt64
    var buf: [UInt8] = []
    var cancelled = false
    /// Set by `setInterval`: which frames pass, and this subscriber's ask to the publisher.
    var pacer: FramePacer?
    let asks: IntervalAsks?
    var askID: UInt64?

    init(hub: TelemetryHub, since: UInt64?, asks: IntervalAsks? = nil) {
        self.hub = hub
        self.asks = asks
        if let s = since {
            frameCursor = s
        } else {
            // From now: the latest frame is sent at once so a new console has something to draw.
            frameCursor = hub.frames.latestSeq > 0 ? hub.frames.latestSeq - 1 : 0
        }
        eventCursor = hub.events.latestSeq
    }

    func next(timeoutNs: UInt64) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        drain(&lines)
        if lines.isEmpty && !cancelled {
            _ = hub.frames.wait(after: frameCursor, timeoutNs: timeoutNs)
            drain(&lines)
        }
        return lines
    }

    private func drain(_ lines: inout [[UInt8]]) {
        while case .frame(let seq, let missed) = hub.events.read(after: eventCursor, into: &buf) {
            if missed > 0 { lines.append(StreamGap(ring: StreamGap.events, missed: missed).jsonBytes) }
            eventCursor = seq
            lines.append(buf)
        }
        while case .frame(let seq, let missed) = hub.frames.read(after: frameCursor, into: &buf) {
            if missed > 0 && frameCursor > 0 {
                lines.append(StreamGap(ring: StreamGap.frames, missed: missed).jsonBytes)
            }
            frameCursor = seq
            if pacer != nil {
                if let paced = pacer!.pass(buf) { lines.append(paced) }
            } else {
                lines.append(buf)
            }
        }
    }

    func setInterval(ms: Int) -> Bool {
        guard let asks else { return false }
        askID = asks.ask(ms, id: askID)
        if pacer == nil { pacer = FramePacer(intervalMs: ms) } else { pacer!.intervalMs = ms }
        return true
    }

    func cancel() {
        cancelled = true
        if let id = askID { asks?.withdraw(id) }
        askID = nil
    }
}

extension Engine {
    /// Registers the admin HTTP routes on `server`.
    public func installAdminAPI(on server: AdminHTTPServer, control: EngineControl) {
        AdminAPI.install(on: server, engine: self, control: control)
    }
}
