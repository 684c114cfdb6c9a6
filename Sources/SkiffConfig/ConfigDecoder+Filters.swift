import SkiffJSON

/// `filter_chains[].filters[]`: `tcp_proxy` (L4), `proxy` (L7) and the old form's `connection_manager`, which is a
/// router in disguise and is moved to the server's routers.
extension ConfigDecoder {
    static let filterTypes = ["proxy", "tcp_proxy", "connection_manager"]

    static let protocols: [(String, ProtocolName)] = [
        ("Http1", .http1), ("Http2", .http2), ("bolt", .bolt), ("SofaRpc", .bolt), ("boltv2", .boltv2),
        ("dubbo", .dubbo), ("Auto", .auto),
    ]
    static let protocolList = ["Http1", "Http2", "bolt", "boltv2", "dubbo", "Auto"]

    /// MOSN takes exactly one filter chain per listener (`pkg/server/handler.go`), and so does Skiff. Its
    /// `tls_context` / `tls_context_set` land in `tls` (ConfigDecoder+TLS.swift).
    mutating func decodeFilterChains(
        _ listener: Fields, references: inout [RouterReference],
        oldFormRouters: inout [(router: RouterConfig, path: String)], tls: inout ListenerTLSConfig?
    ) -> [FilterChainConfig] {
        guard listener.has("filter_chains") else {
            fail(listener.path("filter_chains"), "required")
            return []
        }
        guard let chains = array(listener, "filter_chains") else { return [] }
        guard chains.count == 1 else {
            let message =
                chains.isEmpty
                ? "listener has no filter chain" : "\(chains.count) filter chains; exactly one is supported"
            fail(listener.path("filter_chains"), message)
            return []
        }
        let schema = ObjectSchema(
            known: ["filters", "tls_context", "tls_context_set"], unsupported: ["match"], emptyAllowed: ["match"])
        guard let chain = fields(chains[0].value, at: chains[0].path, schema) else { return [] }
        tls = listenerTLS(chain)
        guard chain.has("filters") else {
            fail(chain.path("filters"), "required")
            return []
        }
        guard let filters = array(chain, "filters") else { return [] }
        var decoded: [NetworkFilterConfig] = []
        var terminal: String?  // "filters[i]" of the first proxy or tcp_proxy filter
        var sawUnknownType = false
        for item in filters {
            guard let f = fields(item.value, at: item.path, ObjectSchema(known: ["type", "config"])) else { continue }
            guard let type = requiredString(f, "type") else {
                sawUnknownType = true
                continue
            }
            let config = f["config"] ?? .object([])
            let configPath = f.path("config")
            switch type.lowercased() {
            case "tcp_proxy", "proxy":
                if let first = terminal {
                    fail(f.path("type"), "a filter chain takes one proxy or tcp_proxy filter (\(first) is one)")
                    continue
                }
                terminal = item.path.split(separator: ".").last.map(String.init) ?? item.path
                if type.lowercased() == "tcp_proxy" {
                    if let tcp = decodeTCPProxy(config, at: configPath) { decoded.append(.tcpProxy(tcp)) }
                } else if let proxy = decodeProxy(config, at: configPath, references: &references) {
                    decoded.append(.proxy(proxy))
                }
            case "connection_manager":
                if let router = decodeRouter(config, at: configPath) { oldFormRouters.append((router, configPath)) }
            default:
                let expected = Self.filterTypes.joined(separator: ", ")
                fail(f.path("type"), "unknown filter type \(quoted(type)) (expected \(expected))")
                sawUnknownType = true
            }
        }
        if terminal == nil && !sawUnknownType {
            fail(chain.path("filters"), "no proxy or tcp_proxy filter")
        }
        return [FilterChainConfig(filters: decoded)]
    }

    // MARK: - proxy

    mutating func decodeProxy(_ v: JSONValue, at path: String, references: inout [RouterReference])
        -> ProxyFilterConfig?
    {
        let schema = ObjectSchema(
            known: ["downstream_protocol", "upstream_protocol", "router_config_name", "extend_config", "name"],
            unsupported: [
                "fallback_for_unknown_protocol", "router_handler_name", "validate_clusters", "concurrency_num",
                "virtual_hosts", "support_dynamic_route",
            ],
            emptyAllowed: ["fallback_for_unknown_protocol", "validate_clusters", "concurrency_num"])
        guard let f = fields(v, at: path, schema) else { return nil }
        _ = string(f, "name")  // a label MOSN logs; harmless
        if !f.has("downstream_protocol") { fail(f.path("downstream_protocol"), "required") }
        let downstream = proto(f, "downstream_protocol")
        let upstream = proto(f, "upstream_protocol")
        let router = requiredString(f, "router_config_name")
        if let router { references.append(RouterReference(name: router, path: f.path("router_config_name"))) }
        let extend = extendConfig(f)
        checkProtocolPair(f, downstream: downstream, upstream: upstream)
        guard let downstream, let router else { return nil }
        return ProxyFilterConfig(
            downstreamProtocol: downstream, upstreamProtocol: upstream ?? downstream, routerConfigName: router,
            extendConfig: extend)
    }

    /// What `start` could not run is refused here, so `validate` says it first: an RPC listener whose upstream speaks
    /// another protocol, an HTTP listener with a non-HTTP upstream, an Auto listener with an Http2 upstream.
    private mutating func checkProtocolPair(_ f: Fields, downstream: ProtocolName?, upstream: ProtocolName?) {
        guard let downstream, let upstream, upstream != downstream else { return }
        switch downstream {
        case .http1:
            if upstream != .http2 {
                fail(f.path("upstream_protocol"), "\(upstream.rawValue): an Http1 listener proxies to Http1 or Http2 upstreams")
            }
        case .http2:
            if upstream != .http1 {
                fail(f.path("upstream_protocol"), "\(upstream.rawValue): an Http2 listener proxies to Http2 or Http1 upstreams")
            }
        case .bolt, .boltv2, .dubbo:
            fail(
                f.path("upstream_protocol"),
                "\(upstream.rawValue) must match downstream_protocol \(downstream.rawValue) (RPC is proxied as it arrives)")
        case .auto:
            if upstream == .http2 {
                fail(
                    f.path("upstream_protocol"),
                    "Http2: an Auto listener's upstream speaks what each client spoke (Http2 upstreams are served "
                        + "behind Http1 and Http2 listeners)")
            }
        }
    }

    /// A protocol name, case-insensitive; `X`/`xprotocol` (MOSN's pluggable codecs) are refused.
    private mutating func proto(_ f: Fields, _ name: String) -> ProtocolName? {
        choice(f, name, what: "protocol", Self.protocols, listed: Self.protocolList, unsupported: ["X", "xprotocol"])
    }

    /// `extend_config` as a flat string map (scalars become their text); nested values are refused.
    private mutating func extendConfig(_ f: Fields) -> [String: String] {
        guard let v = f["extend_config"] else { return [:] }
        guard case .object(let members) = v else {
            fail(f.path("extend_config"), "expected an object, got \(v.kindDescription)")
            return [:]
        }
        var out: [String: String] = [:]
        for m in members {
            let path = ConfigPath.field(f.path("extend_config"), m.key)
            switch m.value {
            case .string(let s): out[m.key] = s
            case .number(let n): out[m.key] = n
            case .bool(let b): out[m.key] = b ? "true" : "false"
            default: fail(path, "expected a string, number or boolean, got \(m.value.kindDescription)")
            }
        }
        return out
    }

    // MARK: - tcp_proxy

    mutating func decodeTCPProxy(_ v: JSONValue, at path: String) -> TCPProxyConfig? {
        let schema = ObjectSchema(
            known: ["cluster", "idle_timeout", "max_connect_attempts", "routes"], unsupported: ["stat_prefix"])
        guard let f = fields(v, at: path, schema) else { return nil }
        let cluster = string(f, "cluster")
        if let cluster { checkCluster(cluster, at: f.path("cluster")) }
        var config = TCPProxyConfig(cluster: cluster)
        config.idleTimeout = optionalTimeout(f, "idle_timeout")
        config.maxConnectAttempts = int(f, "max_connect_attempts", 1...10) ?? 1
        let routeSchema = ObjectSchema(
            known: ["cluster", "source_addrs", "destination_addrs"], unsupported: ["source_port", "destination_port"],
            aliases: [
                "sourceaddrs": "source_addrs", "destinationaddrs": "destination_addrs", "sourceport": "source_port",
                "destinationport": "destination_port",
            ])
        let routes = array(f, "routes")
        for item in routes ?? [] {
            guard let r = fields(item.value, at: item.path, routeSchema) else { continue }
            guard let name = requiredString(r, "cluster") else { continue }
            checkCluster(name, at: r.path("cluster"))
            config.routes.append(
                TCPRouteConfig(
                    cluster: name, sourceAddrs: cidrList(r, "source_addrs"),
                    destinationAddrs: cidrList(r, "destination_addrs")))
        }
        if !f.has("cluster") && (routes?.isEmpty ?? !f.has("routes")) {
            fail(path, "no cluster: set cluster or routes")
        }
        return config
    }

    /// Reports a cluster name that no `cluster_manager.clusters[]` entry defines.
    mutating func checkCluster(_ name: String, at path: String) {
        if name.isEmpty {
            fail(path, "must not be empty")
        } else if !clusterNames.contains(name) {
            fail(path, missingName("cluster", name, among: clusterNames))
        }
    }

    /// CIDR ranges written MOSN's way (`{"address":"10.0.0.0","length":8}`) or as `"10.0.0.0/8"`.
    private mutating func cidrList(_ f: Fields, _ name: String) -> [String] {
        var out: [String] = []
        for item in array(f, name) ?? [] {
            let result: Result<String, Problem>
            switch item.value {
            case .string(let s):
                result = AddressText.cidr(s)
            case .object:
                guard let c = fields(item.value, at: item.path, ObjectSchema(known: ["address", "length"])) else {
                    continue
                }
                let address = requiredString(c, "address")
                if !c.has("length") { fail(c.path("length"), "required") }
                let length = int(c, "length", 0...128)
                guard let address, let length else { continue }
                result = AddressText.cidr(address: address, length: length)
            default:
                fail(
                    item.path,
                    "expected {\"address\": ..., \"length\": ...} or \"a.b.c.d/n\", got \(item.value.kindDescription)")
                continue
            }
            switch result {
            case .success(let text): out.append(text)
            case .failure(let problem): fail(item.path, problem.message)
            }
        }
        return out
    }
}
