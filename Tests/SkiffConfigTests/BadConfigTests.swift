import Testing

@testable import SkiffConfig

/// A config that must be refused with exactly these errors (`path: message`, in order).
struct BadConfig: Sendable, CustomTestStringConvertible {
    var name: String
    var json: String
    var errors: [String]
    init(_ name: String, _ json: String, _ errors: String...) {
        self.name = name
        self.json = json
        self.errors = errors
    }
    var testDescription: String { name }
}

private typealias F = Fixture
private let listener0 = "servers[0].listeners[0]"
private let tcpConfig = "servers[0].listeners[0].filter_chains[0].filters[0].config"
private let proxyConfig = "servers[0].listeners[0].filter_chains[0].filters[0].config"
private let cluster0 = "cluster_manager.clusters[0]"

@Suite struct BadConfigTests {
    static let cases: [BadConfig] = [
        // Addresses
        BadConfig(
            "listener port out of range", F.config(listeners: [F.tcpListener("a", "127.0.0.1:99999")]),
            "\(listener0).address: port 99999 out of range (0-65535)"),
        BadConfig(
            "host without port", F.config(clusters: [F.cluster(hosts: #"[{"address":"10.0.0.1"}]"#)]),
            #"\#(cluster0).hosts[0].address: "10.0.0.1" has no port"#),
        BadConfig(
            "host port 0", F.config(clusters: [F.cluster(hosts: #"[{"address":"10.0.0.1:0"}]"#)]),
            "\(cluster0).hosts[0].address: port 0 out of range (1-65535)"),
        BadConfig(
            "bad IPv4", F.config(listeners: [F.tcpListener("a", "10.0.0.256:80")]),
            #"\#(listener0).address: bad IPv4 address "10.0.0.256""#),
        BadConfig(
            "IPv6 without brackets", F.config(listeners: [F.tcpListener("a", "::1:80")]),
            #"\#(listener0).address: IPv6 addresses need brackets, e.g. "[::1]:8080" (got "::1:80")"#),
        BadConfig(
            "duplicate listener address",
            F.config(listeners: [F.tcpListener("a", "127.0.0.1:7000"), F.tcpListener("b", "127.0.0.1:7000")]),
            #"servers[0].listeners[1].address: "127.0.0.1:7000" already used by listener "a""#),
        // Names and references
        BadConfig(
            "duplicate listener name", F.config(listeners: [F.tcpListener("a"), F.tcpListener("a")]),
            #"servers[0].listeners[1].name: duplicate listener name "a""#),
        BadConfig(
            "tcp_proxy names a missing cluster",
            F.config(listeners: [F.tcpListener(config: #"{"cluster":"c2"}"#)]),
            #"\#(tcpConfig).cluster: no cluster named "c2" (did you mean "c1"?)"#),
        BadConfig(
            "proxy names a missing router",
            F.config(listeners: [F.proxyListener()], routers: [F.router("other")]),
            #"\#(proxyConfig).router_config_name: no router named "r1""#),
        BadConfig(
            "route names a missing cluster",
            F.routed([#"{"match":{"prefix":"/"},"route":{"cluster_name":"nope"}}"#]),
            #"\#(F.routePath()).route.cluster_name: no cluster named "nope""#),
        BadConfig(
            "duplicate cluster name", F.config(clusters: [F.cluster("c1"), F.cluster("c1")]),
            #"cluster_manager.clusters[1].name: duplicate cluster name "c1""#),
        BadConfig(
            "duplicate router name (routers[] and old-form connection_manager)",
            F.config(
                listeners: [
                    #"{"name":"h","address":"127.0.0.1:0","filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"bolt","router_config_name":"r1"}},{"type":"connection_manager","config":{"router_config_name":"r1","virtual_hosts":[{"domains":["*"],"routers":[{"match":{"prefix":"/"},"route":{"cluster_name":"c1"}}]}]}}]}]}"#
                ], routers: [F.router()]),
            #"\#(listener0).filter_chains[0].filters[1].config.router_config_name: duplicate router name "r1""#),
        // Keys
        BadConfig(
            "misspelt key", F.config(listeners: [#"{"name":"a","adress":"127.0.0.1:0","filter_chains":[]}"#]),
            #"\#(listener0): unknown field "adress" (did you mean "address"?)"#, "\(listener0).address: required",
            "\(listener0).filter_chains: listener has no filter chain"),
        BadConfig(
            "keys differing only in case",
            F.config(clusters: [#"{"name":"c1","Name":"c1","hosts":[{"address":"127.0.0.1:8080"}]}"#]),
            #"\#(cluster0).name: duplicate field: "name" and "Name" name the same field (keys are case-insensitive)"#),
        BadConfig(
            "tracing on without a driver", F.config(top: #","tracing":{"enable":true}"#),
            "tracing.driver: required when enable is true"),
        BadConfig(
            "tracing with one of MOSN's HTTP-only drivers", F.config(top: #","tracing":{"enable":true,"driver":"Zipkin"}"#),
            #"tracing.driver: MOSN's "Zipkin" driver is not supported by skiff (skiff runs "SOFATracer")"#),
        BadConfig(
            "tracing with MOSN's deprecated tracer alias",
            F.config(top: #","tracing":{"enable":true,"driver":"SOFATracer","tracer":"SOFATracer"}"#),
            #"tracing: unknown field "tracer""#),
        BadConfig(
            "tracing config with an unknown key",
            F.config(top: #","tracing":{"enable":true,"driver":"SOFATracer","config":{"sample_rate":1}}"#),
            #"tracing.config: unknown field "sample_rate""#),
        BadConfig(
            "tls_context on without a certificate",
            F.config(listeners: [
                #"{"name":"a","address":"127.0.0.1:0","filter_chains":[{"tls_context":{"status":true},"filters":[{"type":"tcp_proxy","config":{"cluster":"c1"}}]}]}"#
            ]),
            "\(listener0).filter_chains[0].tls_context.cert_chain: required on a listener: the certificate skiff "
                + "presents",
            "\(listener0).filter_chains[0].tls_context.private_key: required on a listener: the certificate's "
                + "private key"),
        // Filters and protocols
        BadConfig(
            "unknown filter type",
            F.config(listeners: [
                #"{"name":"a","address":"127.0.0.1:0","filter_chains":[{"filters":[{"type":"foo"}]}]}"#
            ]),
            #"\#(listener0).filter_chains[0].filters[0].type: unknown filter type "foo" (expected proxy, tcp_proxy, connection_manager)"#
        ),
        BadConfig(
            "xprotocol",
            F.config(
                listeners: [F.proxyListener(config: #"{"downstream_protocol":"X","router_config_name":"r1"}"#)],
                routers: [F.router()]),
            #"\#(proxyConfig).downstream_protocol: protocol "X" not supported by skiff (expected Http1, Http2, bolt, boltv2, dubbo, Auto)"#
        ),
        BadConfig(
            "unknown protocol",
            F.config(
                listeners: [
                    F.proxyListener(
                        config: #"{"downstream_protocol":"Http1","upstream_protocol":"grpc","router_config_name":"r1"}"#
                    )
                ], routers: [F.router()]),
            #"\#(proxyConfig).upstream_protocol: unknown protocol "grpc" (expected Http1, Http2, bolt, boltv2, dubbo, Auto)"#
        ),
        BadConfig(
            "Http2 downstream with an RPC upstream",
            F.config(
                listeners: [
                    F.proxyListener(
                        config: #"{"downstream_protocol":"Http2","upstream_protocol":"bolt","router_config_name":"r1"}"#)
                ], routers: [F.router()]),
            "\(proxyConfig).upstream_protocol: bolt: an Http2 listener proxies to Http2 or Http1 upstreams"
        ),
        BadConfig(
            "RPC upstream behind Http1",
            F.config(
                listeners: [
                    F.proxyListener(
                        config: #"{"downstream_protocol":"Http1","upstream_protocol":"bolt","router_config_name":"r1"}"#)
                ], routers: [F.router()]),
            "\(proxyConfig).upstream_protocol: bolt: an Http1 listener proxies to Http1 or Http2 upstreams"
        ),
        BadConfig(
            "Http2 upstream behind Auto",
            F.config(
                listeners: [
                    F.proxyListener(
                        config: #"{"downstream_protocol":"Auto","upstream_protocol":"Http2","router_config_name":"r1"}"#)
                ], routers: [F.router()]),
            "\(proxyConfig).upstream_protocol: Http2: an Auto listener's upstream speaks what each client spoke "
                + "(Http2 upstreams are served behind Http1 and Http2 listeners)"
        ),
        BadConfig(
            "RPC upstream of another protocol",
            F.config(
                listeners: [
                    F.proxyListener(
                        config: #"{"downstream_protocol":"bolt","upstream_protocol":"dubbo","router_config_name":"r1"}"#)
                ], routers: [F.router()]),
            "\(proxyConfig).upstream_protocol: dubbo must match downstream_protocol bolt (RPC is proxied as it arrives)"
        ),
        BadConfig(
            "Http1 proxy without router",
            F.config(listeners: [F.proxyListener(config: #"{"downstream_protocol":"Http1"}"#)]),
            "\(proxyConfig).router_config_name: required"),
        BadConfig(
            "nested extend_config",
            F.config(
                listeners: [
                    F.proxyListener(
                        config:
                            #"{"downstream_protocol":"bolt","router_config_name":"r1","extend_config":{"sub":{"a":1}}}"#
                    )
                ], routers: [F.router()]),
            "\(proxyConfig).extend_config.sub: expected a string, number or boolean, got an object"),
        BadConfig(
            "tcp_proxy without cluster", F.config(listeners: [F.tcpListener(config: "{}")]),
            "\(tcpConfig): no cluster: set cluster or routes"),
        BadConfig(
            "max_connect_attempts out of range",
            F.config(listeners: [F.tcpListener(config: #"{"cluster":"c1","max_connect_attempts":0}"#)]),
            "\(tcpConfig).max_connect_attempts: 0 out of range (1-10)"),
        BadConfig(
            "bad CIDR length",
            F.config(listeners: [
                F.tcpListener(
                    config: #"{"routes":[{"cluster":"c1","source_addrs":[{"address":"10.0.0.0","length":33}]}]}"#)
            ]),
            "\(tcpConfig).routes[0].source_addrs[0]: prefix length 33 out of range (0-32)"),
        BadConfig(
            "two filter chains",
            F.config(listeners: [
                #"{"name":"a","address":"127.0.0.1:0","filter_chains":[{"filters":[]},{"filters":[]}]}"#
            ]),
            "\(listener0).filter_chains: 2 filter chains; exactly one is supported"),
        BadConfig(
            "network unix", F.config(listeners: [F.tcpListener(extra: #","network":"unix""#)]),
            #"\#(listener0).network: network "unix" not supported by skiff (expected tcp)"#),
        BadConfig(
            "unknown stream filter",
            F.config(listeners: [F.tcpListener(extra: #","stream_filters":[{"type":"fault_inject"}]"#)]),
            #"\#(listener0).stream_filters[0].type: unknown stream filter type "fault_inject" (expected healthcheck)"#),
        // Thread model extensions
        BadConfig(
            "unknown thread model", F.config(listeners: [F.tcpListener(extra: #","thread_model":"epoll""#)]),
            #"\#(listener0).thread_model: unknown thread model "epoll" (expected rwloop, netpoll)"#),
        BadConfig(
            "thread_model contradicts use_netpoll_mode",
            F.config(server: #","use_netpoll_mode":true,"thread_model":"rwloop""#),
            #"servers[0].thread_model: "rwloop" contradicts use_netpoll_mode: true"#),
        BadConfig(
            "pollers 0", F.config(listeners: [F.tcpListener(extra: #","pollers":0"#)]),
            "\(listener0).pollers: 0 out of range (1-256)"),
        BadConfig(
            "max_coalesce too big", F.config(listeners: [F.tcpListener(extra: #","max_coalesce":2000"#)]),
            "\(listener0).max_coalesce: 2000 out of range (1-1024)"),
        BadConfig(
            "listener buffer limit too small",
            F.config(listeners: [F.tcpListener(extra: #","conn_buffer_limit_bytes":100"#)]),
            "\(listener0).conn_buffer_limit_bytes: 100 out of range (4096-1073741824)"),
        // Types
        BadConfig(
            "boolean as string", F.config(listeners: [F.tcpListener(extra: #","bind_port":"true""#)]),
            #"\#(listener0).bind_port: expected true or false, got the string "true""#),
        BadConfig(
            "integer as string", F.config(clusters: [F.cluster(extra: #","max_request_per_conn":"1024""#)]),
            #"\#(cluster0).max_request_per_conn: expected an integer, got the string "1024""#),
        BadConfig(
            "fractional integer",
            F.config(clusters: [F.cluster(hosts: #"[{"address":"127.0.0.1:8080","weight":1.5}]"#)]),
            "\(cluster0).hosts[0].weight: expected an integer, got 1.5"),
        // Clusters
        BadConfig(
            "unknown load balancer", F.config(clusters: [F.cluster(extra: #","lb_type":"LB_FOO""#)]),
            #"\#(cluster0).lb_type: unknown load balancer "LB_FOO" (expected LB_RANDOM, LB_ROUNDROBIN, LB_WEIGHTED_ROUNDROBIN, LB_LEAST_REQUEST, LB_LEAST_CONNECTION, LB_MAGLEV)"#
        ),
        BadConfig(
            "EDS cluster", F.config(clusters: [F.cluster(extra: #","type":"EDS""#)]),
            #"\#(cluster0).type: cluster type "EDS" not supported by skiff (expected SIMPLE, STATIC, STRICT_DNS, LOGICAL_DNS)"#),
        BadConfig(
            "host weight 0", F.config(clusters: [F.cluster(hosts: #"[{"address":"127.0.0.1:8080","weight":0}]"#)]),
            "\(cluster0).hosts[0].weight: 0 out of range (1-128)"),
        BadConfig(
            "cluster without hosts", F.config(clusters: [F.cluster(hosts: "[]")]),
            "\(cluster0).hosts: cluster has no hosts"),
        BadConfig(
            "duplicate host",
            F.config(clusters: [F.cluster(hosts: #"[{"address":"127.0.0.1:8080"},{"address":"127.0.0.1:8080"}]"#)]),
            #"\#(cluster0).hosts[1].address: duplicate host "127.0.0.1:8080" (also hosts[0])"#),
        BadConfig(
            "negative connect_timeout", F.config(clusters: [F.cluster(extra: #","connect_timeout":"-1s""#)]),
            #"\#(cluster0).connect_timeout: negative duration "-1s""#),
        BadConfig(
            "unknown health check protocol",
            F.config(clusters: [F.cluster(extra: #","health_check":{"protocol":"http2"}"#)]),
            #"\#(cluster0).health_check.protocol: unknown health check protocol "http2" (expected Http1, tcp, bolt, SofaRpc, dubbo, grpc)"#
        ),
        BadConfig(
            "outlier_detection unknown field",
            F.config(clusters: [F.cluster(extra: #","outlier_detection":{"consecutive_5xx":5}"#)]),
            #"\#(cluster0).outlier_detection: unknown field "consecutive_5xx""#),
        BadConfig(
            "outlier_detection percent over 100",
            F.config(clusters: [F.cluster(extra: #","outlier_detection":{"max_ejection_percent":101}"#)]),
            "\(cluster0).outlier_detection.max_ejection_percent: 101 out of range (0-100)"),
        BadConfig(
            "outlier_detection zero consecutive errors",
            F.config(clusters: [F.cluster(extra: #","outlier_detection":{"consecutive_errors":0}"#)]),
            "\(cluster0).outlier_detection.consecutive_errors: 0 out of range (1-2147483647)"),
        BadConfig(
            "outlier_detection max below base",
            F.config(clusters: [
                F.cluster(extra: #","outlier_detection":{"base_ejection_time":"1m","max_ejection_time":"10s"}"#)
            ]),
            "\(cluster0).outlier_detection.max_ejection_time: max_ejection_time 10s is less than base_ejection_time 1m0s"),
        BadConfig(
            "outlier_detection zero base time",
            F.config(clusters: [F.cluster(extra: #","outlier_detection":{"base_ejection_time":"0s"}"#)]),
            "\(cluster0).outlier_detection.base_ejection_time: must be more than 0s"),
        BadConfig(
            "two circuit breaker thresholds",
            F.config(clusters: [F.cluster(extra: #","circuit_breakers":[{"max_connections":1},{"max_connections":2}]"#)]
            ),
            "\(cluster0).circuit_breakers[1]: only one threshold is supported (MOSN uses only the first)"),
        // Routes
        BadConfig(
            "bare number duration",
            F.routed([#"{"match":{"prefix":"/"},"route":{"cluster_name":"c1","timeout":"15"}}"#]),
            #"\#(F.routePath()).route.timeout: bad duration "15" (expected e.g. "15s", "250ms", "1m")"#),
        BadConfig(
            "match without matcher", F.routed([#"{"match":{},"route":{"cluster_name":"c1"}}"#]),
            "\(F.routePath()).match: needs prefix, path, regex or headers"),
        BadConfig(
            "bad regex", F.routed([#"{"match":{"regex":"(abc"},"route":{"cluster_name":"c1"}}"#]),
            #"\#(F.routePath()).match.regex: bad regular expression "(abc": expected ')'"#),
        BadConfig(
            "cluster_name and weighted_clusters",
            F.routed([
                #"{"match":{"prefix":"/"},"route":{"cluster_name":"c1","weighted_clusters":[{"cluster":{"name":"c2","weight":10}}]}}"#
            ]),
            "\(F.routePath()).route: cluster_name and weighted_clusters are exclusive; give one"),
        BadConfig(
            "weighted cluster weight 0",
            F.routed([
                #"{"match":{"prefix":"/"},"route":{"weighted_clusters":[{"cluster":{"name":"c1","weight":90}},{"cluster":{"name":"c2","weight":0}}]}}"#
            ]),
            "\(F.routePath()).route.weighted_clusters[1].cluster.weight: 0 out of range (1-100)"),
        BadConfig(
            "unknown retry condition",
            F.routed([
                #"{"match":{"prefix":"/"},"route":{"cluster_name":"c1","retry_policy":{"retry_on":"5xx,sometimes"}}}"#
            ]),
            #"\#(F.routePath()).route.retry_policy.retry_on: unknown retry condition "sometimes" (expected connect-failure, reset, 5xx, retriable-status-codes)"#
        ),
        BadConfig(
            "redirect code",
            F.routed([#"{"match":{"prefix":"/"},"redirect":{"path_redirect":"/x","response_code":300}}"#]),
            "\(F.routePath()).redirect.response_code: 300 is not a redirect (expected 301, 302, 303, 307, 308)"),
        BadConfig(
            "direct response status", F.routed([#"{"match":{"prefix":"/"},"direct_response":{"status":700}}"#]),
            "\(F.routePath()).direct_response.status: 700 out of range (100-599)"),
        BadConfig(
            "route and direct_response",
            F.routed([#"{"match":{"prefix":"/"},"route":{"cluster_name":"c1"},"direct_response":{"status":200}}"#]),
            "\(F.routePath()): route and direct_response are exclusive; give one"),
        // Admin API and numbers at their limits (issue 13)
        BadConfig(
            "admin port out of range",
            F.config(top: #","admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":70000}}}"#),
            "admin.address.socket_address.port_value: 70000 out of range (0-65535)"),
        BadConfig(
            "admin port negative",
            F.config(top: #","admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":-1}}}"#),
            "admin.address.socket_address.port_value: -1 out of range (0-65535)"),
        BadConfig(
            "admin token too short",
            F.config(top: #","admin":{"address":{"socket_address":{"address":"0.0.0.0","port_value":1}},"token":"short"}"#),
            "admin.token: 5 characters; a token needs 16 to 4096"),
        BadConfig(
            "admin token with a space",
            F.config(
                top: #","admin":{"address":{"socket_address":{"address":"0.0.0.0","port_value":1}},"token":"0123456789 abcdef"}"#),
            "admin.token: only printable ASCII without spaces (it is sent as Authorization: Bearer <token>)"),
        BadConfig(
            "admin token not a string",
            F.config(top: #","admin":{"address":{"socket_address":{"address":"0.0.0.0","port_value":1}},"token":12345}"#),
            "admin.token: expected a string, got the number 12345"),
        BadConfig(
            "count beyond Int", F.config(listeners: [F.tcpListener(extra: #","max_connections":99999999999999999999"#)]),
            "\(listener0).max_connections: 99999999999999999999 out of range (0-2147483647)"),
        BadConfig(
            "negative count", F.config(listeners: [F.tcpListener(extra: #","max_connections":-1"#)]),
            "\(listener0).max_connections: -1 out of range (0-2147483647)"),
        BadConfig(
            "duration beyond what a clock holds",
            F.config(clusters: [F.cluster(extra: #","connect_timeout":"2562048h""#)]),
            #"\#(cluster0).connect_timeout: bad duration "2562048h" (expected e.g. "15s", "250ms", "1m")"#),
        BadConfig(
            "negative graceful_timeout", F.config(server: #","graceful_timeout":"-5s""#),
            #"servers[0].graceful_timeout: negative duration "-5s""#),
        // Connection timeouts
        BadConfig(
            "zero request_header_timeout",
            F.config(listeners: [F.proxyListener(extra: #","request_header_timeout":"0s""#)], routers: [F.router()]),
            "\(listener0).request_header_timeout: must be more than 0s"),
        BadConfig(
            "negative request_body_timeout",
            F.config(listeners: [F.proxyListener(extra: #","request_body_timeout":"-5s""#)], routers: [F.router()]),
            #"\#(listener0).request_body_timeout: negative duration "-5s""#),
        BadConfig(
            "connection_idle_timeout as a number",
            F.config(listeners: [F.proxyListener(extra: #","connection_idle_timeout":60"#)], routers: [F.router()]),
            #"\#(listener0).connection_idle_timeout: bad duration 60 (expected e.g. "15s", "250ms", "1m")"#),
        BadConfig(
            "request timeouts on a tcp_proxy listener",
            F.config(listeners: [F.tcpListener(extra: #","request_header_timeout":"5s","request_body_timeout":"5s""#)]),
            "\(listener0).request_header_timeout: applies to Http1 and Auto proxy listeners only",
            "\(listener0).request_body_timeout: applies to Http1 and Auto proxy listeners only"),
        BadConfig(
            "HTTP/2 settings on an Http1 listener, and beyond their bounds",
            F.config(
                listeners: [
                    F.proxyListener(extra: #","http2_protocol_options":{"max_concurrent_streams":5000,"initial_connection_window_size":1000}"#)
                ], routers: [F.router()]),
            "\(listener0).http2_protocol_options.max_concurrent_streams: 5000 out of range (1-1000)",
            "\(listener0).http2_protocol_options.initial_connection_window_size: 1000 out of range (65535-67108864)",
            "\(listener0).http2_protocol_options: applies to Http2 and Auto proxy listeners only"),
        BadConfig(
            "stream_idle_timeout on an Http1 listener",
            F.config(listeners: [F.proxyListener(extra: #","stream_idle_timeout":"5s""#)], routers: [F.router()]),
            "\(listener0).stream_idle_timeout: applies to Http2 and Auto proxy listeners only"),
        BadConfig(
            "request_header_timeout on a bolt listener",
            F.config(
                listeners: [
                    F.proxyListener(
                        extra: #","request_header_timeout":"5s""#,
                        config: #"{"downstream_protocol":"bolt","router_config_name":"r1"}"#)
                ], routers: [F.router()]),
            "\(listener0).request_header_timeout: applies to Http1 and Auto proxy listeners only"),
        // Whole config
        BadConfig("no listeners", #"{"servers":[{"listeners":[]}]}"#, "servers: no listeners"),
        BadConfig("top level not an object", "[]", "expected an object at the top level, got an array"),
    ]

    @Test(arguments: cases)
    func refused(_ c: BadConfig) {
        #expect(errorLines(c.json) == c.errors)
    }

    @Test func reportsEveryMistake() {
        let json = F.config(
            listeners: [F.tcpListener("a", "127.0.0.1:99999")],
            clusters: [F.cluster(extra: #","lb_type":"LB_FOO""#, hosts: #"[{"address":"127.0.0.1:8080","weight":0}]"#)])
        #expect(
            errorLines(json) == [
                "servers[0].listeners[0].address: port 99999 out of range (0-65535)",
                #"cluster_manager.clusters[0].lb_type: unknown load balancer "LB_FOO" (expected LB_RANDOM, LB_ROUNDROBIN, LB_WEIGHTED_ROUNDROBIN, LB_LEAST_REQUEST, LB_LEAST_CONNECTION, LB_MAGLEV)"#,
                "cluster_manager.clusters[0].hosts[0].weight: 0 out of range (1-128)",
            ])
    }

    @Test func errorsPrintOnePerLine() {
        let error = ConfigErrors([ConfigError(path: "a.b", message: "x"), ConfigError(path: "", message: "y")])
        #expect(error.description == "a.b: x\ny")
    }
}
