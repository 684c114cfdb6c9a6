import SkiffConfig
import SkiffXDSProto
import SwiftProtobuf

/// One Cluster into a `ClusterConfig`: its discovery type (STATIC with inline endpoints, EDS through ADS, STRICT_DNS
/// and LOGICAL_DNS with names for the engine's resolver), load balancer, timeouts, buffer limit, HTTP protocol options
/// (the HTTP version the hosts speak: HTTP/1.1 unless explicit HTTP/2, or as the client spoke), TLS, and the
/// policies of ClusterPolicyTranslation.swift and HealthCheckTranslation.swift. A value used once; any thread.
struct ClusterTranslation {
    typealias Cluster = Envoy_Config_Cluster_V3_Cluster
    typealias HttpProtocolOptions = Envoy_Extensions_Upstreams_Http_V3_HttpProtocolOptions

    static let protocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

    let cluster: Cluster
    let context: XDSContext

    init(_ cluster: Cluster) {
        self.cluster = cluster
        self.context = XDSContext(resource: "cluster \(quotedName(cluster.name))")
    }

    func translate() throws(XDSRejection) -> XDSCluster {
        let c = cluster
        try context.checkUnknown(c, at: "")
        if c.name.isEmpty { throw context.reject("name", "required") }
        // `alt_stat_name` and `metadata` are labels: accepted.
        var config = ClusterConfig(
            name: c.name, type: .staticCluster, connectTimeout: XDSDefaults.connectTimeout, hosts: [])
        config.idleTimeout = XDSDefaults.idleTimeout
        // Envoy's clusters speak HTTP/1.1 unless their protocol options say otherwise.
        config.httpProtocol = .http1
        if c.hasConnectTimeout {
            config.connectTimeout = try context.positiveDuration(c.connectTimeout, at: "connect_timeout")
        }
        config.connBufferLimitBytes = try context.uint32(
            c.hasPerConnectionBufferLimitBytes, c.perConnectionBufferLimitBytes, in: SkiffLimits.bufferLimitBytes,
            at: "per_connection_buffer_limit_bytes", absent: 1 << 20)
        config.lbType = try loadBalancer()
        let policies = ClusterPolicyTranslation(context)
        config.circuitBreakers = try policies.circuitBreakers(c.hasCircuitBreakers ? c.circuitBreakers : nil)
        if c.hasOutlierDetection {
            config.outlierDetection = try policies.outlierDetection(c.outlierDetection, at: "outlier_detection")
        }
        if c.healthChecks.count > 1 {
            throw context.reject(
                "health_checks".at(1), "\(c.healthChecks.count) health checks; skiff runs one per cluster")
        }
        if let check = c.healthChecks.first {
            config.healthCheck = try HealthCheckTranslation(context).healthCheck(check, at: "health_checks".at(0))
        }
        for key in c.typedExtensionProtocolOptions.keys.sorted() {
            try protocolOptions(c.typedExtensionProtocolOptions[key]!, key: key, into: &config)
        }
        if c.hasTransportSocket {
            config.tls = try TLSTranslation(context).clusterTLS(c.transportSocket, at: "transport_socket")
            if config.tls != nil && config.httpProtocol == nil {
                // Each request would need the ALPN of the protocol its client spoke: one TLS context per cluster.
                throw context.reject(
                    "transport_socket",
                    "TLS with use_downstream_protocol_config is not supported by skiff (its ALPN would have to follow "
                        + "each client's protocol): use explicit_http_config")
            }
            if var tls = config.tls, let proto = config.httpProtocol {
                try TLSTranslation(context).checkALPN(
                    &tls, http2: proto == .http2,
                    at: "transport_socket.typed_config.common_tls_context.alpn_protocols",
                    what: "the cluster (its protocol options)")
                config.tls = tls
            }
        }
        return try discovery(into: config)
    }

    /// STATIC and STRICT_DNS take their hosts from `load_assignment`; EDS subscribes.
    private func discovery(into base: ClusterConfig) throws(XDSRejection) -> XDSCluster {
        var config = base
        let type: Cluster.DiscoveryType
        switch cluster.clusterDiscoveryType {
        case .type(let t)?: type = t
        case nil: type = .static
        }
        switch type {
        case .static, .strictDns, .logicalDns:
            if type != .static {
                config.type = type == .strictDns ? .strictDNS : .logicalDNS
                config.dns = try dnsSettings(logical: type == .logicalDns)
            }
            if cluster.hasLoadAssignment {
                config.hosts = try EndpointTranslation(context, namesAllowed: type != .static).hosts(
                    cluster.loadAssignment, at: "load_assignment")
            }
            // `eds_cluster_config` is accepted and unused, as Envoy ignores it for these types.
            if cluster.hasEdsClusterConfig {
                try context.checkUnknown(cluster.edsClusterConfig, at: "eds_cluster_config")
            }
            return XDSCluster(config: config, edsServiceName: nil)
        case .eds:
            config.type = .simple
            guard cluster.hasEdsClusterConfig else {
                throw context.reject("eds_cluster_config", "required for type EDS")
            }
            let e = cluster.edsClusterConfig
            try context.checkUnknown(e, at: "eds_cluster_config")
            guard e.hasEdsConfig else { throw context.reject("eds_cluster_config.eds_config", "required") }
            try context.checkADS(e.edsConfig, at: "eds_cluster_config.eds_config")
            try context.refuse(
                cluster.hasLoadAssignment, "load_assignment", "not used with type EDS (endpoints come from EDS)")
            return XDSCluster(config: config, edsServiceName: e.serviceName.isEmpty ? cluster.name : e.serviceName)
        case .originalDst:
            throw context.reject(
                "type", "ORIGINAL_DST is not supported by skiff (STATIC, STRICT_DNS, LOGICAL_DNS, EDS)")
        case .UNRECOGNIZED(let n):
            throw context.reject("type", "unknown discovery type \(n)")
        }
    }

    /// STRICT_DNS / LOGICAL_DNS: `dns_refresh_rate` (Envoy's default 5 s, at least 100 ms) and `dns_lookup_family`
    /// (ALL is refused: Skiff makes hosts of one family's answer); names are asked of the resolv.conf servers.
    private func dnsSettings(logical: Bool) throws(XDSRejection) -> DNSClusterConfig {
        var dns = DNSClusterConfig(logical: logical)
        if cluster.hasDnsRefreshRate {
            let d = try context.duration(cluster.dnsRefreshRate, at: "dns_refresh_rate")
            guard d >= DNSClusterConfig.minimumRefreshRate else {
                throw context.reject("dns_refresh_rate", "at least 100ms")
            }
            dns.refreshRate = d
        }
        switch cluster.dnsLookupFamily {
        case .auto: dns.family = .auto
        case .v4Only: dns.family = .v4Only
        case .v6Only: dns.family = .v6Only
        case .v4Preferred: dns.family = .v4Preferred
        case .all:
            throw context.reject(
                "dns_lookup_family", "ALL is not supported by skiff (AUTO, V4_ONLY, V6_ONLY, V4_PREFERRED)")
        case .UNRECOGNIZED(let n): throw context.reject("dns_lookup_family", "unknown lookup family \(n)")
        }
        return dns
    }

    /// Envoy's ROUND_ROBIN honours endpoint weights, so it is Skiff's weighted round robin (plain rotation when the
    /// weights are equal). MAGLEV and RANDOM ignore weights in Skiff.
    private func loadBalancer() throws(XDSRejection) -> LoadBalancerType {
        let type: LoadBalancerType
        switch cluster.lbPolicy {
        case .roundRobin: type = .weightedRoundRobin
        case .leastRequest: type = .leastRequest
        case .random: type = .random
        case .maglev: type = .maglev
        case .ringHash, .clusterProvided, .loadBalancingPolicyConfig, .UNRECOGNIZED:
            throw context.reject(
                "lb_policy",
                "\(Self.lbPolicyName(cluster.lbPolicy)) is not supported by skiff (ROUND_ROBIN, LEAST_REQUEST, RANDOM, "
                    + "MAGLEV)")
        }
        switch cluster.lbConfig {
        case .leastRequestLbConfig(let l)?:
            try context.checkUnknown(l, at: "least_request_lb_config")
            if cluster.lbPolicy != .leastRequest {
                throw context.reject(
                    "least_request_lb_config", "given with lb_policy \(Self.lbPolicyName(cluster.lbPolicy))")
            }
            if l.hasChoiceCount {
                try context.checkUnknown(l.choiceCount, at: "least_request_lb_config.choice_count")
                try context.refuse(
                    l.choiceCount.value != 2, "least_request_lb_config.choice_count",
                    "\(l.choiceCount.value) is not supported by skiff (it picks the better of 2)")
            }
        case nil:
            break
        }
        return type
    }

    static func lbPolicyName(_ p: Cluster.LbPolicy) -> String {
        switch p {
        case .roundRobin: "ROUND_ROBIN"
        case .leastRequest: "LEAST_REQUEST"
        case .ringHash: "RING_HASH"
        case .random: "RANDOM"
        case .maglev: "MAGLEV"
        case .clusterProvided: "CLUSTER_PROVIDED"
        case .loadBalancingPolicyConfig: "LOAD_BALANCING_POLICY_CONFIG"
        case .UNRECOGNIZED(let n): "lb_policy \(n)"
        }
    }

    /// `typed_extension_protocol_options`: only HttpProtocolOptions: the HTTP version (explicit HTTP/1.1 or HTTP/2, or
    /// as the downstream speaks), its idle timeout and requests per connection.
    private func protocolOptions(_ any: Google_Protobuf_Any, key: String, into config: inout ClusterConfig)
        throws(XDSRejection)
    {
        let path = FieldPath.key("typed_extension_protocol_options", key)
        guard key == Self.protocolOptionsKey || key == AnyUnpacking.typePrefix + Self.protocolOptionsKey else {
            throw context.reject(path, "protocol options \(quotedName(key)) are not supported by skiff")
        }
        let o = try AnyUnpacking.unpack(any, as: HttpProtocolOptions.self, at: path, context)
        try context.checkUnknown(o, at: path)
        if o.hasCommonHTTPProtocolOptions {
            let cp = path.dot("common_http_protocol_options")
            let common = o.commonHTTPProtocolOptions
            try context.checkUnknown(common, at: cp)
            if common.hasIdleTimeout {
                let d = try context.duration(common.idleTimeout, at: cp.dot("idle_timeout"))
                config.idleTimeout = d == .zero ? nil : d
            }
            config.maxRequestPerConn = try context.uint32(
                common.hasMaxRequestsPerConnection, common.maxRequestsPerConnection, in: SkiffLimits.uint32,
                at: cp.dot("max_requests_per_connection"), absent: 0)
            try context.refuse(common.hasMaxHeadersCount, cp.dot("max_headers_count"), "not supported by skiff")
            try context.refuse(
                common.hasMaxConnectionDuration, cp.dot("max_connection_duration"), "not supported by skiff")
            try context.refuse(common.hasMaxStreamDuration, cp.dot("max_stream_duration"), "not supported by skiff")
        }
        switch o.upstreamProtocolOptions {
        case .explicitHTTPConfig(let e)?:
            let ep = path.dot("explicit_http_config")
            try context.checkUnknown(e, at: ep)
            switch e.protocolConfig {
            case .httpProtocolOptions(let h)?:
                try http1Options(h, at: ep.dot("http_protocol_options"))
                config.httpProtocol = .http1
            case .http2ProtocolOptions(let h2)?:
                config.http2 = try HTTP2OptionsTranslation.settings(h2, at: ep.dot("http2_protocol_options"), context)
                config.httpProtocol = .http2
            case nil:
                config.httpProtocol = .http1
            }
        case .useDownstreamProtocolConfig(let d)?:
            let dp = path.dot("use_downstream_protocol_config")
            try context.checkUnknown(d, at: dp)
            if d.hasHTTPProtocolOptions { try http1Options(d.httpProtocolOptions, at: dp.dot("http_protocol_options")) }
            if d.hasHTTP2ProtocolOptions {
                config.http2 = try HTTP2OptionsTranslation.settings(
                    d.http2ProtocolOptions, at: dp.dot("http2_protocol_options"), context)
            }
            // As the client spoke: the listener's proxy decides.
            config.httpProtocol = nil
        case .autoConfig?:
            throw context.reject(
                path.dot("auto_config"),
                "not supported by skiff (it does not pick the HTTP version by ALPN): use explicit_http_config")
        case nil:
            break
        }
    }

    private func http1Options(_ h: Envoy_Config_Core_V3_Http1ProtocolOptions, at path: String) throws(XDSRejection) {
        try context.checkUnknown(h, at: path)
        try context.refuse(h.enableTrailers, path.dot("enable_trailers"), "not supported by skiff")
        // `allow_absolute_url`, `accept_http_10` and `default_host_for_http_10` concern requests received: harmless
        // on an upstream.
    }
}
