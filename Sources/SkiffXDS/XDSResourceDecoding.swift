import SkiffConfig
import SkiffXDSProto
import SkiffXDSTranslation
import SwiftProtobuf

/// One DiscoveryResponse's resources, decoded and translated: by name, for one type. Any resource that cannot be
/// applied rejects the whole response (state of the world: a type's update is taken whole or not at all).
enum XDSDecodedResources {
    case listeners([String: XDSListener])
    case routes([String: RouterConfig])
    case clusters([String: XDSCluster])
    case endpoints([String: [HostConfig]])

    static func decode(_ resources: [Google_Protobuf_Any], as type: XDSResourceType) throws(XDSRejection) -> Self {
        switch type {
        case .listener:
            return .listeners(
                try each(resources, type, Envoy_Config_Listener_V3_Listener.self, \.name) { m throws(XDSRejection) in
                    try XDSTranslate.listener(m)
                })
        case .route:
            return .routes(
                try each(resources, type, Envoy_Config_Route_V3_RouteConfiguration.self, \.name) {
                    m throws(XDSRejection) in try XDSTranslate.routeConfiguration(m)
                })
        case .cluster:
            return .clusters(
                try each(resources, type, Envoy_Config_Cluster_V3_Cluster.self, \.name) { m throws(XDSRejection) in
                    try XDSTranslate.cluster(m)
                })
        case .endpoint:
            return .endpoints(
                try each(resources, type, Envoy_Config_Endpoint_V3_ClusterLoadAssignment.self, \.clusterName) {
                    m throws(XDSRejection) in try XDSTranslate.loadAssignment(m)
                })
        }
    }

    private static func each<M: SwiftProtobuf.Message, T>(
        _ resources: [Google_Protobuf_Any], _ type: XDSResourceType, _: M.Type, _ name: KeyPath<M, String>,
        _ translate: (M) throws(XDSRejection) -> T
    ) throws(XDSRejection) -> [String: T] {
        var out: [String: T] = [:]
        for (i, any) in resources.enumerated() {
            let label = "resources[\(i)]"
            guard any.typeURL == type.typeURL else {
                throw XDSRejection(
                    resource: label, field: "type_url",
                    reason: "\(quotedName(any.typeURL)) in a response of type \(type.typeURL)")
            }
            let message: M
            do {
                message = try M(serializedBytes: any.value)
            } catch {
                throw XDSRejection(resource: label, field: "", reason: "not a valid \(M.protoMessageName): \(error)")
            }
            let key = message[keyPath: name]
            guard !key.isEmpty else {
                throw XDSRejection(resource: label, field: type == .endpoint ? "cluster_name" : "name", reason: "empty")
            }
            guard out[key] == nil else {
                throw XDSRejection(
                    resource: "\(type.resourceWord) \(quotedName(key))", field: "name", reason: "appears twice in one response")
            }
            out[key] = try translate(message)
        }
        return out
    }
}
