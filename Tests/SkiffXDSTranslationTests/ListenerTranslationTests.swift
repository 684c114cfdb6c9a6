import SkiffConfig
import SkiffXDSProto
import SwiftProtobuf
import Testing

@testable import SkiffXDSTranslation

/// Listeners: basic.json and the listener-http sample translate field by field; http_connection_manager with RDS and
/// inline routes, tcp_proxy, TLS, thread model; each class of refusal names the field and says why.
@Suite struct ListenerTranslationTests {
    typealias Listener = Envoy_Config_Listener_V3_Listener
    static let hcmType =
        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    static let routerFilter =
        #"{"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}"#
    static let rds = #""rds": {"route_config_name": "r1", "config_source": {"ads": {}, "resource_api_version": "V3"}}"#

    /// A listener named `l1` on 127.0.0.1:8080 whose one filter is `filter` (JSON of a network filter).
    static func listener(filter: String, extra: String = "", chainExtra: String = "") throws -> Listener {
        try TranslationFixture.decode(
            Listener.self,
            json: """
                {"name": "l1", "address": {"socket_address": {"address": "127.0.0.1", "port_value": 8080}}\(extra),
                 "filter_chains": [{"filters": [\(filter)]\(chainExtra)}]}
                """)
    }

    /// A listener whose http_connection_manager has `fields` (JSON members after `@type`).
    static func withManager(_ fields: String, extra: String = "", chainExtra: String = "") throws -> Listener {
        try listener(
            filter: """
                {"name": "envoy.filters.network.http_connection_manager",
                 "typed_config": {"@type": "\(hcmType)", \(fields)}}
                """, extra: extra, chainExtra: chainExtra)
    }

    static func plainManager(_ more: String = "") throws -> Listener {
        try withManager(#""stat_prefix": "x", \#(rds), "http_filters": [\#(routerFilter)]\#(more)"#)
    }

    @Test func basicFixtureListenerTranslates() throws {
        let listeners = try TranslationFixture.basic("listeners", Listener.self)
        #expect(listeners.count == 1)
        let out = try XDSTranslate.listener(listeners[0])
        let c = out.config
        #expect(c.name == "ingress")
        #expect(c.address == SocketAddressSpec(host: "127.0.0.1", port: 18080))
        #expect(c.threadModel == .netpoll)
        #expect(c.maxConnections == 0)
        #expect(c.connBufferLimitBytes == 1 << 20)
        #expect(c.tls == nil)
        #expect(
            c.filterChains == [
                FilterChainConfig(filters: [
                    .proxy(
                        ProxyFilterConfig(
                            downstreamProtocol: .http1, upstreamProtocol: .http1, routerConfigName: "local_route"))
                ])
            ])
        #expect(c.requestHeaderTimeout == ListenerConfig.defaultRequestHeaderTimeout)
        #expect(c.requestBodyTimeout == .seconds(300))  // Envoy's stream_idle_timeout default
        #expect(c.streamIdleTimeout == .seconds(300))
        #expect(c.connectionIdleTimeout == .seconds(3600))  // Envoy's HTTP idle_timeout default
        #expect(out.routeConfigName == "local_route")
        #expect(out.inlineRouter == nil)
        #expect(out.clusterNames.isEmpty)
    }

    @Test func listenerHTTPSampleMapsItsTimeouts() throws {
        let out = try XDSTranslate.listener(try TranslationFixture.sample(Listener.self, "listener-http"))
        #expect(out.config.name == "listener_0")
        #expect(out.config.address == SocketAddressSpec(host: "0.0.0.0", port: 10000))
        #expect(out.config.requestBodyTimeout == .seconds(300))  // stream_idle_timeout
        #expect(out.config.connectionIdleTimeout == .seconds(60))  // common_http_protocol_options.idle_timeout
        #expect(out.routeConfigName == "local_route")
    }

    @Test func timeoutsAndBufferLimit() throws {
        let l = try Self.plainManager(
            #", "request_headers_timeout": "2s", "stream_idle_timeout": "0s", "common_http_protocol_options": {"idle_timeout": "0s"}"#
        )
        var withLimit = l
        withLimit.perConnectionBufferLimitBytes = Google_Protobuf_UInt32Value(65536)
        let c = try XDSTranslate.listener(withLimit).config
        #expect(c.requestHeaderTimeout == .seconds(2))
        #expect(c.requestBodyTimeout == XDSDefaults.disabled)
        #expect(c.streamIdleTimeout == nil)
        #expect(c.connectionIdleTimeout == nil)
        #expect(c.connBufferLimitBytes == 65536)

        withLimit.perConnectionBufferLimitBytes = Google_Protobuf_UInt32Value(100)
        #expect(
            rejection { try XDSTranslate.listener(withLimit) }
                == XDSRejection(
                    resource: #"listener "l1""#, field: "per_connection_buffer_limit_bytes",
                    reason: "100 out of range (4096-1073741824)"))
        let requestTimeout = try Self.plainManager(#", "request_timeout": "30s""#)
        #expect(
            rejection { try XDSTranslate.listener(requestTimeout) }?.field
                == "filter_chains[0].filters[0].typed_config.request_timeout")
    }

    @Test func inlineRouteConfigIsNamedAfterTheListener() throws {
        let l = try Self.withManager(
            #"""
            "stat_prefix": "x", "http_filters": [\#(Self.routerFilter)],
            "route_config": {"name": "local", "virtual_hosts": [{"name": "all", "domains": ["*"],
              "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "c1"}}]}]}
            """#)
        let out = try XDSTranslate.listener(l)
        #expect(out.routeConfigName == nil)
        #expect(XDSListener.inlineRouterName(listener: "l1") == "listener:l1")
        #expect(out.inlineRouter?.name == "listener:l1")
        #expect(
            out.inlineRouter?.virtualHosts.first?.routes.first?.action
                == .route(RouteTargetConfig(clusterName: "c1", timeout: .seconds(15))))
        guard case .proxy(let p)? = out.config.filterChains.first?.filters.first else {
            Issue.record("no proxy filter")
            return
        }
        #expect(p.routerConfigName == "listener:l1")
    }

    @Test func tcpProxyWithClusterAndSingleWeightedCluster() throws {
        let tcpType = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
        let l = try Self.listener(
            filter: #"""
                {"name": "envoy.filters.network.tcp_proxy", "typed_config": {"@type": "\#(tcpType)",
                 "stat_prefix": "tcp", "cluster": "db", "idle_timeout": "30s", "max_connect_attempts": 3}}
                """#)
        let out = try XDSTranslate.listener(l)
        #expect(
            out.config.filterChains == [
                FilterChainConfig(filters: [
                    .tcpProxy(TCPProxyConfig(cluster: "db", idleTimeout: .seconds(30), maxConnectAttempts: 3))
                ])
            ])
        #expect(out.config.connectionIdleTimeout == nil)
        #expect(out.clusterNames == ["db"])
        #expect(out.routeConfigName == nil)

        let weighted = try Self.listener(
            filter: #"""
                {"name": "tcp", "typed_config": {"@type": "\#(tcpType)", "stat_prefix": "tcp",
                 "weighted_clusters": {"clusters": [{"name": "a", "weight": 1}, {"name": "b", "weight": 0}]}}}
                """#)
        #expect(try XDSTranslate.listener(weighted).clusterNames == ["a"])
        let split = try Self.listener(
            filter: #"""
                {"name": "tcp", "typed_config": {"@type": "\#(tcpType)", "stat_prefix": "tcp",
                 "weighted_clusters": {"clusters": [{"name": "a", "weight": 1}, {"name": "b", "weight": 3}]}}}
                """#)
        #expect(
            rejection { try XDSTranslate.listener(split) }
                == XDSRejection(
                    resource: #"listener "l1""#,
                    field: "filter_chains[0].filters[0].typed_config.weighted_clusters.clusters",
                    reason: "2 clusters with weights: skiff's tcp_proxy sends every connection to one cluster"))
    }

    @Test func threadModelFromMetadata() throws {
        let rw = try Self.plainManager()
        var l = rw
        l.metadata = try TranslationFixture.decode(
            Envoy_Config_Core_V3_Metadata.self, json: #"{"filter_metadata": {"skiff": {"thread_model": "rwloop"}}}"#)
        let c = try XDSTranslate.listener(l).config
        #expect(c.threadModel == .rwloop)
        #expect(c.maxConnections == 1024)

        l.metadata = try TranslationFixture.decode(
            Envoy_Config_Core_V3_Metadata.self, json: #"{"filter_metadata": {"skiff": {"thread_model": "epoll"}}}"#)
        #expect(
            rejection { try XDSTranslate.listener(l) }
                == XDSRejection(
                    resource: #"listener "l1""#, field: #"metadata.filter_metadata["skiff"].thread_model"#,
                    reason: #"expected "netpoll" or "rwloop""#))
    }

    @Test func downstreamTLS() throws {
        let tls = #"""
            , "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "require_client_certificate": true,
                "common_tls_context": {"tls_certificates": [{"certificate_chain": {"filename": "/certs/server.pem"},
                                                             "private_key": {"filename": "/certs/server.key"}}],
                                       "validation_context": {"trusted_ca": {"inline_string": "-----BEGIN CERTIFICATE-----"}},
                                       "alpn_protocols": ["http/1.1"]}}},
              "transport_socket_connect_timeout": "3s"
            """#
        let l = try Self.withManager(
            #""stat_prefix": "x", \#(Self.rds), "http_filters": [\#(Self.routerFilter)]"#, chainExtra: tls)
        let t = try #require(try XDSTranslate.listener(l).config.tls)
        #expect(t.inspector == false)
        #expect(t.contexts.count == 1)
        let c = t.contexts[0]
        #expect(c.certChain == .file("/certs/server.pem"))
        #expect(c.privateKey == .file("/certs/server.key"))
        #expect(c.caCert == .inline("-----BEGIN CERTIFICATE-----"))
        #expect(c.verifyClient && c.requireClientCert)
        #expect(c.alpn == ["http/1.1"])
        #expect(c.handshakeTimeout == .seconds(3))
        #expect(c.path == #"listener "l1" filter_chains[0].transport_socket.typed_config"#)
    }

    // MARK: - Rejections

    @Test func unsupportedHTTPFilterIsRefused() throws {
        let l = try Self.withManager(
            #""stat_prefix": "x", \#(Self.rds), "http_filters": [{"name": "envoy.filters.http.cors"}, \#(Self.routerFilter)]"#
        )
        #expect(
            rejection { try XDSTranslate.listener(l) }
                == XDSRejection(
                    resource: #"listener "l1""#, field: "filter_chains[0].filters[0].typed_config.http_filters[0]",
                    reason:
                        #"http filter "envoy.filters.http.cors" is not supported by skiff (only envoy.filters.http.router)"#
                ))
    }

    @Test func unknownNetworkFilterTypeURLIsRefused() throws {
        var any = Google_Protobuf_Any()
        any.typeURL = "type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy"
        var filter = Envoy_Config_Listener_V3_Filter()
        filter.name = "envoy.filters.network.redis_proxy"
        filter.typedConfig = any
        var l = try Self.plainManager()
        l.filterChains[0].filters = [filter]
        #expect(
            rejection { try XDSTranslate.listener(l) }
                == XDSRejection(
                    resource: #"listener "l1""#, field: "filter_chains[0].filters[0].typed_config",
                    reason:
                        #"type "type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy" is not supported by skiff (expected type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager or type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy)"#
                ))
    }

    @Test func unknownFieldsAreRefusedWithTheirNumber() throws {
        let l = try TranslationFixture.withUnknownField(try Self.plainManager(), number: 99)
        #expect(
            rejection { try XDSTranslate.listener(l) }
                == XDSRejection(resource: #"listener "l1""#, field: "", reason: "field 99 is not supported by skiff"))

        // Inside the packed http_connection_manager: the path of the Any.
        var l2 = try Self.plainManager()
        let manager = try Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager(
            unpackingAny: l2.filterChains[0].filters[0].typedConfig)
        let extended = try TranslationFixture.withUnknownField(manager, number: 49)
        l2.filterChains[0].filters[0].typedConfig = try Google_Protobuf_Any(message: extended)
        #expect(
            rejection { try XDSTranslate.listener(l2) }
                == XDSRejection(
                    resource: #"listener "l1""#, field: "filter_chains[0].filters[0].typed_config",
                    reason: "field 49 is not supported by skiff"))
    }

    @Test func filterChainMatchIsRefused() throws {
        let l = try Self.plainManager()
        var matched = l
        matched.filterChains[0].filterChainMatch.serverNames = ["example.com"]
        #expect(
            rejection { try XDSTranslate.listener(matched) }
                == XDSRejection(
                    resource: #"listener "l1""#, field: "filter_chains[0].filter_chain_match.server_names",
                    reason: "filter chain matching is not supported by skiff (one filter chain serves every connection)"
                ))
        var empty = l
        empty.filterChains[0].filterChainMatch = Envoy_Config_Listener_V3_FilterChainMatch()
        #expect(rejection { try XDSTranslate.listener(empty) } == nil)
        var two = l
        two.filterChains.append(l.filterChains[0])
        #expect(rejection { try XDSTranslate.listener(two) }?.field == "filter_chains")
    }

    /// codec_type HTTP2 serves HTTP/2 (its upstreams are each cluster's); HTTP/2 settings other than Skiff's are
    /// refused; a TLS listener offers h2 by ALPN exactly when it serves HTTP/2.
    @Test func codecHTTP2ServesHTTP2() throws {
        let l = try Self.plainManager(
            #", "codec_type": "HTTP2", "http2_protocol_options": {"max_concurrent_streams": 50, "initial_stream_window_size": 1048576}"#)
        #expect(
            try XDSTranslate.listener(l).config.filterChains == [
                FilterChainConfig(filters: [
                    .proxy(ProxyFilterConfig(downstreamProtocol: .http2, upstreamProtocol: .http2, routerConfigName: "r1"))
                ])
            ])
        let settings = try XDSTranslate.listener(l).config.http2
        #expect(settings.maxConcurrentStreams == 50 && settings.initialStreamWindowSize == 1 << 20)
        #expect(settings.initialConnectionWindowSize == HTTP2Settings().initialConnectionWindowSize)
        let more = try Self.plainManager(
            #", "codec_type": "HTTP2", "http2_protocol_options": {"max_concurrent_streams": 2147483647}"#)
        #expect(
            rejection { try XDSTranslate.listener(more) }
                == XDSRejection(
                    resource: #"listener "l1""#,
                    field: "filter_chains[0].filters[0].typed_config.http2_protocol_options.max_concurrent_streams",
                    reason: "2147483647 is out of skiff's range 1...1000"))
        #expect(rejection { try XDSTranslate.listener(try Self.plainManager(#", "codec_type": "HTTP1""#)) } == nil)
        #expect(rejection { try XDSTranslate.listener(try Self.plainManager(#", "codec_type": "HTTP3""#)) } != nil)

        func tls(_ alpn: String) -> String {
            #"""
            , "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "common_tls_context": {"tls_certificates": [{"certificate_chain": {"filename": "/certs/server.pem"},
                                                             "private_key": {"filename": "/certs/server.key"}}],
                                       "alpn_protocols": [\#(alpn)]}}}
            """#
        }
        func manager(_ codec: String, _ alpn: String) throws -> Listener {
            try Self.withManager(
                #""stat_prefix": "x", "codec_type": "\#(codec)", \#(Self.rds), "http_filters": [\#(Self.routerFilter)]"#,
                chainExtra: tls(alpn))
        }
        let added = try #require(try XDSTranslate.listener(try manager("HTTP2", "")).config.tls)
        #expect(added.contexts[0].alpn == ["h2"])
        let both = try #require(try XDSTranslate.listener(try manager("HTTP2", #""h2", "http/1.1""#)).config.tls)
        #expect(both.contexts[0].alpn == ["h2", "http/1.1"])
        let alpnPath = "filter_chains[0].transport_socket.typed_config.common_tls_context.alpn_protocols"
        #expect(
            rejection { try XDSTranslate.listener(try manager("HTTP2", #""http/1.1""#)) }
                == XDSRejection(
                    resource: #"listener "l1""#, field: alpnPath,
                    reason: #"must offer "h2": the listener (its http_connection_manager's codec_type) speaks HTTP/2"#))
        #expect(
            rejection { try XDSTranslate.listener(try manager("AUTO", #""h2""#)) }
                == XDSRejection(
                    resource: #"listener "l1""#, field: alpnPath,
                    reason: #"offers "h2", but the listener (its http_connection_manager's codec_type) speaks HTTP/1.1"#))
    }

    @Test func listenerLevelRefusals() throws {
        let base = try Self.plainManager()
        var l = base
        l.bindToPort = Google_Protobuf_BoolValue(false)
        #expect(rejection { try XDSTranslate.listener(l) }?.field == "bind_to_port")
        l = base
        l.useOriginalDst = Google_Protobuf_BoolValue(true)
        #expect(rejection { try XDSTranslate.listener(l) }?.field == "use_original_dst")
        l = base
        l.address.socketAddress.address = "localhost"
        #expect(
            rejection { try XDSTranslate.listener(l) }
                == XDSRejection(
                    resource: #"listener "l1""#, field: "address.socket_address.address",
                    reason: #""localhost" is not an IP address (a listener binds an IP address)"#))
        l = base
        var inspector = Envoy_Config_Listener_V3_ListenerFilter()
        inspector.name = "envoy.filters.listener.tls_inspector"
        l.listenerFilters = [inspector]
        #expect(rejection { try XDSTranslate.listener(l) } == nil)
        inspector.name = "envoy.filters.listener.original_dst"
        l.listenerFilters = [inspector]
        #expect(rejection { try XDSTranslate.listener(l) }?.field == "listener_filters[0]")
        let nonADS = try Self.withManager(
            #""stat_prefix": "x", "rds": {"route_config_name": "r1", "config_source": {"api_config_source": {"api_type": "GRPC"}}}, "http_filters": [\#(Self.routerFilter)]"#
        )
        #expect(
            rejection { try XDSTranslate.listener(nonADS) }?.field
                == "filter_chains[0].filters[0].typed_config.rds.config_source.api_config_source")
    }
}
