/// Why an xDS resource cannot be applied: the NACK's `error_detail` names the resource and the field
/// (`listener "ingress": filter_chains[0].filters[0].typed_config: envoy.filters.network.redis_proxy is not supported`).
public struct XDSRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// `listener "ingress"`, `route_configuration "local"`, `cluster "web"`, `cluster_load_assignment "web"`.
    public var resource: String
    /// The field path inside the resource, in Envoy's proto field names; empty for the resource as a whole.
    public var field: String
    public var reason: String

    public init(resource: String, field: String, reason: String) {
        self.resource = resource
        self.field = field
        self.reason = reason
    }

    public var description: String { field.isEmpty ? "\(resource): \(reason)" : "\(resource): \(field): \(reason)" }
}
