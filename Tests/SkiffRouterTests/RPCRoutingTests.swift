import SkiffConfig
import SkiffProxy
import Testing

@Suite("RPC routing (Bolt, Dubbo: no host, no path, header `service`)")
struct RPCRoutingTests {
    /// MOSN's examples/codes/sofarpc-with-xprotocol-sample/server_config.json.
    static let boltSample = """
        {"disable_upgrade":true,"servers":[{"default_log_path":"stdout","routers":[{\
        "router_config_name":"server_router",\
        "virtual_hosts":[{"name":"serverHost","domains":["*"],"routers":[{"match":{"headers":[{"name":"service",\
        "value":".*"}]},"route":{"cluster_name":"serverCluster"}}]}]}],"listeners":[{"name":"serverListener",\
        "address":"127.0.0.1:2046","bind_port":true,"filter_chains":[{"filters":[{"type":"proxy","config":\
        {"downstream_protocol":"bolt","router_config_name":"server_router"}}]}],\
        "stream_filters":[{"type":"healthcheck",\
        "config":{}}]}]}],"cluster_manager":{"clusters":[{"name":"serverCluster","type":"SIMPLE","lb_type":"LB_RANDOM",\
        "max_request_per_conn":1024,"conn_buffer_limit_bytes":32768,"hosts":[{"address":"127.0.0.1:8080"}]}]},\
        "admin":{"address":{"socket_address":{"address":"0.0.0.0","port_value":34902}}}}
        """

    @Test(
        "MOSN's bolt sample: any non-empty service goes to serverCluster",
        arguments: [
            ([("service", "com.alipay.test.TestService:1.0")], "serverCluster"),
            ([("service", "x"), ("sofa_head_method_name", "echo")], "serverCluster"),
            ([("Service", "x")], "serverCluster"),
            ([("service", "")], nil),  // MOSN's fast match needs a value
            ([("sofa_head_method_name", "echo")], nil),  // and the header
            ([], nil),
        ] as [([(String, String)], String?)])
    func boltSample(headers: [(String, String)], expected: String?) throws {
        let config = try ConfigDecoder.decode(Self.boltSample)
        let registry = try RouterRegistry(config.servers[0].routers)
        let table = try #require(registry["server_router"])
        #expect(table.route(headers: headers)?.clusterName == expected)
        // RPC requests carry no host: the `*` virtual host takes them even if a client sent one.
        #expect(table.route(host: "anything:12200", headers: headers)?.clusterName == expected)
    }

    @Test(
        "service-specific routes before the catch-all",
        arguments: [
            ([("service", "com.a.Echo:1.0")], "echo"),
            ([("service", "com.a.Echo:2.0")], "catch-all"),
            ([("service", "com.a.Pay:1.0"), ("method", "refund")], "pay-refund"),
            ([("service", "com.a.Pay:1.0"), ("method", "charge")], "pay"),
            ([("service", "com.a.Pay:1.0")], "pay"),
            ([("service", "com.b.Other:1.0")], "b"),
            // An explicit `.*` next to another matcher accepts an empty value.
            ([("service", ""), ("method", "ping")], "ping-any-service"),
            ([("service", "")], nil),
        ] as [([(String, String)], String?)])
    func serviceRoutes(headers: [(String, String)], expected: String?) throws {
        let table = try singleHostTable([
            route(
                RouteMatchConfig(headers: [.init(name: "service", value: "com.a.Echo:1.0", regex: false)]), to: "echo"),
            route(
                RouteMatchConfig(headers: [
                    .init(name: "service", value: "com.a.Pay:1.0", regex: false),
                    .init(name: "method", value: "refund", regex: false),
                ]),
                to: "pay-refund"),
            route(
                RouteMatchConfig(headers: [.init(name: "service", value: "com\\.a\\.Pay:.*", regex: true)]), to: "pay"),
            route(RouteMatchConfig(headers: [.init(name: "service", value: "com\\.b\\..*", regex: true)]), to: "b"),
            route(
                RouteMatchConfig(headers: [
                    .init(name: "service", value: ".*", regex: true),
                    .init(name: "method", value: "ping", regex: false),
                ]),
                to: "ping-any-service"),
            route(RouteMatchConfig(headers: [.init(name: "service", value: ".*", regex: false)]), to: "catch-all"),
        ])
        #expect(table.route(headers: headers)?.clusterName == expected)
    }
}

@Suite("Router registry")
struct RouterRegistryTests {
    @Test("routers by name")
    func byName() throws {
        let registry = try RouterRegistry([
            RouterConfig(name: "http", virtualHosts: [catchAllHost("web", ["*"])]),
            RouterConfig(name: "rpc", virtualHosts: [catchAllHost("svc", ["*"])]),
        ])
        #expect(registry.names == ["http", "rpc"])
        #expect(registry.count == 2)
        #expect(registry["http"]?.name == "http")
        #expect(registry["rpc"]?.route(path: "/")?.clusterName == "svc")
        #expect(registry["nope"] == nil)
    }

    @Test("a duplicate name, or a bad router, refuses the whole set")
    func refused() {
        #expect {
            _ = try RouterRegistry([
                RouterConfig(name: "a", virtualHosts: [catchAllHost("x", ["*"])]),
                RouterConfig(name: "a", virtualHosts: [catchAllHost("y", ["*"])]),
            ])
        } throws: { ($0 as? RouteTableError)?.kind == .duplicateRouter }
        #expect {
            _ = try RouterRegistry([RouterConfig(name: "b", virtualHosts: [catchAllHost("x", ["a*b"])])])
        } throws: { ($0 as? RouteTableError)?.router == "b" }
    }
}
