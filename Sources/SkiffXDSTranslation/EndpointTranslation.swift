import SkiffConfig
import SkiffXDSProto
import SwiftProtobuf

/// A ClusterLoadAssignment (from EDS, or a cluster's inline `load_assignment`) into hosts: IP addresses, weights
/// 1...128 (Skiff's range; out of range is refused, not clamped), the control plane's health status, the endpoint's
/// hostname and metadata. Priority 0 only; locality weights are accepted and unused (Envoy uses them only with
/// locality-weighted balancing, which Skiff's protos do not model). Any thread.
///
/// `health_status`: UNKNOWN and HEALTHY serve; UNHEALTHY and TIMEOUT (Envoy treats a timeout as unhealthy) are
/// `.unhealthy`; DRAINING is `.draining`; DEGRADED serves (Skiff has no degraded tier; Envoy would prefer healthy
/// hosts while enough of them exist).
struct EndpointTranslation {
    typealias Assignment = Envoy_Config_Endpoint_V3_ClusterLoadAssignment

    let context: XDSContext
    /// STRICT_DNS and LOGICAL_DNS: addresses may be names (the resolver asks for them).
    let namesAllowed: Bool

    init(_ context: XDSContext, namesAllowed: Bool = false) {
        self.context = context
        self.namesAllowed = namesAllowed
    }

    func hosts(_ a: Assignment, at base: String) throws(XDSRejection) -> [HostConfig] {
        try context.checkUnknown(a, at: base)
        if a.hasPolicy {
            // `overprovisioning_factor` is accepted: with one priority and no locality weighting it changes nothing.
            try context.checkUnknown(a.policy, at: base.dot("policy"))
        }
        var hosts: [HostConfig] = []
        hosts.reserveCapacity(a.endpoints.reduce(0) { $0 + $1.lbEndpoints.count })
        /// Each address taken, with where (group, endpoint): the path is built only for a duplicate's message.
        var seen: [SocketAddressSpec: (Int, Int)] = [:]
        let addresses = SocketAddressTranslation(context)
        for (i, group) in a.endpoints.enumerated() {
            let gp = base.dot("endpoints").at(i)
            try context.checkUnknown(group, at: gp)
            try context.refuse(
                group.priority != 0, gp.dot("priority"),
                "priority \(group.priority) is not supported by skiff (it has no priority levels; only 0)")
            // `locality`, `load_balancing_weight`, `proximity` and `metadata` are accepted and unused.
            if group.hasLocality { try context.checkUnknown(group.locality, at: gp.dot("locality")) }
            for (j, e) in group.lbEndpoints.enumerated() {
                // The plain endpoint (an IP, a port, maybe a weight and a health status; nothing else) is taken
                // without building field paths: thousands of them arrive in one EDS update.
                if let host = Self.plainHost(e), seen[host.address] == nil {
                    seen[host.address] = (i, j)
                    hosts.append(host)
                    continue
                }
                let ep = gp.dot("lb_endpoints").at(j)
                try context.checkUnknown(e, at: ep)
                let endpoint: Envoy_Config_Endpoint_V3_Endpoint
                switch e.hostIdentifier {
                case .endpoint(let v)?: endpoint = v
                case .endpointName?:
                    throw context.reject(ep.dot("endpoint_name"), "named endpoints are not supported by skiff")
                case nil:
                    throw context.reject(ep.dot("endpoint"), "required")
                }
                var host = try self.host(endpoint, at: ep.dot("endpoint"), addresses: addresses)
                if let (fi, fj) = seen[host.address] {
                    let first = base.dot("endpoints").at(fi).dot("lb_endpoints").at(fj)
                    throw context.reject(
                        ep.dot("endpoint.address"),
                        "duplicate host \(quotedName(host.address.description)) (also \(first))")
                }
                seen[host.address] = (i, j)
                host.weight = try context.uint32(
                    e.hasLoadBalancingWeight, e.loadBalancingWeight, in: SkiffLimits.hostWeight,
                    at: ep.dot("load_balancing_weight"), absent: 1)
                host.controlPlaneState = try state(e.healthStatus, at: ep.dot("health_status"))
                if e.hasMetadata { host.metadata = Self.flatten(e.metadata) }
                hosts.append(host)
            }
        }
        return hosts
    }

    private func host(_ e: Envoy_Config_Endpoint_V3_Endpoint, at path: String, addresses: SocketAddressTranslation)
        throws(XDSRejection) -> HostConfig
    {
        try context.checkUnknown(e, at: path)
        guard e.hasAddress else { throw context.reject(path.dot("address"), "required") }
        let address = try addresses.endpointAddress(e.address, at: path.dot("address"), namesAllowed: namesAllowed)
        var hostname: String?
        if !e.hostname.isEmpty {
            if let problem = AddressCheck.hostProblem(e.hostname) {
                throw context.reject(path.dot("hostname"), problem)
            }
            hostname = e.hostname
        }
        if e.hasHealthCheckConfig {
            let hp = path.dot("health_check_config")
            let h = e.healthCheckConfig
            try context.checkUnknown(h, at: hp)
            let reason = "not supported by skiff (it checks the endpoint's own address)"
            try context.refuse(h.portValue != 0, hp.dot("port_value"), reason)
            try context.refuse(!h.hostname.isEmpty, hp.dot("hostname"), reason)
            try context.refuse(h.hasAddress, hp.dot("address"), reason)
            try context.refuse(
                h.disableActiveHealthCheck, hp.dot("disable_active_health_check"), "not supported by skiff")
        }
        return HostConfig(address: address, hostname: hostname)
    }

    /// The endpoint as a host when it is plain: no unknown fields, no hostname, metadata or health-check settings, a
    /// TCP socket address with an IP literal and a port 1...65535, a weight in range, a known health status. Nil
    /// sends it through the checked path, which names the field of any problem.
    static func plainHost(_ e: Envoy_Config_Endpoint_V3_LbEndpoint) -> HostConfig? {
        guard e.unknownFields.data.isEmpty, !e.hasMetadata, case .endpoint(let endpoint)? = e.hostIdentifier,
            endpoint.unknownFields.data.isEmpty, endpoint.hostname.isEmpty, !endpoint.hasHealthCheckConfig,
            endpoint.address.unknownFields.data.isEmpty, case .socketAddress(let s)? = endpoint.address.address,
            s.unknownFields.data.isEmpty, s.protocol == .tcp, s.resolverName.isEmpty, !s.ipv4Compat,
            case .portValue(let port)? = s.portSpecifier, (1...65535).contains(Int(port)),
            AddressCheck.isIPLiteral(s.address)
        else { return nil }
        var host = HostConfig(address: SocketAddressSpec(host: s.address, port: Int(port)))
        if e.hasLoadBalancingWeight {
            let w = Int(e.loadBalancingWeight.value)
            guard e.loadBalancingWeight.unknownFields.data.isEmpty, SkiffLimits.hostWeight.contains(w) else { return nil }
            host.weight = w
        }
        switch e.healthStatus {
        case .unknown, .healthy, .degraded: host.controlPlaneState = .serving
        case .unhealthy, .timeout: host.controlPlaneState = .unhealthy
        case .draining: host.controlPlaneState = .draining
        case .UNRECOGNIZED: return nil
        }
        return host
    }

    private func state(_ s: Envoy_Config_Core_V3_HealthStatus, at path: String) throws(XDSRejection)
        -> ControlPlaneHostState
    {
        switch s {
        case .unknown, .healthy, .degraded: return .serving
        case .unhealthy, .timeout: return .unhealthy
        case .draining: return .draining
        case .UNRECOGNIZED(let n): throw context.reject(path, "unknown health status \(n)")
        }
    }

    /// `filter_metadata` as the JSON decoder flattens host metadata: `{"envoy.lb": {"canary": "1"}}` becomes
    /// `["filter_metadata.envoy.lb.canary": "1"]`; numbers and booleans as their text; lists and nulls are left out.
    static func flatten(_ m: Envoy_Config_Core_V3_Metadata) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ s: Google_Protobuf_Struct, _ prefix: String) {
            for (key, value) in s.fields {
                let name = prefix + "." + key
                switch value.kind {
                case .stringValue(let v)?: out[name] = v
                case .numberValue(let v)?: out[name] = v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
                case .boolValue(let v)?: out[name] = v ? "true" : "false"
                case .structValue(let v)?: walk(v, name)
                case .listValue?, .nullValue?, nil: break
                }
            }
        }
        for (namespace, s) in m.filterMetadata { walk(s, "filter_metadata." + namespace) }
        return out
    }
}
