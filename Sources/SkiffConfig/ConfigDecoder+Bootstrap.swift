import SkiffJSON

/// MOSN's Envoy v3 bootstrap keys: `node`, `dynamic_resources` (ADS over gRPC for listeners and clusters) and
/// `static_resources.clusters` (Envoy v3 cluster JSON; at least the cluster that carries ADS). Envoy's JSON also
/// accepts camelCase keys (`portValue`): so does this decoder.
extension ConfigDecoder {
    /// A schema for Envoy's proto3 JSON: snake_case keys, also accepted in camelCase.
    static func envoySchema(known: [String], unsupported: [String] = [], emptyAllowed: Set<String> = [])
        -> ObjectSchema
    {
        var aliases: [String: String] = [:]
        for k in known + unsupported where k.contains("_") { aliases[String(k.lowercased().filter { $0 != "_" })] = k }
        return ObjectSchema(known: known, unsupported: unsupported, emptyAllowed: emptyAllowed, aliases: aliases)
    }

    /// Decodes the bootstrap keys of the root; nil without `dynamic_resources` (a `node` alone is a warning).
    mutating func decodeBootstrap(_ f: Fields) -> (xds: XDSConfig?, staticClusters: [ClusterConfig]) {
        let statics = f["static_resources"].map { decodeStaticResources($0, at: f.path("static_resources")) } ?? []
        let node = f["node"].flatMap { decodeNode($0, at: f.path("node")) }
        guard let dynamic = f["dynamic_resources"] else {
            if f.has("node") { warn(f.path("node"), "no effect without dynamic_resources") }
            return (nil, statics.map(\.cluster))
        }
        guard var xds = decodeDynamicResources(dynamic, at: f.path("dynamic_resources")) else {
            return (nil, statics.map(\.cluster))
        }
        if let node { xds.node = node } else { fail(f.path("node"), "required with dynamic_resources (its id and cluster name this Skiff to the control plane)") }
        let adsPath = f.path("dynamic_resources") + ".ads_config.grpc_services[0].envoy_grpc.cluster_name"
        if let ads = statics.first(where: { $0.cluster.name == xds.adsCluster }) {
            if !ads.http2 {
                fail(adsPath, "cluster \(quoted(xds.adsCluster)) must speak HTTP/2 for gRPC (typed_extension_protocol_options "
                    + "envoy.extensions.upstreams.http.v3.HttpProtocolOptions with explicit_http_config.http2_protocol_options)")
            }
        } else {
            fail(adsPath, "no cluster \(quoted(xds.adsCluster)) in static_resources.clusters")
        }
        for s in statics where s.http2 && s.cluster.name != xds.adsCluster {
            fail(s.path, "HTTP/2 upstreams are only for the ADS cluster (HTTP/2 proxying is not supported yet)")
        }
        return (xds, statics.map(\.cluster))
    }

    private mutating func decodeNode(_ v: JSONValue, at path: String) -> XDSNode? {
        let schema = Self.envoySchema(
            known: ["id", "cluster", "metadata", "locality", "user_agent_name"],
            unsupported: ["extensions", "client_features", "listening_addresses", "dynamic_parameters",
                "user_agent_version", "user_agent_build_version"])
        guard let f = fields(v, at: path, schema) else { return nil }
        let id = requiredString(f, "id")
        let cluster = string(f, "cluster") ?? ""
        if let m = f["metadata"], case .object = m {} else if f.has("metadata") {
            fail(f.path("metadata"), "expected an object")
        }
        _ = string(f, "user_agent_name")
        guard let id else { return nil }
        return XDSNode(id: id, cluster: cluster, metadata: f["metadata"])
    }

    private mutating func decodeDynamicResources(_ v: JSONValue, at path: String) -> XDSConfig? {
        let schema = Self.envoySchema(
            known: ["ads_config", "lds_config", "cds_config"],
            unsupported: ["lds_resources_locator", "cds_resources_locator", "default_config_source"])
        guard let f = fields(v, at: path, schema) else { return nil }
        guard let adsValue = f["ads_config"] else {
            fail(f.path("ads_config"), "required: Skiff takes xDS over ADS only")
            return nil
        }
        let cluster = decodeADSConfig(adsValue, at: f.path("ads_config"))
        var timeout = Duration.seconds(15)
        let lds = f["lds_config"].map { decodeADSSource($0, at: f.path("lds_config"), timeout: &timeout) } ?? false
        let cds = f["cds_config"].map { decodeADSSource($0, at: f.path("cds_config"), timeout: &timeout) } ?? false
        if !lds && !cds { fail(path, "neither lds_config nor cds_config: nothing to take from the control plane") }
        guard let cluster else { return nil }
        return XDSConfig(
            node: XDSNode(id: "", cluster: ""), adsCluster: cluster, listenersFromADS: lds, clustersFromADS: cds,
            initialFetchTimeout: timeout)
    }

    /// `ads_config`: state-of-the-world gRPC, API v3, one `envoy_grpc` service; returns its cluster name.
    private mutating func decodeADSConfig(_ v: JSONValue, at path: String) -> String? {
        let schema = Self.envoySchema(
            known: ["api_type", "transport_api_version", "grpc_services", "set_node_on_first_message_only"],
            unsupported: ["cluster_names", "refresh_delay", "request_timeout", "rate_limit_settings",
                "config_validators"])
        guard let f = fields(v, at: path, schema) else { return nil }
        if let t = string(f, "api_type"), t != "GRPC" {
            fail(f.path("api_type"), "\(quoted(t)): only GRPC (state of the world) is supported")
        }
        if let t = string(f, "transport_api_version"), t != "V3" {
            fail(f.path("transport_api_version"), "\(quoted(t)): only V3 is supported")
        }
        _ = bool(f, "set_node_on_first_message_only")
        guard let services = array(f, "grpc_services") else {
            fail(f.path("grpc_services"), "required")
            return nil
        }
        guard services.count == 1 else {
            fail(f.path("grpc_services"), "\(services.count) services; exactly one envoy_grpc service is supported")
            return nil
        }
        let serviceSchema = Self.envoySchema(
            known: ["envoy_grpc", "timeout"], unsupported: ["google_grpc", "initial_metadata", "retry_policy"])
        guard let s = fields(services[0].value, at: services[0].path, serviceSchema) else { return nil }
        guard let g = s["envoy_grpc"] else {
            fail(s.path("envoy_grpc"), "required (a cluster of static_resources)")
            return nil
        }
        let grpcSchema = Self.envoySchema(
            known: ["cluster_name"], unsupported: ["authority", "retry_policy", "max_receive_message_length"])
        guard let e = fields(g, at: s.path("envoy_grpc"), grpcSchema) else { return nil }
        return requiredString(e, "cluster_name")
    }

    /// `lds_config` / `cds_config`: `{"ads": {}}` with API v3; anything else (files, their own gRPC) is refused.
    private mutating func decodeADSSource(_ v: JSONValue, at path: String, timeout: inout Duration) -> Bool {
        let schema = Self.envoySchema(
            known: ["ads", "resource_api_version", "initial_fetch_timeout"],
            unsupported: ["path", "path_config_source", "api_config_source", "self", "authorities"])
        guard let f = fields(v, at: path, schema) else { return false }
        if let a = f["ads"], !a.isEmptyValue { fail(f.path("ads"), "expected {}") }
        if let t = string(f, "resource_api_version"), t != "V3" {
            fail(f.path("resource_api_version"), "\(quoted(t)): only V3 is supported")
        }
        if let d = duration(f, "initial_fetch_timeout") { timeout = d }
        guard f.has("ads") else {
            fail(f.path("ads"), "required: resources come over ADS")
            return false
        }
        return true
    }
}
