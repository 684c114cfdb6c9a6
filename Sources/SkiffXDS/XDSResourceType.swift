/// The four xDS resource types Skiff subscribes to over ADS, in the order a control plane should send them (clusters
/// before the endpoints they use, listeners before their routes).
public enum XDSResourceType: String, CaseIterable, Sendable {
    case cluster = "CDS"
    case endpoint = "EDS"
    case listener = "LDS"
    case route = "RDS"

    public var typeURL: String {
        switch self {
        case .cluster: return "type.googleapis.com/envoy.config.cluster.v3.Cluster"
        case .endpoint: return "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
        case .listener: return "type.googleapis.com/envoy.config.listener.v3.Listener"
        case .route: return "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
        }
    }

    /// The resource word used in NACK texts (`cluster "web"`).
    public var resourceWord: String {
        switch self {
        case .cluster: return "cluster"
        case .endpoint: return "cluster_load_assignment"
        case .listener: return "listener"
        case .route: return "route_configuration"
        }
    }

    public init?(typeURL: String) {
        guard let t = Self.allCases.first(where: { $0.typeURL == typeURL }) else { return nil }
        self = t
    }

    /// LDS and CDS subscribe to everything (wildcard); RDS and EDS to the names listeners and clusters reference.
    public var isWildcard: Bool { self == .listener || self == .cluster }
}
