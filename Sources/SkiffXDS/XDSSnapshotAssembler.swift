import SkiffConfig
import SkiffXDSTranslation

/// Builds the whole config the engine runs from the file's config and the accepted xDS resources: the file's servers
/// and clusters as written, then the CDS clusters (with their EDS hosts) and one server, `xds`, holding the LDS
/// listeners that are ready and their routes.
///
/// A listener is ready once its route configuration (RDS) and the endpoints of every EDS cluster it routes to have
/// arrived, so its first request is routed; or once it has waited the initial-fetch timeout (missing routes then
/// answer 404, an empty cluster 503, as Envoy does); a listener that has served once stays. Pure: the session owns
/// the clock and the bookkeeping.
public struct XDSSnapshotAssembler: Sendable {
    /// The name of the server xDS listeners and routers live in (routers are per server, so RDS names never meet
    /// the file's router names).
    public static let serverName = "xds"

    public var file: SkiffConfiguration
    public var store: XDSResourceStore
    /// CDS has been accepted once (until then a route to an unknown cluster waits rather than being refused).
    public var clustersKnown: Bool
    /// Listeners allowed to bind without everything they need (served before, or waited the initial-fetch timeout).
    public var bindAnyway: Set<String>

    public init(file: SkiffConfiguration, store: XDSResourceStore, clustersKnown: Bool, bindAnyway: Set<String>) {
        self.file = file
        self.store = store
        self.clustersKnown = clustersKnown
        self.bindAnyway = bindAnyway
    }

    /// The assembled config and the listeners still waiting (name -> what for).
    public struct Snapshot: Sendable, Equatable {
        public var config: SkiffConfiguration
        public var waiting: [String: String]
    }

    public func assemble() throws(XDSRejection) -> Snapshot {
        let fileClusters = Set(file.clusters.map(\.name))
        let fileListeners = Set(file.allListeners.map(\.name))
        var config = file
        for name in store.clusters.keys.sorted() {
            let c = store.clusters[name]!
            if fileClusters.contains(name) {
                throw XDSRejection(
                    resource: "cluster \(quotedName(name))", field: "name", reason: "the config file has a cluster of this name")
            }
            var cc = c.config
            if let eds = c.edsServiceName { cc.hosts = store.endpoints[eds] ?? [] }
            config.clusters.append(cc)
        }
        let known = fileClusters.union(store.clusters.keys)

        var listeners: [ListenerConfig] = []
        var routers: [String: RouterConfig] = [:]
        var waiting: [String: String] = [:]
        for name in store.listeners.keys.sorted() {
            let l = store.listeners[name]!
            if fileListeners.contains(name) {
                throw XDSRejection(
                    resource: "listener \(quotedName(name))", field: "name", reason: "the config file has a listener of this name")
            }
            var router: RouterConfig?
            if let inline = l.inlineRouter {
                router = inline
            } else if let rds = l.routeConfigName {
                if rds.hasPrefix(XDSListener.inlineRouterPrefix) {
                    throw XDSRejection(
                        resource: "listener \(quotedName(name))", field: "filter_chains[0].filters[0].typed_config.rds.route_config_name",
                        reason: "\(quotedName(rds)): names starting with \(quotedName(XDSListener.inlineRouterPrefix)) are kept for inline route configurations")
                }
                router = store.routes[rds]
            }
            var clusters = l.clusterNames
            if let router { clusters += router.clusterNames }
            let unknown = clusters.filter { !known.contains($0) }
            if let missing = unknown.first, clustersKnown {
                throw XDSRejection(
                    resource: router == nil || l.clusterNames.contains(missing)
                        ? "listener \(quotedName(name))" : "route_configuration \(quotedName(router!.name))",
                    field: "", reason: "cluster \(quotedName(missing)) is unknown (neither in CDS nor in the config file)")
            }
            let pendingEndpoints = clusters.filter { c in
                guard let eds = store.clusters[c]?.edsServiceName else { return false }
                return store.endpoints[eds] == nil
            }
            let why: String? =
                if !unknown.isEmpty {
                    "clusters \(unknown.sorted().joined(separator: ", "))"
                } else if router == nil, let rds = l.routeConfigName {
                    "route configuration \(rds)"
                } else if !pendingEndpoints.isEmpty {
                    "endpoints of \(Set(pendingEndpoints).sorted().joined(separator: ", "))"
                } else {
                    nil
                }
            if let why, !(bindAnyway.contains(name) && unknown.isEmpty) {
                waiting[name] = why
                continue
            }
            if let rds = l.routeConfigName, router == nil {
                router = RouterConfig(name: rds, virtualHosts: [])  // waited long enough: every request is a 404
            }
            if let router { routers[router.name] = router }
            listeners.append(l.config)
        }
        if !listeners.isEmpty {
            var server = file.servers.first ?? ServerConfig()
            server.name = Self.serverName
            server.listeners = listeners
            server.routers = routers.keys.sorted().map { routers[$0]! }
            config.servers.append(server)
            config.stampTracing()
        }
        return Snapshot(config: config, waiting: waiting)
    }
}

extension RouterConfig {
    /// Every cluster a route of this configuration sends to (directly or by weight).
    public var clusterNames: [String] {
        var out: [String] = []
        for vh in virtualHosts {
            for r in vh.routes {
                guard case .route(let t) = r.action else { continue }
                if let c = t.clusterName { out.append(c) }
                out += t.weightedClusters.map(\.name)
            }
        }
        return out
    }
}

