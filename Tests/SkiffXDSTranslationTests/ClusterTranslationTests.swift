import SkiffConfig
import SkiffXDSProto
import SwiftProtobuf
import Testing

@testable import SkiffXDSTranslation

/// Clusters: basic.json's EDS clusters and the cluster-eds sample translate field by field (Envoy's defaults where
/// fields are unset); STATIC and STRICT_DNS take their hosts inline; refusals name the field.
@Suite struct ClusterTranslationTests {
    typealias Cluster = Envoy_Config_Cluster_V3_Cluster

    static func cluster(_ fields: String) throws -> Cluster {
        try TranslationFixture.decode(Cluster.self, json: #"{"name": "c1", "connect_timeout": "1s", \#(fields)}"#)
    }

    static let staticHosts = #"""
        "type": "STATIC", "load_assignment": {"cluster_name": "c1", "endpoints": [{"lb_endpoints": [
          {"endpoint": {"address": {"socket_address": {"address": "10.0.0.1", "port_value": 80}}}},
          {"endpoint": {"address": {"socket_address": {"address": "::1", "port_value": 81}}}, "load_balancing_weight": 5}]}]}
        """#

    @Test func basicFixtureClustersTranslate() throws {
        let clusters = try TranslationFixture.basic("clusters", Cluster.self)
        #expect(clusters.count == 2)
        for c in clusters {
            let out = try XDSTranslate.cluster(c)
            #expect(out.edsServiceName == c.name)
            var expected = ClusterConfig(
                name: c.name, type: .simple, lbType: .weightedRoundRobin, connectTimeout: .seconds(1),
                idleTimeout: .seconds(3600),
                circuitBreakers: CircuitBreakersConfig(
                    maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3),
                hosts: [])
            expected.tls = nil
            expected.httpProtocol = .http1  // Envoy's clusters speak HTTP/1.1 unless told otherwise
            #expect(out.config == expected)
        }
    }

    /// The sample offers h2 by ALPN but speaks HTTP/1.1 (no protocol options): refused until it says which.
    @Test func clusterEDSSampleRefusesH2InALPNOfAnHTTP1ClusterAndTranslatesWithout() throws {
        var sample = try TranslationFixture.sample(Cluster.self, "cluster-eds")
        #expect(
            rejection { try XDSTranslate.cluster(sample) }
                == XDSRejection(
                    resource: #"cluster "backend""#,
                    field: "transport_socket.typed_config.common_tls_context.alpn_protocols",
                    reason: #"offers "h2", but the cluster (its protocol options) speaks HTTP/1.1"#))

        var tls = try Envoy_Extensions_TransportSockets_Tls_V3_UpstreamTlsContext(
            unpackingAny: sample.transportSocket.typedConfig)
        tls.commonTlsContext.alpnProtocols = ["http/1.1"]
        sample.transportSocket.typedConfig = try Google_Protobuf_Any(message: tls)
        let out = try XDSTranslate.cluster(sample)
        #expect(out.edsServiceName == "backend")
        let c = out.config
        #expect(c.name == "backend")
        #expect(c.type == .simple)
        #expect(c.lbType == .leastRequest)
        #expect(c.connectTimeout == .milliseconds(250))
        #expect(
            c.circuitBreakers
                == CircuitBreakersConfig(
                    maxConnections: 1000, maxPendingRequests: 100, maxRequests: 1000, maxRetries: 3))
        #expect(
            c.outlierDetection
                == OutlierDetectionConfig(
                    consecutiveErrors: 5, baseEjectionTime: .seconds(30), maxEjectionTime: .seconds(300),
                    maxEjectionPercent: 50))
        var check = HealthCheckConfig(
            protocolName: "http1", timeout: .seconds(1), interval: .seconds(5), healthyThreshold: 2,
            unhealthyThreshold: 3,
            httpPath: "/healthz", httpCodes: [200...299])
        check.httpHost = "backend"
        #expect(c.healthCheck == check)
        var expectedTLS = TLSContextConfig(
            path: #"cluster "backend" transport_socket.typed_config"#, caCert: .file("/etc/ssl/ca.pem"),
            serverName: "backend.internal", alpn: ["http/1.1"])
        expectedTLS.minVersion = .tls12
        #expect(c.tls == expectedTLS)
        #expect(c.hosts.isEmpty)
    }

    @Test func staticClusterTakesItsHostsInline() throws {
        let out = try XDSTranslate.cluster(try Self.cluster(Self.staticHosts + #", "lb_policy": "MAGLEV""#))
        #expect(out.edsServiceName == nil)
        #expect(out.config.type == .staticCluster)
        #expect(out.config.lbType == .maglev)
        #expect(
            out.config.hosts == [
                HostConfig(address: SocketAddressSpec(host: "10.0.0.1", port: 80)),
                HostConfig(address: SocketAddressSpec(host: "::1", port: 81), weight: 5),
            ])
        let dns = try XDSTranslate.cluster(
            try Self.cluster(Self.staticHosts.replacingOccurrences(of: "STATIC", with: "STRICT_DNS")))
        #expect(dns.config.hosts.count == 2)
    }

    @Test func protocolOptionsAndTimeouts() throws {
        let options = #"""
            "type": "EDS", "eds_cluster_config": {"eds_config": {"ads": {}}, "service_name": "svc"},
            "per_connection_buffer_limit_bytes": 32768,
            "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
              "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
              "common_http_protocol_options": {"idle_timeout": "90s", "max_requests_per_connection": 100},
              "explicit_http_config": {"http_protocol_options": {}}}}
            """#
        let out = try XDSTranslate.cluster(try Self.cluster(options))
        #expect(out.edsServiceName == "svc")
        #expect(out.config.idleTimeout == .seconds(90))
        #expect(out.config.maxRequestPerConn == 100)
        #expect(out.config.connBufferLimitBytes == 32768)

        #expect(out.config.httpProtocol == .http1)

        // The cluster says which HTTP version its hosts speak: HTTP/2, or as the client spoke (the listener decides).
        let h2 = try TranslationFixture.sample(Cluster.self, "cluster-static-h2")
        #expect(try XDSTranslate.cluster(h2).config.httpProtocol == .http2)
        func withOptions(_ o: String) throws -> Cluster {
            try Self.cluster(
                #"""
                "type": "EDS", "eds_cluster_config": {"eds_config": {"ads": {}}},
                "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                  "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", \#(o)}}
                """#)
        }
        let asClient = try withOptions(#""use_downstream_protocol_config": {"http2_protocol_options": {}}"#)
        #expect(try XDSTranslate.cluster(asClient).config.httpProtocol == nil)
        // Over TLS its ALPN would have to follow each client's protocol: refused.
        var asClientTLS = asClient
        asClientTLS.transportSocket = try TranslationFixture.decode(
            Envoy_Config_Core_V3_TransportSocket.self,
            json:
                #"{"name": "tls", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", "sni": "b.test"}}"#
        )
        #expect(rejection { try XDSTranslate.cluster(asClientTLS) }?.field == "transport_socket")
        let key = #"typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]"#
        let window = try withOptions(
            #""explicit_http_config": {"http2_protocol_options": {"initial_stream_window_size": 1048576}}"#)
        #expect(try XDSTranslate.cluster(window).config.http2.initialStreamWindowSize == 1 << 20)
        let huge = try withOptions(
            #""explicit_http_config": {"http2_protocol_options": {"initial_stream_window_size": 268435456}}"#)
        #expect(
            rejection { try XDSTranslate.cluster(huge) }?.field
                == key + ".explicit_http_config.http2_protocol_options.initial_stream_window_size")
        #expect(
            rejection { try XDSTranslate.cluster(try withOptions(#""auto_config": {}"#)) }?.field == key
                + ".auto_config")
    }

    // MARK: - Rejections

    /// STRICT_DNS and LOGICAL_DNS keep their names for the engine's resolver, with Envoy's DNS settings.
    @Test func dnsClustersKeepTheirNames() throws {
        func dnsCluster(_ type: String, _ extra: String = "") throws -> Cluster {
            try Self.cluster(
                #"""
                "type": "\#(type)"\#(extra), "load_assignment": {"cluster_name": "c1", "endpoints": [{"lb_endpoints": [
                  {"endpoint": {"address": {"socket_address": {"address": "backend.svc.local", "port_value": 80}}}}]}]}
                """#)
        }
        let strict = try XDSTranslate.cluster(try dnsCluster("STRICT_DNS"))
        #expect(strict.config.type == .strictDNS && strict.config.hosts.map(\.address.host) == ["backend.svc.local"])
        let dns = try #require(strict.config.dns)
        // Envoy's defaults: every 5 s, AUTO (AAAA, then A).
        #expect(
            !dns.logical && dns.refreshRate == .seconds(5) && dns.family == .auto && dns.family.order == [.aaaa, .a])
        let logical = try XDSTranslate.cluster(
            try dnsCluster("LOGICAL_DNS", #", "dns_refresh_rate": "0.5s", "dns_lookup_family": "V4_ONLY""#))
        #expect(logical.config.type == .logicalDNS)
        #expect(logical.config.dns?.logical == true && logical.config.dns?.refreshRate == .milliseconds(500))
        #expect(logical.config.dns?.family == .v4Only)
        #expect(
            rejection { try XDSTranslate.cluster(try dnsCluster("STRICT_DNS", #", "dns_lookup_family": "ALL""#)) }?
                .field == "dns_lookup_family")
        #expect(
            rejection { try XDSTranslate.cluster(try dnsCluster("STRICT_DNS", #", "dns_refresh_rate": "0.01s""#)) }?
                .field == "dns_refresh_rate")
        // STATIC takes IP addresses only, as in Envoy.
        #expect(
            rejection { try XDSTranslate.cluster(try dnsCluster("STATIC")) }?.reason
                == #""backend.svc.local" is not an IP address (endpoints are IP addresses)"#)
    }

    @Test func unsupportedLBPolicyIsRefused() throws {
        let c = try Self.cluster(Self.staticHosts + #", "lb_policy": "RING_HASH""#)
        #expect(
            rejection { try XDSTranslate.cluster(c) }
                == XDSRejection(
                    resource: #"cluster "c1""#, field: "lb_policy",
                    reason: "RING_HASH is not supported by skiff (ROUND_ROBIN, LEAST_REQUEST, RANDOM, MAGLEV)"))
    }

    @Test func highPriorityCircuitBreakerIsRefused() throws {
        let c = try Self.cluster(
            Self.staticHosts
                + #", "circuit_breakers": {"thresholds": [{"max_connections": 10}, {"priority": "HIGH", "max_connections": 20}]}"#
        )
        #expect(
            rejection { try XDSTranslate.cluster(c) }
                == XDSRejection(
                    resource: #"cluster "c1""#, field: "circuit_breakers.thresholds[1].priority",
                    reason: "HIGH priority is not supported by skiff (it has one priority, DEFAULT)"))
        let zero = try Self.cluster(Self.staticHosts + #", "circuit_breakers": {"thresholds": [{"max_retries": 0}]}"#)
        #expect(rejection { try XDSTranslate.cluster(zero) }?.field == "circuit_breakers.thresholds[0].max_retries")
    }

    @Test func otherClusterRefusals() throws {
        let originalDst = try Self.cluster(#""type": "ORIGINAL_DST""#)
        #expect(rejection { try XDSTranslate.cluster(originalDst) }?.field == "type")
        // path_config_source (8) is not modelled: it arrives as an unknown field of the ConfigSource.
        var notADS = try Self.cluster(#""type": "EDS", "eds_cluster_config": {"eds_config": {}}"#)
        notADS.edsClusterConfig.edsConfig = try TranslationFixture.withUnknownField(
            notADS.edsClusterConfig.edsConfig, number: 8)
        #expect(
            rejection { try XDSTranslate.cluster(notADS) }
                == XDSRejection(
                    resource: #"cluster "c1""#, field: "eds_cluster_config.eds_config",
                    reason: "field 8 is not supported by skiff"))
        let successRate = try Self.cluster(
            Self.staticHosts + #", "outlier_detection": {"enforcing_success_rate": 100}"#)
        #expect(
            rejection { try XDSTranslate.cluster(successRate) }?.field == "outlier_detection.enforcing_success_rate")
        let twoChecks = try Self.cluster(
            Self.staticHosts
                + #", "health_checks": [{"timeout": "1s", "interval": "1s", "unhealthy_threshold": 1, "healthy_threshold": 1, "tcp_health_check": {}}, {"timeout": "1s", "interval": "1s", "unhealthy_threshold": 1, "healthy_threshold": 1, "tcp_health_check": {}}]"#
        )
        #expect(rejection { try XDSTranslate.cluster(twoChecks) }?.field == "health_checks[1]")
        let noSNI = try Self.cluster(
            Self.staticHosts
                + #", "transport_socket": {"name": "tls", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", "common_tls_context": {"validation_context": {"trusted_ca": {"filename": "/ca.pem"}}}}}"#
        )
        #expect(rejection { try XDSTranslate.cluster(noSNI) }?.field == "transport_socket.typed_config.sni")
    }
}
