import SkiffJSON

/// `cluster_manager.clusters[]`: upstream clusters, their hosts and circuit breakers.
extension ConfigDecoder {
    static let clusterUnsupported = [
        "sub_type", "mark", "spec", "original_dst_lb_config", "keepalive", "lbconfig", "cluster_pool_enable",
    ]
    static let clusterSchema = ObjectSchema(
        known: [
            "name", "type", "lb_type", "max_request_per_conn", "conn_buffer_limit_bytes", "connect_timeout",
            "idle_timeout", "circuit_breakers", "health_check", "outlier_detection", "drain_timeout", "drain_action",
            "hosts", "tls_context", "cluster_manager_tls", "lb_subset_config", "slow_start", "http2_protocol_options",
        ] + dnsFields,
        unsupported: clusterUnsupported, emptyAllowed: Set(clusterUnsupported))

    mutating func decodeClusterManager(_ v: JSONValue, at path: String) -> [ClusterConfig] {
        let unsupported = ["cluster_pool_enable", "clusters_configs", "auto_discovery", "registry_use_health_check"]
        let schema = ObjectSchema(
            known: ["clusters", "tls_context"], unsupported: unsupported, emptyAllowed: Set(unsupported))
        guard let f = fields(v, at: path, schema) else { return [] }
        let sharedTLS = f["tls_context"].map { tlsContext($0, at: f.path("tls_context"), side: .client) }
        var clusters: [ClusterConfig] = []
        var seen: Set<String> = []
        for item in array(f, "clusters") ?? [] {
            guard let cluster = decodeCluster(item.value, at: item.path, sharedTLS: sharedTLS) else { continue }
            if seen.contains(cluster.name) {
                fail(ConfigPath.field(item.path, "name"), "duplicate cluster name \(quoted(cluster.name))")
                continue
            }
            seen.insert(cluster.name)
            clusters.append(cluster)
        }
        checkSharedTLSUsed(sharedTLS, by: clusters, at: f.path("tls_context"))
        return clusters
    }

    /// `sharedTLS`: `cluster_manager.tls_context`, for a cluster with `cluster_manager_tls`.
    mutating func decodeCluster(_ v: JSONValue, at path: String, sharedTLS: TLSContextOutcome?) -> ClusterConfig? {
        guard let f = fields(v, at: path, Self.clusterSchema) else { return nil }
        let name = requiredString(f, "name")
        var cluster = ClusterConfig(name: name ?? "", hosts: [])
        cluster.type =
            choice(
                f, "type", what: "cluster type", [
                    ("SIMPLE", ClusterType.simple), ("STATIC", .staticCluster), ("STRICT_DNS", .strictDNS),
                    ("LOGICAL_DNS", .logicalDNS),
                ],
                unsupported: ["DYNAMIC", "EDS", "ORIGINAL_DST"]) ?? .simple
        cluster.lbType =
            choice(f, "lb_type", what: "load balancer", LoadBalancerType.allCases.map { ($0.rawValue, $0) })
            ?? .roundRobin
        cluster.maxRequestPerConn = int(f, "max_request_per_conn", 0...Self.uint32Max) ?? 0
        cluster.connBufferLimitBytes = int(f, "conn_buffer_limit_bytes", 4096...(1 << 30)) ?? (1 << 20)
        cluster.connectTimeout = duration(f, "connect_timeout", positive: true) ?? .seconds(10)
        cluster.idleTimeout = optionalTimeout(f, "idle_timeout")
        // Skiff extensions: how long a drained host may keep work, and what happens then.
        cluster.drainTimeout = duration(f, "drain_timeout", positive: true) ?? .seconds(30)
        cluster.drainAction =
            choice(f, "drain_action", what: "drain action", [("close", DrainAction.close), ("wait", .wait)]) ?? .close
        if let cb = f["circuit_breakers"] {
            cluster.circuitBreakers = circuitBreakers(cb, at: f.path("circuit_breakers"))
        }
        if let hc = f["health_check"] { cluster.healthCheck = decodeHealthCheck(hc, at: f.path("health_check")) }
        if let od = f["outlier_detection"] {
            cluster.outlierDetection = outlierDetection(od, at: f.path("outlier_detection"))
        }
        cluster.tls = clusterTLS(f, shared: sharedTLS)
        cluster.lbSubset = f["lb_subset_config"].flatMap { lbSubsetConfig($0, at: f.path("lb_subset_config")) }
        cluster.dns = dnsConfig(f, type: cluster.type)
        cluster.slowStart = f["slow_start"].flatMap { slowStart($0, at: f.path("slow_start"), lbType: cluster.lbType) }
        if let h2 = f["http2_protocol_options"] {
            cluster.http2 = http2Settings(h2, at: f.path("http2_protocol_options"))
        }
        cluster.hosts = hosts(f, subsets: cluster.lbSubset)
        if cluster.dns == nil, let d = refreshRate(f) {
            if cluster.hosts.contains(where: { !AddressCheck.isIPLiteral($0.address.host) }) {
                cluster.hostnameRefresh = d
            } else {
                fail(f.path("dns_refresh_rate"), "no host is a name: nothing to ask again (STRICT_DNS and LOGICAL_DNS clusters, or hosts written as names, use it)")
            }
        }
        guard name != nil else { return nil }
        return cluster
    }

    private mutating func hosts(_ f: Fields, subsets: LBSubsetConfig?) -> [HostConfig] {
        let list = array(f, "hosts")
        if list?.isEmpty ?? !f.has("hosts") {
            fail(f.path("hosts"), "cluster has no hosts")
            return []
        }
        let schema = ObjectSchema(known: ["address", "hostname", "weight", "metadata", "tls_disable"])
        var out: [HostConfig] = []
        var seen: [SocketAddressSpec: String] = [:]  // address -> "hosts[i]"
        for item in list ?? [] {
            guard let h = fields(item.value, at: item.path, schema) else { continue }
            var address: SocketAddressSpec?
            if let text = requiredString(h, "address") {
                switch AddressText.hostPort(text, ports: 1...65535) {
                case .failure(let problem): fail(h.path("address"), problem.message)
                case .success(let parsed):
                    let here = item.path.split(separator: ".").last.map(String.init) ?? item.path
                    if let first = seen[parsed] {
                        fail(h.path("address"), "duplicate host \(quoted(parsed.description)) (also \(first))")
                    } else {
                        seen[parsed] = here
                        address = parsed
                    }
                }
            }
            let hostname = string(h, "hostname")
            let weight = int(h, "weight", 1...128) ?? 1
            var metadata: [String: String] = [:]
            if let m = h["metadata"] {
                flattenMetadata(m, at: h.path("metadata"), prefix: "", into: &metadata)
                let unused = metadata.keys.filter {
                    subsets == nil || !$0.hasPrefix(HostConfig.subsetMetadataPrefix)
                }.sorted()
                if !unused.isEmpty {
                    warn(
                        h.path("metadata"),
                        "\(unused.joined(separator: ", ")): shown with the host (skiff ctl hosts, /api/v1/clusters) "
                            + "but not used to pick hosts: only filter_metadata[\"mosn.lb\"] keys are, in a cluster "
                            + "with lb_subset_config")
                }
            }
            let tlsDisable = bool(h, "tls_disable") ?? false
            if let address {
                var host = HostConfig(address: address, hostname: hostname, weight: weight, metadata: metadata)
                host.tlsDisable = tlsDisable
                out.append(host)
            }
        }
        return out
    }

    /// Host metadata as a flat map: MOSN's `{"filter_metadata":{"mosn.lb":{"version":"1.1"}}}` becomes
    /// `["filter_metadata.mosn.lb.version": "1.1"]`; a flat `{"zone":"a"}` stays as it is. Values must be strings.
    private mutating func flattenMetadata(
        _ v: JSONValue, at path: String, prefix: String, into out: inout [String: String]
    ) {
        guard case .object(let members) = v else {
            fail(path, "expected an object of strings, got \(v.kindDescription)")
            return
        }
        for m in members {
            let key = prefix.isEmpty ? m.key : "\(prefix).\(m.key)"
            let memberPath = ConfigPath.field(path, m.key)
            switch m.value {
            case .string(let s):
                if out[key] != nil { fail(memberPath, "duplicate metadata key \(quoted(key))") }
                out[key] = s
            case .object:
                flattenMetadata(m.value, at: memberPath, prefix: key, into: &out)
            default:
                fail(memberPath, "expected a string, got \(m.value.kindDescription)")
            }
        }
    }

    /// `outlier_detection{consecutive_errors, base_ejection_time, max_ejection_time, max_ejection_percent}`; absent
    /// fields take `OutlierDetectionConfig`'s defaults.
    private mutating func outlierDetection(_ v: JSONValue, at path: String) -> OutlierDetectionConfig? {
        let schema = ObjectSchema(
            known: ["consecutive_errors", "base_ejection_time", "max_ejection_time", "max_ejection_percent"])
        guard let f = fields(v, at: path, schema) else { return nil }
        var od = OutlierDetectionConfig()
        od.consecutiveErrors = int(f, "consecutive_errors", 1...Self.int32Max) ?? od.consecutiveErrors
        let baseTime = duration(f, "base_ejection_time", positive: true)
        let maxTime = duration(f, "max_ejection_time", positive: true)
        od.baseEjectionTime = baseTime ?? od.baseEjectionTime
        od.maxEjectionTime = maxTime ?? od.maxEjectionTime
        od.maxEjectionPercent = int(f, "max_ejection_percent", 0...100) ?? od.maxEjectionPercent
        if od.maxEjectionTime < od.baseEjectionTime {
            let which = maxTime != nil ? "max_ejection_time" : "base_ejection_time"
            let (maxText, baseText) = (DurationText.format(od.maxEjectionTime), DurationText.format(od.baseEjectionTime))
            fail(f.path(which), "max_ejection_time \(maxText) is less than base_ejection_time \(baseText)")
        }
        return od
    }

    /// MOSN v1 writes `circuit_breakers` as a list of thresholds (`[{"max_connections": 1024, ...}]`) and uses only
    /// the first; Envoy-style `{"thresholds": [...]}` and a single flat object are accepted too. More than one
    /// threshold is refused: MOSN would silently ignore the rest.
    private mutating func circuitBreakers(_ v: JSONValue, at path: String) -> CircuitBreakersConfig {
        var thresholds: [(value: JSONValue, path: String)] = []
        switch v {
        case .array:
            thresholds = array(v, at: path) ?? []
        case .object(let members):
            if let t = members.first(where: { $0.key.lowercased() == "thresholds" }) {
                guard let f = fields(v, at: path, ObjectSchema(known: ["thresholds"])) else { return .init() }
                thresholds = array(t.value, at: f.path("thresholds")) ?? []
            } else {
                thresholds = [(v, path)]
            }
        default:
            fail(path, "expected a list of thresholds or an object, got \(v.kindDescription)")
        }
        guard let first = thresholds.first else { return .init() }
        if thresholds.count > 1 {
            fail(thresholds[1].path, "only one threshold is supported (MOSN uses only the first)")
        }
        let schema = ObjectSchema(
            known: ["max_connections", "max_pending_requests", "max_requests", "max_retries", "priority"])
        guard let f = fields(first.value, at: first.path, schema) else { return .init() }
        if let p = string(f, "priority"), p.lowercased() != "default" {
            fail(f.path("priority"), "priority \(quoted(p)) not supported by skiff (expected default)")
        }
        let range = 0...Self.uint32Max
        return CircuitBreakersConfig(
            maxConnections: int(f, "max_connections", range) ?? 0,
            maxPendingRequests: int(f, "max_pending_requests", range) ?? 0,
            maxRequests: int(f, "max_requests", range) ?? 0,
            maxRetries: int(f, "max_retries", range) ?? 0)
    }
}
