import SkiffJSON

/// What the config says about a control plane: MOSN's Envoy v3 bootstrap keys beside `servers` and
/// `cluster_manager` (`node`, `dynamic_resources`, `static_resources`). Present only when `dynamic_resources` is;
/// the xDS client (SkiffXDS) starts nothing otherwise.
public struct XDSConfig: Sendable, Equatable {
    /// Who this Skiff is to the control plane (`node`; `skiff start --service-node/--service-cluster` override it).
    public var node: XDSNode
    /// The cluster (from `static_resources.clusters`, speaking HTTP/2) that carries the ADS stream:
    /// `dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name`.
    public var adsCluster: String
    /// `lds_config` / `cds_config` through ADS: listeners and clusters come from the control plane.
    public var listenersFromADS: Bool
    public var clustersFromADS: Bool
    /// How long a listener waits for its routes and endpoints before it binds anyway (`initial_fetch_timeout` of
    /// `lds_config`/`cds_config`, Envoy's default 15 s).
    public var initialFetchTimeout: Duration

    public init(
        node: XDSNode, adsCluster: String, listenersFromADS: Bool, clustersFromADS: Bool,
        initialFetchTimeout: Duration = .seconds(15)
    ) {
        self.node = node
        self.adsCluster = adsCluster
        self.listenersFromADS = listenersFromADS
        self.clustersFromADS = clustersFromADS
        self.initialFetchTimeout = initialFetchTimeout
    }
}

/// The bootstrap's `node`.
public struct XDSNode: Sendable, Equatable {
    public var id: String
    public var cluster: String
    /// `metadata`, kept as written (a protobuf Struct on the wire).
    public var metadata: JSONValue?

    public init(id: String, cluster: String, metadata: JSONValue? = nil) {
        self.id = id
        self.cluster = cluster
        self.metadata = metadata
    }
}
