import SkiffConfig
import SkiffSystem
import SkiffXDSProto
import SkiffXDSTranslation
import Synchronization

/// What happened on the ADS stream, for the event ring (`xds.connected`, `xds.disconnected`, `xds.ack`, `xds.nack`).
public enum XDSEvent: Sendable, Equatable {
    case connected(controlPlane: String)
    case disconnected(controlPlane: String, reason: String)
    case ack(type: XDSResourceType, version: String, resources: Int)
    case nack(type: XDSResourceType, version: String, error: String)
}

/// The state-of-the-world ADS protocol for one Skiff, independent of the transport: given each DiscoveryResponse it
/// decodes and translates the resources, assembles the whole config from the file's and the accepted resources,
/// has the engine apply it, and answers with an ACK (the new version) or a NACK (the previous version and an
/// `error_detail` naming the resource and field) — a NACKed type keeps its previous resources. It follows what
/// listeners and clusters reference with RDS and EDS subscriptions, and lets a listener bind once what it needs has
/// arrived or the initial-fetch timeout has passed.
///
/// Threads: `handle`, `streamStarted`, `streamEnded` and `tick` from the client's stream task, one at a time;
/// `status` and `reloadFile` from any thread. Everything is under one lock, held while the engine applies a snapshot
/// (so a file reload and an xDS update never interleave).
public final class ADSSession: Sendable {
    /// Applies a whole config (the engine's reload); throws why it could not, the running config unchanged.
    public typealias Apply = @Sendable (SkiffConfiguration) throws -> Void

    private struct State: Sendable {
        var file: SkiffConfiguration
        var store = XDSResourceStore()
        var status: XDSStatus
        /// When each LDS listener was first seen (the initial-fetch timeout counts from there).
        var firstSeen: [String: ContinuousClock.Instant] = [:]
        /// Listeners that may bind without all they need: served before, or waited long enough.
        var bindAnyway: Set<String> = []
        var clustersKnown: Bool
        /// The config last handed to the engine (an identical snapshot is not applied again).
        var applied: SkiffConfiguration?
        /// The node is sent on a stream's first request only.
        var nodeSent = false
        /// When the session began (the initial-fetch timeout of readiness counts from there).
        var began: ContinuousClock.Instant
        /// `onInitialized` was called.
        var initialized = false
    }

    private let state: Mutex<State>
    private let xds: XDSConfig
    private let node: Envoy_Config_Core_V3_Node
    private let apply: Apply
    private let onEvent: @Sendable (XDSEvent) -> Void
    private let onInitialized: @Sendable () -> Void
    private let clock = ContinuousClock()

    public init(
        file: SkiffConfiguration, xds: XDSConfig, controlPlane: String, apply: @escaping Apply,
        onEvent: @escaping @Sendable (XDSEvent) -> Void = { _ in },
        onInitialized: @escaping @Sendable () -> Void = {}
    ) {
        self.xds = xds
        node = XDSNodeMessage.make(xds.node)
        self.apply = apply
        self.onEvent = onEvent
        self.onInitialized = onInitialized
        state = Mutex(
            State(
                file: file, status: XDSStatus(controlPlane: controlPlane), clustersKnown: !xds.clustersFromADS,
                began: ContinuousClock().now))
    }

    /// Calls `onInitialized` once: when every subscribed wildcard type (CDS, LDS) has been accepted and no listener
    /// waits, or when the initial-fetch timeout has passed since the session began (a control plane that never
    /// answers must not keep a sidecar unready forever; the file's config serves).
    private func checkInitialized(_ s: inout State) {
        guard !s.initialized else { return }
        let accepted = subscribedTypes.filter(\.isWildcard).allSatisfy { s.status[$0].acks > 0 }
        guard (accepted && s.status.waiting.isEmpty) || clock.now - s.began >= xds.initialFetchTimeout else { return }
        s.initialized = true
        s.status.initialized = true
        onInitialized()
    }

    public var status: XDSStatus { state.withLock { $0.status } }

    /// The types this Skiff subscribes to, in the order their first requests go out.
    var subscribedTypes: [XDSResourceType] {
        var out: [XDSResourceType] = []
        if xds.clustersFromADS { out += [.cluster, .endpoint] }
        if xds.listenersFromADS { out += [.listener, .route] }
        return out
    }

    // MARK: - The stream

    /// A new stream: a request per subscribed type, with the versions already accepted (a control plane that
    /// restarted then sends only what differs).
    public func streamStarted() -> [Envoy_Service_Discovery_V3_DiscoveryRequest] {
        state.withLock { s in
            s.status.connected = true
            s.status.since = WallClock.millis()
            s.status.connects += 1
            s.status.failures = 0
            s.nodeSent = false
            onEvent(.connected(controlPlane: s.status.controlPlane))
            return subscribedTypes.compactMap { t in
                let names = s.store.subscribedNames(t)
                if !t.isWildcard && names.isEmpty { return nil }
                return request(&s, t, version: s.status[t].version, nonce: "", names: names)
            }
        }
    }

    /// A stream ended, or an attempt to open one failed: said once per loss (the first failure after a stream,
    /// or the first at start), not once per retry.
    public func streamEnded(reason: String) {
        state.withLock { s in
            s.status.failures += 1
            s.status.lastDisconnect = reason
            guard s.status.connected || s.status.since == 0 else { return }
            s.status.connected = false
            s.status.since = WallClock.millis()
            onEvent(.disconnected(controlPlane: s.status.controlPlane, reason: reason))
        }
    }

    /// One DiscoveryResponse: the ACK or NACK to send, then any subscription changes it caused.
    public func handle(
        _ response: Envoy_Service_Discovery_V3_DiscoveryResponse
    ) -> [Envoy_Service_Discovery_V3_DiscoveryRequest] {
        state.withLock { s in
            guard let type = XDSResourceType(typeURL: response.typeURL), subscribedTypes.contains(type) else {
                var nack = Envoy_Service_Discovery_V3_DiscoveryRequest()
                nack.typeURL = response.typeURL
                nack.responseNonce = response.nonce
                nack.errorDetail = Self.errorStatus("type_url \(quotedName(response.typeURL)) is not subscribed to")
                return [nack]
            }
            s.status[type].pushes += 1
            s.status[type].nonce = response.nonce
            let cpu0 = ThreadCPUClock.nanoseconds()
            defer { s.status.recordUpdate(cpuNs: ThreadCPUClock.nanoseconds() &- cpu0) }
            let before = s.store
            do throws(XDSRejection) {
                let decoded = try XDSDecodedResources.decode(response.resources, as: type)
                var candidate = s.store
                candidate.take(decoded, subscribed: s.store.subscribedNames(type))
                try applyLocked(&s, candidate)
            } catch {
                s.status[type].record(version: response.versionInfo, error: error.description)
                onEvent(.nack(type: type, version: response.versionInfo, error: error.description))
                var nack = request(&s, type, version: s.status[type].version, nonce: response.nonce, names: s.store.subscribedNames(type))
                nack.errorDetail = Self.errorStatus(error.description)
                return [nack]
            }
            if type == .cluster { s.clustersKnown = true }
            s.status[type].version = response.versionInfo
            s.status[type].record(version: response.versionInfo, error: nil)
            onEvent(.ack(type: type, version: response.versionInfo, resources: s.store.count(type)))
            checkInitialized(&s)
            var out = [request(&s, type, version: response.versionInfo, nonce: response.nonce, names: s.store.subscribedNames(type))]
            // Listeners and clusters name the routes and endpoints to follow.
            for dependent in [XDSResourceType.route, .endpoint] where dependent != type && subscribedTypes.contains(dependent) {
                let names = s.store.subscribedNames(dependent)
                if names != before.subscribedNames(dependent) && !names.isEmpty {
                    out.append(request(&s, dependent, version: s.status[dependent].version, nonce: s.status[dependent].nonce, names: names))
                }
            }
            return out
        }
    }

    /// Called periodically: listeners that have waited the initial-fetch timeout bind with what there is.
    public func tick() {
        state.withLock { s in
            defer { checkInitialized(&s) }
            let now = clock.now
            let due = s.status.waiting.keys.filter { name in
                guard let seen = s.firstSeen[name] else { return false }
                return now - seen >= xds.initialFetchTimeout && !s.bindAnyway.contains(name)
            }
            guard !due.isEmpty else { return }
            s.bindAnyway.formUnion(due)
            do throws(XDSRejection) {
                try applyLocked(&s, s.store)
            } catch {
                s.status.lastApplyError = error.description  // nothing to NACK: the store was accepted already
            }
        }
    }

    /// A file reload: the new file's config with the accepted xDS resources, applied by `reload` (the engine) under
    /// this session's lock; the file is kept only if that succeeds.
    public func reloadFile<R>(
        _ file: SkiffConfiguration, reload: (SkiffConfiguration) throws -> R
    ) throws -> R {
        try state.withLock { s in
            let asm = XDSSnapshotAssembler(file: file, store: s.store, clustersKnown: s.clustersKnown, bindAnyway: s.bindAnyway)
            let snapshot = try asm.assemble()
            let result = try reload(snapshot.config)
            s.file = file
            s.applied = snapshot.config
            s.status.waiting = snapshot.waiting
            return result
        }
    }

    // MARK: - Applying

    /// Assembles `candidate` with the file's config and has the engine apply it; on success the store becomes
    /// `candidate`. Throws (store unchanged) when the snapshot is inconsistent or the engine refuses it.
    private func applyLocked(_ s: inout State, _ candidate: XDSResourceStore) throws(XDSRejection) {
        let now = clock.now
        for name in candidate.listeners.keys where s.firstSeen[name] == nil { s.firstSeen[name] = now }
        let asm = XDSSnapshotAssembler(
            file: s.file, store: candidate, clustersKnown: s.clustersKnown || !candidate.clusters.isEmpty,
            bindAnyway: s.bindAnyway)
        let snapshot = try asm.assemble()
        if snapshot.config != s.applied {
            let cpu0 = ThreadCPUClock.nanoseconds()
            do {
                try apply(snapshot.config)
            } catch {
                throw XDSRejection(resource: "snapshot", field: "", reason: "the engine refused it: \(error)")
            }
            let cost = ThreadCPUClock.nanoseconds() &- cpu0
            s.status.applied += 1
            s.status.lastApplyCPUNs = cost
            s.status.totalApplyCPUNs &+= cost
            s.applied = snapshot.config
        }
        s.store = candidate
        s.firstSeen = s.firstSeen.filter { candidate.listeners[$0.key] != nil }
        let bound = Set(candidate.listeners.keys).subtracting(snapshot.waiting.keys)
        s.bindAnyway = s.bindAnyway.intersection(candidate.listeners.keys).union(bound)
        s.status.waiting = snapshot.waiting
        for t in XDSResourceType.allCases {
            s.status[t].resources = candidate.count(t)
            s.status[t].names = candidate.subscribedNames(t).sorted()
        }
    }

    private func request(
        _ s: inout State, _ type: XDSResourceType, version: String, nonce: String, names: Set<String>
    ) -> Envoy_Service_Discovery_V3_DiscoveryRequest {
        var r = Envoy_Service_Discovery_V3_DiscoveryRequest()
        if !s.nodeSent {
            r.node = node
            s.nodeSent = true
        }
        r.typeURL = type.typeURL
        r.versionInfo = version
        r.responseNonce = nonce
        r.resourceNames = names.sorted()
        return r
    }

    /// google.rpc.Status INVALID_ARGUMENT (3) with `message`.
    static func errorStatus(_ message: String) -> Google_Rpc_Status {
        var st = Google_Rpc_Status()
        st.code = 3
        st.message = message
        return st
    }
}

extension XDSResourceStore {
    /// Takes one response's resources: LDS and CDS replace the whole set (state of the world); RDS and EDS replace
    /// the resources named and keep the others still subscribed to. Then routes and endpoints nothing references
    /// any more are dropped.
    mutating func take(_ decoded: XDSDecodedResources, subscribed: Set<String>) {
        switch decoded {
        case .listeners(let l): listeners = l
        case .clusters(let c): clusters = c
        case .routes(let r):
            for (name, router) in r where subscribed.contains(name) { routes[name] = router }
        case .endpoints(let e):
            for (name, hosts) in e where subscribed.contains(name) { endpoints[name] = hosts }
        }
        let keepRoutes = referencedRoutes
        routes = routes.filter { keepRoutes.contains($0.key) }
        let keepEndpoints = referencedAssignments
        endpoints = endpoints.filter { keepEndpoints.contains($0.key) }
    }
}
