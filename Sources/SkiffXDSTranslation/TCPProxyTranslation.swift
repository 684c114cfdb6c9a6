import SkiffConfig
import SkiffXDSProto
import SwiftProtobuf

/// A tcp_proxy into `TCPProxyConfig`: one cluster (`cluster`, or `weighted_clusters` with a single cluster; Skiff's
/// tcp_proxy cannot split connections by weight), `idle_timeout` (Envoy's 1 h when unset, `0s` none) and
/// `max_connect_attempts` (1...10). Any thread.
struct TCPProxyTranslation {
    typealias TcpProxy = Envoy_Extensions_Filters_Network_TcpProxy_V3_TcpProxy

    struct Translated {
        var config: TCPProxyConfig
        var clusterNames: [String]
    }

    let context: XDSContext

    init(_ context: XDSContext) { self.context = context }

    func translate(_ any: Google_Protobuf_Any, at path: String) throws(XDSRejection) -> Translated {
        let t = try AnyUnpacking.unpack(any, as: TcpProxy.self, at: path, context)
        try context.checkUnknown(t, at: path)
        // `stat_prefix` is accepted: Skiff labels the listener's metrics with the listener's name.
        let cluster: String
        switch t.clusterSpecifier {
        case .cluster(let name)?:
            if name.isEmpty { throw context.reject(path.dot("cluster"), "must not be empty") }
            cluster = name
        case .weightedClusters(let w)?:
            cluster = try singleCluster(w, at: path.dot("weighted_clusters"))
        case nil:
            throw context.reject(path.dot("cluster"), "required (or weighted_clusters)")
        }
        var config = TCPProxyConfig(cluster: cluster, idleTimeout: XDSDefaults.idleTimeout)
        if t.hasIdleTimeout {
            let d = try context.duration(t.idleTimeout, at: path.dot("idle_timeout"))
            config.idleTimeout = d == .zero ? nil : d
        }
        config.maxConnectAttempts = try context.uint32(
            t.hasMaxConnectAttempts, t.maxConnectAttempts, in: SkiffLimits.connectAttempts,
            at: path.dot("max_connect_attempts"), absent: 1)
        try context.refuse(
            t.hasMaxDownstreamConnectionDuration, path.dot("max_downstream_connection_duration"),
            "not supported by skiff")
        return Translated(config: config, clusterNames: [cluster])
    }

    /// The one cluster with a weight above 0; several are refused.
    private func singleCluster(_ w: TcpProxy.WeightedCluster, at path: String) throws(XDSRejection) -> String {
        try context.checkUnknown(w, at: path)
        var chosen: [String] = []
        for (i, c) in w.clusters.enumerated() {
            let cp = path.dot("clusters").at(i)
            try context.checkUnknown(c, at: cp)
            if c.name.isEmpty { throw context.reject(cp.dot("name"), "required") }
            if c.weight > 0 { chosen.append(c.name) }
        }
        guard chosen.count == 1 else {
            if chosen.isEmpty { throw context.reject(path.dot("clusters"), "no cluster with a weight above 0") }
            throw context.reject(
                path.dot("clusters"),
                "\(chosen.count) clusters with weights: skiff's tcp_proxy sends every connection to one cluster")
        }
        return chosen[0]
    }
}
