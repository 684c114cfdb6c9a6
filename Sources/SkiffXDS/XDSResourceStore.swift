import SkiffConfig
import SkiffXDSTranslation

/// The accepted xDS resources, translated into Skiff's model, by type and name: what the last ACK of each type
/// accepted. A value: the session builds a candidate from the current store and an update, and keeps it only if
/// the engine applied the snapshot assembled from it.
public struct XDSResourceStore: Sendable, Equatable {
    public var listeners: [String: XDSListener] = [:]
    public var routes: [String: RouterConfig] = [:]
    public var clusters: [String: XDSCluster] = [:]
    /// EDS `cluster_name` (a cluster's service name) -> its hosts.
    public var endpoints: [String: [HostConfig]] = [:]

    public init() {}

    /// How many resources of `type` are held.
    public func count(_ type: XDSResourceType) -> Int {
        switch type {
        case .listener: return listeners.count
        case .route: return routes.count
        case .cluster: return clusters.count
        case .endpoint: return endpoints.count
        }
    }

    /// The RDS names the held listeners subscribe to.
    public var referencedRoutes: Set<String> { Set(listeners.values.compactMap(\.routeConfigName)) }

    /// The EDS names the held clusters subscribe to.
    public var referencedAssignments: Set<String> { Set(clusters.values.compactMap(\.edsServiceName)) }

    /// The names a subscription of `type` asks for (empty for the wildcard types).
    public func subscribedNames(_ type: XDSResourceType) -> Set<String> {
        switch type {
        case .listener, .cluster: return []
        case .route: return referencedRoutes
        case .endpoint: return referencedAssignments
        }
    }
}
