import SkiffJSON

/// `static_resources.clusters[]` in Envoy v3 cluster JSON, read into Skiff's cluster model: STATIC clusters with a
/// `load_assignment`, their connect timeout and load balancer, and whether they speak HTTP/2 (the ADS cluster must).
extension ConfigDecoder {
    struct StaticCluster {
        var cluster: ClusterConfig
        var http2: Bool
        var path: String
    }

    mutating func decodeStaticResources(_ v: JSONValue, at path: String) -> [StaticCluster] {
        let schema = Self.envoySchema(known: ["clusters"], unsupported: ["listeners", "secrets"])
        guard let f = fields(v, at: path, schema) else { return [] }
        var out: [StaticCluster] = []
        for item in array(f, "clusters") ?? [] {
            guard let c = decodeEnvoyCluster(item.value, at: item.path) else { continue }
            if out.contains(where: { $0.cluster.name == c.cluster.name }) || clusterNames.contains(c.cluster.name) {
                fail(ConfigPath.field(item.path, "name"), "duplicate cluster name \(quoted(c.cluster.name))")
                continue
            }
            out.append(c)
        }
        return out
    }

    private mutating func decodeEnvoyCluster(_ v: JSONValue, at path: String) -> StaticCluster? {
        let schema = Self.envoySchema(
            known: [
                "name", "type", "connect_timeout", "lb_policy", "load_assignment", "typed_extension_protocol_options",
                "http2_protocol_options",
            ],
            unsupported: [
                "eds_cluster_config", "transport_socket", "health_checks", "circuit_breakers", "outlier_detection",
                "dns_lookup_family", "upstream_connection_options", "cluster_type", "lb_subset_config",
            ])
        guard let f = fields(v, at: path, schema) else { return nil }
        let name = requiredString(f, "name")
        if let t = string(f, "type"), t != "STATIC" {
            fail(f.path("type"), "\(quoted(t)): static_resources takes STATIC clusters")
        }
        var cluster = ClusterConfig(name: name ?? "", type: .staticCluster, hosts: [])
        cluster.connectTimeout = duration(f, "connect_timeout", positive: true) ?? .seconds(5)
        cluster.lbType =
            choice(
                f, "lb_policy", what: "lb_policy",
                [("ROUND_ROBIN", LoadBalancerType.roundRobin), ("RANDOM", .random), ("LEAST_REQUEST", .leastRequest)],
                unsupported: ["RING_HASH", "MAGLEV", "CLUSTER_PROVIDED", "LOAD_BALANCING_POLICY_CONFIG"])
            ?? .roundRobin
        if let la = f["load_assignment"] { cluster.hosts = decodeLoadAssignment(la, at: f.path("load_assignment")) }
        if cluster.hosts.isEmpty { fail(f.path("load_assignment"), "no endpoints") }
        var http2 = f["http2_protocol_options"] != nil
        if let opts = f["typed_extension_protocol_options"] {
            http2 = decodeProtocolOptions(opts, at: f.path("typed_extension_protocol_options")) || http2
        }
        guard let name else { return nil }
        cluster.name = name
        return StaticCluster(cluster: cluster, http2: http2, path: path)
    }

    /// `load_assignment.endpoints[].lb_endpoints[].endpoint.address.socket_address` into hosts.
    private mutating func decodeLoadAssignment(_ v: JSONValue, at path: String) -> [HostConfig] {
        let schema = Self.envoySchema(known: ["cluster_name", "endpoints"], unsupported: ["policy", "named_endpoints"])
        guard let f = fields(v, at: path, schema) else { return [] }
        _ = string(f, "cluster_name")
        var hosts: [HostConfig] = []
        for group in array(f, "endpoints") ?? [] {
            let groupSchema = Self.envoySchema(
                known: ["lb_endpoints", "locality", "load_balancing_weight"], unsupported: ["priority", "proximity"])
            guard let g = fields(group.value, at: group.path, groupSchema) else { continue }
            for item in array(g, "lb_endpoints") ?? [] {
                let lbSchema = Self.envoySchema(
                    known: ["endpoint", "load_balancing_weight", "health_status"], unsupported: ["metadata"])
                guard let e = fields(item.value, at: item.path, lbSchema) else { continue }
                let weight = int(e, "load_balancing_weight", 1...128) ?? 1
                guard let endpoint = e["endpoint"] else {
                    fail(e.path("endpoint"), "required")
                    continue
                }
                if let address = decodeEndpointAddress(endpoint, at: e.path("endpoint")) {
                    hosts.append(HostConfig(address: address, weight: weight))
                }
            }
        }
        return hosts
    }

    private mutating func decodeEndpointAddress(_ v: JSONValue, at path: String) -> SocketAddressSpec? {
        let schema = Self.envoySchema(known: ["address", "hostname"], unsupported: ["health_check_config"])
        guard let f = fields(v, at: path, schema), let a = f["address"] else {
            fail(ConfigPath.field(path, "address"), "required")
            return nil
        }
        let addressSchema = Self.envoySchema(known: ["socket_address"], unsupported: ["pipe", "envoy_internal_address"])
        guard let address = fields(a, at: f.path("address"), addressSchema), let s = address["socket_address"] else {
            fail(f.path("address") + ".socket_address", "required")
            return nil
        }
        let socketSchema = Self.envoySchema(
            known: ["address", "port_value", "protocol"], unsupported: ["named_port", "resolver_name", "ipv4_compat"])
        guard let sa = fields(s, at: address.path("socket_address"), socketSchema) else { return nil }
        if let p = string(sa, "protocol"), p != "TCP" { fail(sa.path("protocol"), "\(quoted(p)): only TCP") }
        let host = requiredString(sa, "address")
        if let host, let problem = AddressText.hostProblem(host) { fail(sa.path("address"), problem) }
        if !sa.has("port_value") { fail(sa.path("port_value"), "required") }
        guard let host, let port = int(sa, "port_value", 1...65535) else { return nil }
        return SocketAddressSpec(host: host, port: port)
    }

    /// `typed_extension_protocol_options`: only `envoy.extensions.upstreams.http.v3.HttpProtocolOptions` with
    /// `explicit_http_config`; returns whether it asks for HTTP/2.
    private mutating func decodeProtocolOptions(_ v: JSONValue, at path: String) -> Bool {
        let key = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
        let schema = ObjectSchema(known: [key])
        guard let f = fields(v, at: path, schema), let o = f[key] else { return false }
        let optionsSchema = Self.envoySchema(
            known: ["@type", "explicit_http_config"],
            unsupported: ["auto_config", "use_downstream_protocol_config", "common_http_protocol_options",
                "upstream_http_protocol_options", "http_filters", "header_validation_config"])
        guard let options = fields(o, at: f.path(key), optionsSchema) else { return false }
        if let t = string(options, "@type"), t != "type.googleapis.com/" + key {
            fail(options.path("@type"), "expected \(quoted("type.googleapis.com/" + key))")
        }
        guard let explicit = options["explicit_http_config"] else { return false }
        let explicitSchema = Self.envoySchema(
            known: ["http2_protocol_options", "http_protocol_options"], unsupported: ["http3_protocol_options"])
        guard let e = fields(explicit, at: options.path("explicit_http_config"), explicitSchema) else { return false }
        return e.has("http2_protocol_options")
    }
}
