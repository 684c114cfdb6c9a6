import SkiffJSON
import Testing

@testable import SkiffConfig

private typealias F = Fixture

@Suite struct SemanticsTests {
    // MARK: - Thread models

    @Test func useNetpollModeMapsToThreadModel() throws {
        let on = try #require(decodeValid(F.config(server: #","use_netpoll_mode":true"#)))
        #expect(on.servers[0].threadModel == .netpoll)
        #expect(on.allListeners[0].threadModel == .netpoll)
        // An explicit false is MOSN's classic goroutine-per-connection model: rwloop.
        let off = try #require(decodeValid(F.config(server: #","use_netpoll_mode":false"#)))
        #expect(off.servers[0].threadModel == .rwloop)
        #expect(off.allListeners[0].maxConnections == 1024)
        // Agreeing values are fine.
        let both = try #require(decodeValid(F.config(server: #","use_netpoll_mode":true,"thread_model":"NetPoll""#)))
        #expect(both.servers[0].threadModel == .netpoll)
    }

    @Test func listenerOverridesServer() throws {
        let json = F.config(
            listeners: [
                F.tcpListener("a"), F.tcpListener("b", extra: #","thread_model":"netpoll","pollers":2,"workers":0"#),
            ],
            server: #","thread_model":"RWLOOP","pollers":4,"workers":8"#)
        let config = try #require(decodeValid(json))
        let (a, b) = (config.allListeners[0], config.allListeners[1])
        #expect((a.threadModel, a.pollers, a.workers, a.maxConnections) == (.rwloop, 4, 8, 1024))
        #expect((b.threadModel, b.pollers, b.workers, b.maxConnections) == (.netpoll, 2, 0, 0))
        #expect(config.summary == "2 listeners (netpoll 1, rwloop 1), 1 cluster, 1 host, 0 routers")
    }

    @Test func listenerExtensions() throws {
        let extra =
            #","max_connections":50,"max_coalesce":64,"conn_buffer_limit_bytes":65536,"connection_idle_timeout":"90s","type":"Ingress""#
        let l = try #require(decodeValid(F.config(listeners: [F.tcpListener(extra: extra)]))?.allListeners.first)
        #expect(l.maxConnections == 50)
        #expect(l.maxCoalesce == 64)
        #expect(l.connBufferLimitBytes == 65536)
        #expect(l.connectionIdleTimeout == .seconds(90))
        #expect(l.direction == "ingress")
    }

    /// The defaults the issue names: a request head within 10 s (HAProxy's `timeout http-request`), a body that
    /// stalls for 60 s, a keep-alive or RPC connection silent for 60 s; tcp_proxy listeners keep no idle timeout of
    /// their own unless given one (their filter's `idle_timeout` applies).
    @Test func connectionTimeoutDefaults() throws {
        let http = try #require(decodeValid(F.config(listeners: [F.proxyListener()], routers: [F.router()])))
        let h = http.allListeners[0]
        #expect(h.requestHeaderTimeout == .seconds(10))
        #expect(h.requestBodyTimeout == .seconds(60))
        #expect(h.connectionIdleTimeout == .seconds(60))
        let bolt = try #require(
            decodeValid(
                F.config(
                    listeners: [F.proxyListener(config: #"{"downstream_protocol":"bolt","router_config_name":"r1"}"#)],
                    routers: [F.router()])))
        #expect(bolt.allListeners[0].connectionIdleTimeout == .seconds(60))
        let tcp = try #require(decodeValid(F.config()))
        #expect(tcp.allListeners[0].connectionIdleTimeout == nil)
    }

    @Test func connectionTimeoutsAreSetPerListener() throws {
        let extra = #","request_header_timeout":"300ms","request_body_timeout":"2s","connection_idle_timeout":"1m30s""#
        let set = try #require(
            decodeValid(F.config(listeners: [F.proxyListener(extra: extra)], routers: [F.router()])))
        let l = set.allListeners[0]
        #expect((l.requestHeaderTimeout, l.requestBodyTimeout) == (.milliseconds(300), .seconds(2)))
        #expect(l.connectionIdleTimeout == .seconds(90))
        // "0s" turns the idle timeout off, as in MOSN.
        let off = try #require(
            decodeValid(
                F.config(
                    listeners: [F.proxyListener(extra: #","connection_idle_timeout":"0s""#)], routers: [F.router()])))
        #expect(off.allListeners[0].connectionIdleTimeout == nil)
    }

    @Test func streamIdleTimeoutIsEnvoysDefaultOnHTTP2Listeners() throws {
        let h2 = #"{"downstream_protocol":"Http2","upstream_protocol":"Http2","router_config_name":"r1"}"#
        let plain = try #require(
            decodeValid(F.config(listeners: [F.proxyListener(config: h2)], routers: [F.router()])))
        #expect(plain.allListeners[0].streamIdleTimeout == .seconds(300))
        let set = try #require(
            decodeValid(
                F.config(
                    listeners: [F.proxyListener(extra: #","stream_idle_timeout":"1500ms""#, config: h2)],
                    routers: [F.router()])))
        #expect(set.allListeners[0].streamIdleTimeout == .milliseconds(1500))
        let off = try #require(
            decodeValid(
                F.config(
                    listeners: [F.proxyListener(extra: #","stream_idle_timeout":"0s""#, config: h2)],
                    routers: [F.router()])))
        #expect(off.allListeners[0].streamIdleTimeout == nil)
    }

    @Test func http2SettingsOnListenersAndClusters() throws {
        let h2 = #"{"downstream_protocol":"Http2","upstream_protocol":"Http2","router_config_name":"r1"}"#
        let options = #","http2_protocol_options":{"max_concurrent_streams":10,"initial_stream_window_size":131072}"#
        let set = try #require(
            decodeValid(F.config(listeners: [F.proxyListener(extra: options, config: h2)], routers: [F.router()])))
        let l = set.allListeners[0].http2
        #expect((l.maxConcurrentStreams, l.initialStreamWindowSize, l.initialConnectionWindowSize) == (10, 131072, 1 << 20))
        #expect(HTTP2Settings().maxConcurrentStreams == 100 && HTTP2Settings().initialStreamWindowSize == 65_535)
    }

    // MARK: - Keys

    @Test func keysMatchCaseInsensitively() throws {
        let json =
            #"{"SERVERS":[{"Listeners":[{"NAME":"a","Address":"[::1]:0","Filter_Chains":[{"Filters":[{"Type":"TCP_PROXY","Config":{"Cluster":"c1"}}]}]}]}],"Cluster_Manager":{"Clusters":[{"Name":"c1","Hosts":[{"Address":"localhost:80"}]}]}}"#
        let config = try #require(decodeValid(json))
        #expect(config.allListeners[0].address == SocketAddressSpec(host: "::1", port: 0))
        #expect(config.allListeners[0].address.description == "[::1]:0")
        #expect(config.clusters[0].hosts[0].address == SocketAddressSpec(host: "localhost", port: 80))
    }

    @Test func emptyUnsupportedFieldsAreAccepted() throws {
        let listener =
            #"{"name":"a","address":"127.0.0.1:0","inspector":false,"filter_chains":[{"match":"","tls_context":{},"filters":[{"type":"tcp_proxy","config":{"cluster":"c1"}}]}]}"#
        _ = try #require(
            decodeValid(F.config(listeners: [listener], clusters: [F.cluster(extra: #","tls_context":{},"spec":{}"#)])))
    }

    @Test func didYouMeanForNames() {
        #expect(Suggestion.closest(to: "adress", among: ["name", "address"]) == "address")
        #expect(Suggestion.closest(to: "Nmae", among: ["name", "address"]) == "name")
        #expect(Suggestion.closest(to: "bindport", among: ["bind_port"]) == "bind_port")
        #expect(Suggestion.closest(to: "zzz", among: ["name", "address"]) == nil)
    }

    // MARK: - tcp_proxy

    @Test func tcpRoutesConvertCIDRs() throws {
        let config =
            #"{"cluster":"c1","idle_timeout":"0s","routes":[{"cluster":"c1","source_addrs":[{"address":"10.0.0.0","length":8},"192.168.0.0/16"],"DestinationAddrs":[{"address":"::1","length":128}]}]}"#
        let l = try #require(decodeValid(F.config(listeners: [F.tcpListener(config: config)]))?.allListeners.first)
        guard case .tcpProxy(let tcp)? = l.filterChains.first?.filters.first else {
            Issue.record("expected tcp_proxy")
            return
        }
        #expect(tcp.idleTimeout == nil)  // "0s" means none
        #expect(
            tcp.routes == [
                TCPRouteConfig(
                    cluster: "c1", sourceAddrs: ["10.0.0.0/8", "192.168.0.0/16"], destinationAddrs: ["::1/128"])
            ])
    }

    // MARK: - Routes

    @Test func routeDetails() throws {
        let routes = [
            #"{"match":{"path":"/a","headers":[{"name":"x-v","value":"v[0-9]+","regex":true}]},"route":{"weighted_clusters":[{"cluster":{"name":"c1","weight":90}},{"cluster":{"name":"c2","weight":10}}],"timeout":"2.5s","retry_policy":{"retry_on":true,"retry_timeout":"1s","num_retries":3,"status_codes":[503]},"prefix_rewrite":"/b","host_rewrite":"h","hash_policy":[{"header":{"key":"x-user"}}]}}"#,
            #"{"match":{"prefix":"/r"},"redirect":{"host_redirect":"example.com"}}"#,
            #"{"match":{"regex":"^/d/.*$"},"direct_response":{"status":404,"body":"no"}}"#,
            #"{"match":{"prefix":"/s"},"route":{"cluster_name":"c2","retry_policy":{"retry_on":"reset, 5XX"}}}"#,
        ]
        let config = try #require(decodeValid(F.routed(routes)))
        let r = config.servers[0].routers[0].virtualHosts[0].routes
        #expect(
            r[0].match
                == RouteMatchConfig(
                    path: "/a", headers: [HeaderMatcherConfig(name: "x-v", value: "v[0-9]+", regex: true)]))
        #expect(
            r[0].action
                == .route(
                    RouteTargetConfig(
                        weightedClusters: [
                            WeightedClusterConfig(name: "c1", weight: 90),
                            WeightedClusterConfig(name: "c2", weight: 10),
                        ],
                        timeout: .milliseconds(2500),
                        retryPolicy: RetryPolicyConfig(
                            retryOn: ["connect-failure", "reset", "5xx", "retriable-status-codes"],
                            retryTimeout: .seconds(1),
                            numRetries: 3, statusCodes: [503]),
                        prefixRewrite: "/b", hostRewrite: "h", hashPolicyHeaders: ["x-user"])))
        #expect(
            r[1].action == .redirect(RedirectConfig(hostRedirect: "example.com", pathRedirect: nil, responseCode: 301)))
        #expect(r[2].action == .directResponse(status: 404, body: "no"))
        guard case .route(let target) = r[3].action else {
            Issue.record("expected a route")
            return
        }
        #expect(target.retryPolicy?.retryOn == ["reset", "5xx"])
        #expect(target.retryPolicy?.numRetries == 1)
        #expect(target.timeout == .seconds(60))
    }

    // MARK: - Clusters

    @Test func circuitBreakerShapes() throws {
        let shapes = [
            #"[{"max_connections":10,"max_requests":20}]"#,
            #"{"thresholds":[{"max_connections":10,"max_requests":20}]}"#,
            #"{"max_connections":10,"max_requests":20}"#,
        ]
        for shape in shapes {
            let config = try #require(
                decodeValid(F.config(clusters: [F.cluster(extra: ",\"circuit_breakers\":\(shape)")])))
            #expect(config.clusters[0].circuitBreakers == CircuitBreakersConfig(maxConnections: 10, maxRequests: 20))
        }
    }

    @Test func httpHealthCheck() throws {
        let hc =
            #","health_check":{"protocol":"HTTP1","timeout":"2s","interval":"5s","interval_jitter":"100ms","initial_delay_seconds":3,"unhealthy_interval":"30s","service_name":"svc","check_config":{"http_check_config":{"path":"/health","method":"head","codes":[{"start":200,"end":299},{"start":302,"end":302}]}}}"#
        let check = try #require(decodeValid(F.config(clusters: [F.cluster(extra: hc)]))?.clusters[0].healthCheck)
        #expect(
            check
                == HealthCheckConfig(
                    protocolName: "http1", timeout: .seconds(2), interval: .seconds(5),
                    intervalJitter: .milliseconds(100),
                    unhealthyInterval: .seconds(30), initialDelay: .seconds(3), healthyThreshold: 1,
                    unhealthyThreshold: 1,
                    serviceName: "svc", httpPath: "/health", httpMethod: "HEAD", httpCodes: [200...299, 302...302]))
    }

    /// gRPC's health-checking protocol: `grpc_check_config.service_name` names the service asked about; refused
    /// beside any other protocol.
    @Test func grpcHealthCheck() throws {
        let hc =
            #","health_check":{"protocol":"grpc","service_name":"c","check_config":{"grpc_check_config":{"service_name":"helloworld.Greeter"}}}"#
        let check = try #require(decodeValid(F.config(clusters: [F.cluster(extra: hc)]))?.clusters[0].healthCheck)
        #expect(check.protocolName == "grpc")
        #expect(check.grpcService == "helloworld.Greeter")
        let whole = try #require(
            decodeValid(F.config(clusters: [F.cluster(extra: #","health_check":{"protocol":"grpc","service_name":"c"}"#)]))?
                .clusters[0].healthCheck)
        #expect(whole.grpcService == nil)
        #expect(
            errorLines(
                F.config(clusters: [
                    F.cluster(
                        extra: #","health_check":{"protocol":"tcp","service_name":"c","check_config":{"grpc_check_config":{"service_name":"x"}}}"#)
                ])) == ["cluster_manager.clusters[0].health_check.check_config.grpc_check_config: only valid for protocol grpc"])
    }

    @Test func healthCheckDefaults() throws {
        let check = try #require(
            decodeValid(
                F.config(clusters: [
                    F.cluster(extra: #","health_check":{"protocol":"tcp","initial_delay_seconds":"1.5s"}"#)
                ]))?
                .clusters[0].healthCheck)
        #expect(
            check
                == HealthCheckConfig(
                    protocolName: "tcp", timeout: .seconds(1), interval: .seconds(15),
                    initialDelay: .milliseconds(1500),
                    healthyThreshold: 1, unhealthyThreshold: 1))
    }

    @Test func outlierDetection() throws {
        let od =
            #","outlier_detection":{"consecutive_errors":3,"base_ejection_time":"10s","max_ejection_time":"1m","max_ejection_percent":20}"#
        let cluster = try #require(decodeValid(F.config(clusters: [F.cluster(extra: od)]))?.clusters[0])
        #expect(
            cluster.outlierDetection
                == OutlierDetectionConfig(
                    consecutiveErrors: 3, baseEjectionTime: .seconds(10), maxEjectionTime: .seconds(60),
                    maxEjectionPercent: 20))
        let defaults = try #require(
            decodeValid(F.config(clusters: [F.cluster(extra: #","Outlier_Detection":{}"#)]))?.clusters[0])
        #expect(defaults.outlierDetection == OutlierDetectionConfig())
        #expect(defaults.outlierDetection?.consecutiveErrors == 5)
        #expect(defaults.outlierDetection?.maxEjectionPercent == 10)
        #expect(try #require(decodeValid(F.config()))?.clusters[0].outlierDetection == nil)
    }

    /// MOSN's slow-start sample: `"protocol": "http1"` and no path. MOSN dials TCP; so does Skiff, with a warning.
    @Test func http1HealthCheckWithoutAPathChecksTCP() throws {
        let config = try #require(
            decodeValid(F.config(clusters: [F.cluster(extra: #","health_check":{"protocol":"http1","service_name":"s"}"#)])))
        #expect(config.clusters[0].healthCheck?.protocolName == "tcp")
        #expect(
            config.warnings.map(\.description) == [
                "cluster_manager.clusters[0].health_check.check_config.http_check_config: missing: protocol Http1 "
                    + "without a path checks with a TCP connect, as MOSN does; add http_check_config with a path for "
                    + "an HTTP check"
            ])
    }

    @Test func hostDetails() throws {
        let hosts =
            #"[{"address":"10.0.0.1:80","hostname":"web1","weight":128,"metadata":{"zone":"a","filter_metadata":{"mosn.lb":{"v":"1"}}}}]"#
        let host = try #require(
            decodeValid(F.config(clusters: [F.cluster(extra: #","type":"static""#, hosts: hosts)]))?.clusters[0])
        #expect(host.type == .staticCluster)
        #expect(
            host.hosts == [
                HostConfig(
                    address: SocketAddressSpec(host: "10.0.0.1", port: 80), hostname: "web1", weight: 128,
                    metadata: ["zone": "a", "filter_metadata.mosn.lb.v": "1"])
            ])
    }

    @Test func adminAddress() throws {
        let config = try #require(
            decodeValid(
                F.config(top: #","admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":0}}}"#)))
        #expect(config.admin == AdminConfig(address: SocketAddressSpec(host: "127.0.0.1", port: 0)))
        #expect(
            errorLines(F.config(top: #","admin":{"address":{"socket_address":{"address":"127.0.0.1"}}}"#)) == [
                "admin.address.socket_address.port_value: required"
            ])
    }

    /// `admin.token` (a Skiff extension) is decoded, and hidden wherever the config is shown.
    @Test func adminTokenIsDecodedAndRedacted() throws {
        let text = F.config(
            top: #","Admin":{"address":{"socket_address":{"address":"0.0.0.0","port_value":34902}},"Token":"0123456789abcdef-XYZ"}"#)
        let config = try #require(decodeValid(text))
        #expect(config.admin?.token == "0123456789abcdef-XYZ")
        let shown = ConfigRedaction.redacted(try JSONParser.parse(Array(text.utf8)))
        #expect(shown["Admin"]?["Token"] == .string("<redacted>"))
        #expect(shown["Admin"]?["address"]?["socket_address"]?["port_value"] == .number("34902"))
        #expect(shown["servers"] == (try JSONParser.parse(Array(text.utf8)))["servers"])
    }
}

@Suite struct DrainConfigTests {
    @Test func drainFieldsDecodeWithDefaults() throws {
        let base = #"{"servers":[{"listeners":[{"name":"a","address":"127.0.0.1:0","filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"c"}}]}]}]}],"cluster_manager":{"clusters":[{"name":"c",EXTRA"hosts":[{"address":"127.0.0.1:1"}]}]}}"#
        let plain = try ConfigDecoder.decode(base.replacingOccurrences("EXTRA", ""))
        #expect(plain.clusters[0].drainTimeout == .seconds(30))
        #expect(plain.clusters[0].drainAction == .close)
        let set = try ConfigDecoder.decode(base.replacingOccurrences("EXTRA", #""drain_timeout":"5s","drain_action":"wait","#))
        #expect(set.clusters[0].drainTimeout == .seconds(5))
        #expect(set.clusters[0].drainAction == .wait)
        #expect(throws: ConfigErrors.self) {
            try ConfigDecoder.decode(base.replacingOccurrences("EXTRA", #""drain_timeout":"0s","#))
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(_ a: String, _ b: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: a) {
            out += rest[..<r.lowerBound] + b
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
