import Testing

@testable import SkiffConfig

/// MOSN's own example configs (mosn/mosn, examples/codes/*) and the old form.
@Suite struct MOSNSampleTests {
    static let httpSample = #"""
        {"disable_upgrade":true,"servers":[{"default_log_path":"stdout","routers":[{"router_config_name":"server_router","virtual_hosts":[{"name":"serverHost","domains":["*"],"routers":[{"match":{"prefix":"/"},"route":{"cluster_name":"serverCluster"}}]}]}],"listeners":[{"name":"serverListener","address":"127.0.0.1:2046","bind_port":true,"filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","upstream_protocol":"Http1","router_config_name":"server_router"}}]}]}]}],"cluster_manager":{"clusters":[{"name":"serverCluster","type":"SIMPLE","lb_type":"LB_RANDOM","max_request_per_conn":1024,"conn_buffer_limit_bytes":32768,"hosts":[{"address":"127.0.0.1:8080"}]}]},"admin":{"address":{"socket_address":{"address":"0.0.0.0","port_value":34902}}}}
        """#

    static let tcpSample = #"""
        {"servers":[{"default_log_path":"stdout","listeners":[{"name":"proxyListener","address":"127.0.0.1:2045","bind_port":true,"log_path":"stdout","filter_chains":[{"tls_context":{},"filters":[{"type":"tcp_proxy","config":{"cluster":"serverCluster","routes":[{"cluster":"serverCluster"}]}}]}]}]}],"cluster_manager":{"clusters":[{"Name":"serverCluster","type":"SIMPLE","lb_type":"LB_RANDOM","max_request_per_conn":1024,"conn_buffer_limit_bytes":32768,"hosts":[{"address":"127.0.0.1:8080"}]}]}}
        """#

    static let boltSample = #"""
        {"disable_upgrade":true,"servers":[{"default_log_path":"stdout","routers":[{"router_config_name":"server_router","virtual_hosts":[{"name":"serverHost","domains":["*"],"routers":[{"match":{"headers":[{"name":"service","value":".*"}]},"route":{"cluster_name":"serverCluster"}}]}]}],"listeners":[{"name":"serverListener","address":"127.0.0.1:2046","bind_port":true,"filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"bolt","router_config_name":"server_router"}}]}],"stream_filters":[{"type":"healthcheck","config":{}}]}]}],"cluster_manager":{"clusters":[{"name":"serverCluster","type":"SIMPLE","lb_type":"LB_RANDOM","max_request_per_conn":1024,"conn_buffer_limit_bytes":32768,"hosts":[{"address":"127.0.0.1:8080"}]}]},"admin":{"address":{"socket_address":{"address":"0.0.0.0","port_value":34902}}}}
        """#

    static let oldForm = #"""
        {"servers":[{"listeners":[{"name":"egress_sofa","address":"0.0.0.0:12220","bind_port":true,
          "filter_chains":[{"filters":[
            {"type":"proxy","config":{"downstream_protocol":"SofaRpc","upstream_protocol":"SofaRpc","router_config_name":"test_router"}},
            {"type":"connection_manager","config":{"router_config_name":"test_router","virtual_hosts":[{"name":"sofa","domains":["*"],
              "routers":[{"match":{"headers":[{"name":"service","value":"com.alipay.test.TestService:1.0","regex":false}]},"route":{"cluster_name":"test_cpp"}}]}]}}]}]}]}],
         "cluster_manager":{"clusters":[
           {"name":"test_cpp","type":"SIMPLE","lb_type":"LB_ROUNDROBIN","hosts":[{"address":"127.0.0.1:12200"}],
            "health_check":{"protocol":"SofaRpc","timeout":"90s","healthy_threshold":2,"unhealthy_threshold":2,"interval":"15s","interval_jitter":0}},
           {"name":"test_cpp2","hosts":[{"address":"127.0.0.1:12201"}],
            "health_check":{"protocol":"SofaRpc","timeout":"90s","healthy_threshold":2,"unhealthy_threshold":2,"interval":"15s","interval_jitter":0}}]}}
        """#

    @Test func httpSample() throws {
        let config = try #require(decodeValid(Self.httpSample))
        #expect(config.disableUpgrade)
        let server = try #require(config.servers.first)
        #expect(server.defaultLogPath == "stdout")
        #expect(server.threadModel == .netpoll)
        #expect(server.routers.map(\.name) == ["server_router"])
        let route = try #require(server.routers.first?.virtualHosts.first?.routes.first)
        #expect(route.match == RouteMatchConfig(prefix: "/"))
        #expect(route.action == .route(RouteTargetConfig(clusterName: "serverCluster")))
        let listener = try #require(config.allListeners.first)
        #expect(listener.name == "serverListener")
        #expect(listener.address == SocketAddressSpec(host: "127.0.0.1", port: 2046))
        #expect(listener.bindPort)
        #expect(listener.maxConnections == 0)
        #expect(listener.maxCoalesce == 16)
        #expect(listener.connBufferLimitBytes == 1 << 20)
        #expect(
            listener.filterChains == [
                FilterChainConfig(filters: [
                    .proxy(
                        ProxyFilterConfig(
                            downstreamProtocol: .http1, upstreamProtocol: .http1, routerConfigName: "server_router"))
                ])
            ])
        let cluster = try #require(config.cluster(named: "serverCluster"))
        #expect(cluster.type == .simple)
        #expect(cluster.lbType == .random)
        #expect(cluster.maxRequestPerConn == 1024)
        #expect(cluster.connBufferLimitBytes == 32768)
        #expect(cluster.connectTimeout == .seconds(10))
        #expect(cluster.hosts == [HostConfig(address: SocketAddressSpec(host: "127.0.0.1", port: 8080))])
        #expect(config.admin == AdminConfig(address: SocketAddressSpec(host: "0.0.0.0", port: 34902)))
        #expect(config.summary == "1 listener (netpoll 1), 1 cluster, 1 host, 1 router")
    }

    @Test func tcpSampleWithCapitalisedName() throws {
        let config = try #require(decodeValid(Self.tcpSample))
        #expect(config.clusters.map(\.name) == ["serverCluster"])
        let listener = try #require(config.allListeners.first)
        #expect(listener.logPath == "stdout")
        #expect(
            listener.filterChains.first?.filters == [
                .tcpProxy(TCPProxyConfig(cluster: "serverCluster", routes: [TCPRouteConfig(cluster: "serverCluster")]))
            ])
        #expect(config.admin == nil)
        #expect(!config.disableUpgrade)
    }

    @Test func boltSampleWithServiceFastMatch() throws {
        let config = try #require(decodeValid(Self.boltSample))
        let listener = try #require(config.allListeners.first)
        #expect(listener.streamFilters == ["healthcheck"])
        guard case .proxy(let proxy)? = listener.filterChains.first?.filters.first else {
            Issue.record("expected a proxy filter")
            return
        }
        #expect(proxy.downstreamProtocol == .bolt)
        #expect(proxy.upstreamProtocol == .bolt)  // defaults to downstream
        let match = config.servers[0].routers[0].virtualHosts[0].routes[0].match
        // MOSN's RPC fast match: a lone `service` matcher with ".*" matches any service.
        #expect(match.headers == [HeaderMatcherConfig(name: "service", value: ".*", regex: true)])
    }

    @Test func oldFormBecomesRouter() throws {
        let config = try #require(decodeValid(Self.oldForm))
        let server = try #require(config.servers.first)
        #expect(server.routers.map(\.name) == ["test_router"])
        #expect(
            server.routers[0].virtualHosts[0].routes[0].match.headers == [
                HeaderMatcherConfig(name: "service", value: "com.alipay.test.TestService:1.0", regex: false)
            ])
        // connection_manager does not appear among the filters.
        #expect(
            server.listeners[0].filterChains[0].filters == [
                .proxy(
                    ProxyFilterConfig(
                        downstreamProtocol: .bolt, upstreamProtocol: .bolt, routerConfigName: "test_router"))
            ])
        let check = try #require(config.clusters[0].healthCheck)
        #expect(check.protocolName == "bolt")
        #expect(check.timeout == .seconds(90))
        #expect(check.interval == .seconds(15))
        #expect(check.intervalJitter == .zero)
        #expect(check.healthyThreshold == 2)
        #expect(check.unhealthyThreshold == 2)
        #expect(config.clusters[1].lbType == .roundRobin)  // default
        #expect(config.summary == "1 listener (netpoll 1), 2 clusters, 2 hosts, 1 router")
    }

    // MARK: - The files in configs/

    @Test func httpSampleFile() throws {
        let config = try ConfigDecoder.load(path: configsDirectory() + "/mosn_http_sample.json")
        #expect(config.allListeners.map(\.address.description) == ["127.0.0.1:12046"])
        #expect(config.admin?.address.port == 12902)
        #expect(config.clusters[0].hosts[0].address.description == "127.0.0.1:8080")
        #expect(config.summary == "1 listener (netpoll 1), 1 cluster, 1 host, 1 router")
    }

    @Test func tcpSampleFile() throws {
        let config = try ConfigDecoder.load(path: configsDirectory() + "/mosn_tcp_sample.json")
        #expect(config.allListeners.map(\.address.description) == ["127.0.0.1:12045"])
        #expect(config.clusters.map(\.name) == ["serverCluster"])
    }

    @Test func boltSampleFile() throws {
        let config = try ConfigDecoder.load(path: configsDirectory() + "/mosn_bolt_sample.json")
        #expect(config.allListeners.map(\.address.description) == ["127.0.0.1:12047"])
        #expect(config.admin?.address.port == 12903)
        #expect(config.allListeners[0].streamFilters == ["healthcheck"])
    }

    @Test func oldFormFile() throws {
        let config = try ConfigDecoder.load(path: configsDirectory() + "/mosn_old_form.json")
        let server = try #require(config.servers.first)
        #expect(server.name == "mosn_server_1")
        #expect(server.defaultLogLevel == "INFO")
        #expect(server.gracefulTimeout == .seconds(10))
        #expect(server.processor == 1)
        #expect(server.routers.map(\.name) == ["test_router"])
        #expect(server.listeners[0].accessLogs.count == 1)
        #expect(config.clusters.map(\.name) == ["test_cpp", "test_cpp2"])
        #expect(config.clusters.allSatisfy { $0.healthCheck?.protocolName == "bolt" })
        #expect(
            config.clusters[0].circuitBreakers
                == CircuitBreakersConfig(
                    maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3))
        #expect(
            config.clusters[0].hosts[0].metadata == [
                "filter_metadata.mosn.lb.stage": "pre-release", "filter_metadata.mosn.lb.version": "1.1",
                "filter_metadata.mosn.lb.label": "gray",
            ])
        #expect(config.clusters[1].hosts[0].weight == 2)
    }

    @Test func skiffTCPProxyFile() throws {
        let config = try ConfigDecoder.load(path: configsDirectory() + "/tcp_proxy.json")
        let listeners = config.allListeners
        #expect(listeners.map(\.name) == ["tcp_netpoll", "tcp_rwloop"])
        #expect(listeners.map(\.threadModel) == [.netpoll, .rwloop])
        #expect(listeners.map(\.maxConnections) == [0, 1024])
        #expect(listeners.map(\.address.port) == [12100, 12101])
        let expected = TCPProxyConfig(cluster: "echo", idleTimeout: .seconds(300), maxConnectAttempts: 2)
        #expect(listeners.allSatisfy { $0.filterChains == [FilterChainConfig(filters: [.tcpProxy(expected)])] })
        let echo = try #require(config.cluster(named: "echo"))
        #expect(echo.lbType == .roundRobin)
        #expect(echo.connectTimeout == .seconds(2))
        #expect(echo.hosts.map(\.address.description) == ["127.0.0.1:12200", "127.0.0.1:12201"])
        #expect(config.summary == "2 listeners (netpoll 1, rwloop 1), 1 cluster, 2 hosts, 0 routers")
    }
}
