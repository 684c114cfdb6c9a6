import SkiffConfig
import SkiffJSON
import SkiffXDSProto

/// Envoy v3 xDS resources into Skiff's config model, one resource at a time. Pure functions of their input: no state,
/// no I/O, callable from any thread. Anything Skiff cannot apply as Envoy would (an unsupported filter, field or value,
/// a field this build does not model) is an `XDSRejection` naming the resource and the field, for the NACK.
///
/// docs/xds-fields.md lists field by field what is translated, accepted and ignored, and refused.
public enum XDSTranslate {
    /// A listener: its address, its one filter chain (http_connection_manager or tcp_proxy), TLS and thread model.
    public static func listener(_ l: Envoy_Config_Listener_V3_Listener) throws(XDSRejection) -> XDSListener {
        try ListenerTranslation(l).translate()
    }

    /// A RouteConfiguration from RDS, as a router of the same name.
    public static func routeConfiguration(_ r: Envoy_Config_Route_V3_RouteConfiguration) throws(XDSRejection)
        -> RouterConfig
    {
        let context = XDSContext(resource: "route_configuration \(quotedName(r.name))")
        if r.name.isEmpty { throw context.reject("name", "required") }
        return try RouteTranslation(context).router(r, named: r.name, at: "")
    }

    /// A cluster: STATIC (and STRICT_DNS with IP literals only) with its hosts, or EDS without hosts.
    public static func cluster(_ c: Envoy_Config_Cluster_V3_Cluster) throws(XDSRejection) -> XDSCluster {
        try ClusterTranslation(c).translate()
    }

    /// An EDS ClusterLoadAssignment: the hosts, with weights and the control plane's health status.
    public static func loadAssignment(_ a: Envoy_Config_Endpoint_V3_ClusterLoadAssignment) throws(XDSRejection)
        -> [HostConfig]
    {
        let context = XDSContext(resource: "cluster_load_assignment \(quotedName(a.clusterName))")
        if a.clusterName.isEmpty { throw context.reject("cluster_name", "required") }
        return try EndpointTranslation(context).hosts(a, at: "")
    }
}

/// A translated Listener: the listener itself and the names it depends on, so the ADS client can subscribe to them
/// (RDS, EDS) and bind the listener once they have arrived.
public struct XDSListener: Sendable, Equatable {
    /// Name, address, the one filter chain, TLS, timeouts, thread model.
    public var config: ListenerConfig
    /// The RDS route configuration its http_connection_manager subscribes to; nil for an inline `route_config` or
    /// a tcp_proxy. The listener's proxy filter names it as its `routerConfigName`.
    public var routeConfigName: String?
    /// An inline `route_config`, renamed `XDSListener.inlineRouterName(listener:)` (`listener:<listener name>`) so it
    /// cannot be mistaken for an RDS route configuration of the same name; the proxy filter names it. RDS names that
    /// start with `XDSListener.inlineRouterPrefix` are refused by the ADS client's bookkeeping, not here.
    public var inlineRouter: RouterConfig?
    /// Clusters a tcp_proxy names directly (those of routes are in the RouterConfig).
    public var clusterNames: [String]

    public init(config: ListenerConfig, routeConfigName: String?, inlineRouter: RouterConfig?, clusterNames: [String]) {
        self.config = config
        self.routeConfigName = routeConfigName
        self.inlineRouter = inlineRouter
        self.clusterNames = clusterNames
    }

    /// The prefix of inline routers' names.
    public static let inlineRouterPrefix = "listener:"

    /// The name an inline `route_config` of listener `listener` gets.
    public static func inlineRouterName(listener: String) -> String { inlineRouterPrefix + listener }
}

/// A translated Cluster.
public struct XDSCluster: Sendable, Equatable {
    /// The cluster; `hosts` is empty for an EDS cluster (they come with its ClusterLoadAssignment).
    public var config: ClusterConfig
    /// EDS: the ClusterLoadAssignment to subscribe to (`eds_cluster_config.service_name`, else the cluster's name);
    /// nil for STATIC and STRICT_DNS clusters.
    public var edsServiceName: String?

    public init(config: ClusterConfig, edsServiceName: String?) {
        self.config = config
        self.edsServiceName = edsServiceName
    }
}

/// `"name"` with quotes and control characters escaped (SkiffJSON's rule, as the config decoder quotes), for
/// resource names and values in rejections.
public func quotedName(_ s: String) -> String { quotedForMessage(s, limit: 200) }
