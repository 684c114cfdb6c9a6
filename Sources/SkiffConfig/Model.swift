/// The typed configuration Skiff runs from: MOSN's JSON (current and old forms) normalised into one model.
///
/// Every value here has been validated: addresses parse, names referenced exist, durations are positive where they
/// must be. Decoding lives in `ConfigDecoder`; nothing in this file reads JSON.
public struct SkiffConfiguration: Sendable, Equatable {
    public var servers: [ServerConfig]
    public var clusters: [ClusterConfig]
    public var admin: AdminConfig?
    /// MOSN's top-level `disable_upgrade`: this process takes no listening sockets over from an old one (a
    /// `skiff start --upgrade` with it is refused).
    public var disableUpgrade: Bool
    /// `dynamic_resources` (with `node` and the ADS cluster of `static_resources`): listeners and clusters from a
    /// control plane; nil = file mode.
    public var xds: XDSConfig? = nil
    /// MOSN's `metrics` block (a Prometheus sink); nil when the config has none.
    public var metrics: MetricsConfig? = nil
    /// The top-level `tracing` block when it turns tracing on (each proxy listener's share is in its
    /// `ListenerConfig.tracing`); nil = off.
    public var tracing: TracingConfig? = nil
    /// Fields accepted as MOSN accepts them but not acted on the way MOSN would act (each named with its path, once);
    /// `validate` prints them and `start` and `reload` log them.
    public var warnings: [ConfigError] = []

    public init(servers: [ServerConfig], clusters: [ClusterConfig], admin: AdminConfig?, disableUpgrade: Bool = false) {
        self.servers = servers
        self.clusters = clusters
        self.admin = admin
        self.disableUpgrade = disableUpgrade
    }

    /// Looks a cluster up by name (names are unique after validation).
    public func cluster(named name: String) -> ClusterConfig? {
        clusters.first { $0.name == name }
    }

    /// Every listener of every server, in order.
    public var allListeners: [ListenerConfig] { servers.flatMap(\.listeners) }
}

/// Which network thread model a listener runs (docs/architecture.md, "Two thread models").
public enum ThreadModel: String, Sendable, Equatable, CaseIterable {
    /// A reader and a writer thread per connection.
    case rwloop
    /// epoll pollers, optionally with a worker pool.
    case netpoll
}

/// `host:port` as written in the config, already checked: `host` is an IPv4/IPv6 literal or a name, `port` 0...65535.
public struct SocketAddressSpec: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:8080`, or `[::1]:8080` for IPv6.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Protocol names as MOSN writes them, normalised (`SofaRpc` becomes `.bolt`).
public enum ProtocolName: String, Sendable, Equatable {
    case http1 = "Http1"
    case http2 = "Http2"
    case bolt = "bolt"
    case boltv2 = "boltv2"
    case dubbo = "dubbo"
    case auto = "Auto"
}

/// One `servers[]` entry.
public struct ServerConfig: Sendable, Equatable {
    public var name: String?
    public var defaultLogPath: String?
    public var defaultLogLevel: String?
    /// Default thread model for this server's listeners (`thread_model`, or `use_netpoll_mode: true` -> netpoll).
    /// Default: `.netpoll`.
    public var threadModel: ThreadModel
    /// Pollers for netpoll listeners (`pollers`); nil means one per core.
    public var pollers: Int?
    /// Worker pool size (`workers`): 0 runs connection logic inline on the I/O thread.
    public var workers: Int
    /// `graceful_timeout`, default 30 s.
    public var gracefulTimeout: Duration
    public var listeners: [ListenerConfig]
    /// Routers by `router_config_name`, from `routers[]` and from old-form `connection_manager` filters.
    public var routers: [RouterConfig]
    /// MOSN's `processor` (Go's GOMAXPROCS); nil when absent or `"auto"`. It is the default poller count of the
    /// server's netpoll listeners when `pollers` is not given.
    public var processor: Int?

    public init(
        name: String? = nil, defaultLogPath: String? = nil, defaultLogLevel: String? = nil,
        threadModel: ThreadModel = .netpoll, pollers: Int? = nil, workers: Int = 0,
        gracefulTimeout: Duration = .seconds(30), listeners: [ListenerConfig] = [], routers: [RouterConfig] = [],
        processor: Int? = nil
    ) {
        self.processor = processor
        self.name = name
        self.defaultLogPath = defaultLogPath
        self.defaultLogLevel = defaultLogLevel
        self.threadModel = threadModel
        self.pollers = pollers
        self.workers = workers
        self.gracefulTimeout = gracefulTimeout
        self.listeners = listeners
        self.routers = routers
    }
}

/// One `listeners[]` entry, with the server's defaults already applied.
public struct ListenerConfig: Sendable, Equatable {
    public var name: String
    public var address: SocketAddressSpec
    public var bindPort: Bool
    /// `network`: only "tcp" is accepted for now.
    public var network: String
    /// Effective thread model (listener's `thread_model`, else the server's).
    public var threadModel: ThreadModel
    /// Effective pollers (listener's, else server's, else nil = one per core).
    public var pollers: Int?
    /// Effective workers (listener's, else server's).
    public var workers: Int
    /// `max_connections`: 0 = unlimited for netpoll; rwloop defaults to 1024 (each connection costs two threads).
    public var maxConnections: Int
    /// `max_coalesce`: buffers gathered into one writev, default 16 (1...1024).
    public var maxCoalesce: Int
    /// `conn_buffer_limit_bytes` on the listener: bound on a downstream connection's write queue, default 1 MiB.
    public var connBufferLimitBytes: Int
    /// `connection_idle_timeout` (MOSN's name): how long a connection may stay silent. HTTP: between requests, from
    /// the last response until the next request's first byte; RPC: with no complete frame (heartbeats count);
    /// tcp_proxy: with no byte either way. nil = none (`"0s"`). When absent, HTTP and RPC listeners take
    /// `ListenerConfig.defaultIdleTimeout` and tcp_proxy listeners none (their filter's `idle_timeout` applies).
    public var connectionIdleTimeout: Duration?
    /// `request_header_timeout` (HTTP and `Auto` listeners): a request head must be complete this long after the
    /// connection was accepted (first request) or after its first byte (later ones), else 408 and close.
    public var requestHeaderTimeout: Duration
    /// `request_body_timeout` (HTTP and `Auto` listeners): a request body that sends nothing for this long is
    /// answered 408 and its connection closed.
    public var requestBodyTimeout: Duration
    /// `stream_idle_timeout` (Skiff's, Envoy's name; HTTP/2 and `Auto` listeners): an HTTP/2 stream on which
    /// nothing moves either way (no request or response frame, no response bytes taken by the client) for this long
    /// is answered 408 (gRPC: DEADLINE_EXCEEDED) or, once its response started, reset. nil = none (`"0s"`).
    public var streamIdleTimeout: Duration? = ListenerConfig.defaultStreamIdleTimeout
    /// `http2_protocol_options` (Skiff's, Envoy's names; HTTP/2 and `Auto` listeners): the settings of HTTP/2 client
    /// connections.
    public var http2 = HTTP2Settings()
    public var filterChains: [FilterChainConfig]
    /// `type`: MOSN's ingress/egress label (lower-cased), nil when absent.
    public var direction: String?
    /// `log_path`: the listener's own log, nil = the server's default log.
    public var logPath: String?
    /// `access_logs[]`.
    public var accessLogs: [AccessLogConfig]
    /// `stream_filters[].type`, lower-cased; only `healthcheck` (answer bolt heartbeats) is accepted.
    public var streamFilters: [String]
    /// The filter chain's `tls_context` / `tls_context_set` and the listener's `inspector`; nil = plaintext.
    public var tls: ListenerTLSConfig? = nil
    /// Its part in the top-level `tracing` (span kind, digest file); nil = not traced.
    public var tracing: ListenerTracing? = nil

    public init(
        name: String, address: SocketAddressSpec, bindPort: Bool = true, network: String = "tcp",
        threadModel: ThreadModel = .netpoll, pollers: Int? = nil, workers: Int = 0, maxConnections: Int = 0,
        maxCoalesce: Int = 16, connBufferLimitBytes: Int = 1 << 20, connectionIdleTimeout: Duration? = nil,
        requestHeaderTimeout: Duration = ListenerConfig.defaultRequestHeaderTimeout,
        requestBodyTimeout: Duration = ListenerConfig.defaultRequestBodyTimeout,
        filterChains: [FilterChainConfig] = [], direction: String? = nil, logPath: String? = nil,
        accessLogs: [AccessLogConfig] = [], streamFilters: [String] = []
    ) {
        self.direction = direction
        self.logPath = logPath
        self.accessLogs = accessLogs
        self.streamFilters = streamFilters
        self.name = name
        self.address = address
        self.bindPort = bindPort
        self.network = network
        self.threadModel = threadModel
        self.pollers = pollers
        self.workers = workers
        self.maxConnections = maxConnections
        self.maxCoalesce = maxCoalesce
        self.connBufferLimitBytes = connBufferLimitBytes
        self.connectionIdleTimeout = connectionIdleTimeout
        self.requestHeaderTimeout = requestHeaderTimeout
        self.requestBodyTimeout = requestBodyTimeout
        self.filterChains = filterChains
    }

    /// HAProxy's `timeout http-request` default.
    public static let defaultRequestHeaderTimeout = Duration.seconds(10)
    public static let defaultRequestBodyTimeout = Duration.seconds(60)
    /// Envoy's `stream_idle_timeout` default.
    public static let defaultStreamIdleTimeout = Duration.seconds(300)
    /// `connection_idle_timeout` of HTTP and RPC listeners when absent.
    public static let defaultIdleTimeout = Duration.seconds(60)
}

/// One `access_logs[]` entry of a listener (docs/access-logs.md).
public struct AccessLogConfig: Sendable, Equatable {
    /// `log_path` as written: a file, `stdout`/`/dev/stdout`, `stderr`/`/dev/stderr`; "" = MOSN's default
    /// (`<parent of the config file's directory>/logs/<listener name>_access.log`, resolved by the engine).
    public var path: String
    /// `log_format` parsed (MOSN's default when absent or empty), or `json_format` (a Skiff extension).
    public var layout: AccessLogLayout

    public init(path: String, layout: AccessLogLayout = .text(.mosnDefault)) {
        self.path = path
        self.layout = layout
    }
}

public struct FilterChainConfig: Sendable, Equatable {
    public var filters: [NetworkFilterConfig]
    public init(filters: [NetworkFilterConfig]) { self.filters = filters }
}

/// A network filter. Old-form `connection_manager` filters are folded into the server's routers at decode time and
/// do not appear here.
public enum NetworkFilterConfig: Sendable, Equatable {
    case tcpProxy(TCPProxyConfig)
    case proxy(ProxyFilterConfig)
}

public struct TCPProxyConfig: Sendable, Equatable {
    /// Default cluster (`cluster`); a route without source/destination matchers also names one.
    public var cluster: String?
    public var idleTimeout: Duration?
    /// `max_connect_attempts`, default 1 (MOSN's default is 1 as well).
    public var maxConnectAttempts: Int
    public var routes: [TCPRouteConfig]

    public init(cluster: String?, idleTimeout: Duration? = nil, maxConnectAttempts: Int = 1, routes: [TCPRouteConfig] = []) {
        self.cluster = cluster
        self.idleTimeout = idleTimeout
        self.maxConnectAttempts = maxConnectAttempts
        self.routes = routes
    }
}

public struct TCPRouteConfig: Sendable, Equatable {
    public var cluster: String
    /// CIDRs as written ("10.0.0.0/8"), checked for syntax.
    public var sourceAddrs: [String]
    public var destinationAddrs: [String]
    public init(cluster: String, sourceAddrs: [String] = [], destinationAddrs: [String] = []) {
        self.cluster = cluster
        self.sourceAddrs = sourceAddrs
        self.destinationAddrs = destinationAddrs
    }
}

public struct ProxyFilterConfig: Sendable, Equatable {
    public var downstreamProtocol: ProtocolName
    /// Defaults to the downstream protocol.
    public var upstreamProtocol: ProtocolName
    public var routerConfigName: String
    /// `extend_config`, kept as a flat string map for the protocol layers that read it.
    public var extendConfig: [String: String]

    public init(
        downstreamProtocol: ProtocolName, upstreamProtocol: ProtocolName, routerConfigName: String,
        extendConfig: [String: String] = [:]
    ) {
        self.downstreamProtocol = downstreamProtocol
        self.upstreamProtocol = upstreamProtocol
        self.routerConfigName = routerConfigName
        self.extendConfig = extendConfig
    }
}

public struct RouterConfig: Sendable, Equatable {
    public var name: String
    public var virtualHosts: [VirtualHostConfig]
    public init(name: String, virtualHosts: [VirtualHostConfig]) {
        self.name = name
        self.virtualHosts = virtualHosts
    }
}

public struct VirtualHostConfig: Sendable, Equatable {
    public var name: String
    public var domains: [String]
    public var routes: [RouteConfig]
    public init(name: String, domains: [String], routes: [RouteConfig]) {
        self.name = name
        self.domains = domains
        self.routes = routes
    }
}

public struct RouteConfig: Sendable, Equatable {
    public var match: RouteMatchConfig
    public var action: RouteActionConfig
    public init(match: RouteMatchConfig, action: RouteActionConfig) {
        self.match = match
        self.action = action
    }
}

public struct RouteMatchConfig: Sendable, Equatable {
    public var prefix: String?
    public var path: String?
    /// Checked to compile at decode time.
    public var regex: String?
    public var headers: [HeaderMatcherConfig]
    public init(prefix: String? = nil, path: String? = nil, regex: String? = nil, headers: [HeaderMatcherConfig] = []) {
        self.prefix = prefix
        self.path = path
        self.regex = regex
        self.headers = headers
    }
}

public struct HeaderMatcherConfig: Sendable, Equatable {
    public var name: String
    public var value: String
    /// When true `value` is a regular expression (checked to compile).
    public var regex: Bool
    public init(name: String, value: String, regex: Bool) {
        self.name = name
        self.value = value
        self.regex = regex
    }
}

public enum RouteActionConfig: Sendable, Equatable {
    case route(RouteTargetConfig)
    case redirect(RedirectConfig)
    case directResponse(status: Int, body: String?)
}

public struct RouteTargetConfig: Sendable, Equatable {
    /// Exactly one of `clusterName` and `weightedClusters` is set.
    public var clusterName: String?
    public var weightedClusters: [WeightedClusterConfig]
    /// Whole-request timeout, default 60 s.
    public var timeout: Duration
    public var retryPolicy: RetryPolicyConfig?
    public var prefixRewrite: String?
    public var hostRewrite: String?
    /// Header names to hash on (`hash_policy[{header{key}}]`).
    public var hashPolicyHeaders: [String]
    /// `metadata_match.filter_metadata["mosn.lb"]`: the subset of `clusterName`'s hosts to use; nil = all hosts.
    public var metadataMatch: [String: String]? = nil

    public init(
        clusterName: String? = nil, weightedClusters: [WeightedClusterConfig] = [], timeout: Duration = .seconds(60),
        retryPolicy: RetryPolicyConfig? = nil, prefixRewrite: String? = nil, hostRewrite: String? = nil,
        hashPolicyHeaders: [String] = []
    ) {
        self.clusterName = clusterName
        self.weightedClusters = weightedClusters
        self.timeout = timeout
        self.retryPolicy = retryPolicy
        self.prefixRewrite = prefixRewrite
        self.hostRewrite = hostRewrite
        self.hashPolicyHeaders = hashPolicyHeaders
    }
}

public struct WeightedClusterConfig: Sendable, Equatable {
    public var name: String
    public var weight: Int
    /// This entry's `metadata_match`: replaces the route's (MOSN does not merge them); nil = all hosts.
    public var metadataMatch: [String: String]?
    public init(name: String, weight: Int, metadataMatch: [String: String]? = nil) {
        self.name = name
        self.weight = weight
        self.metadataMatch = metadataMatch
    }
}

public struct RetryPolicyConfig: Sendable, Equatable {
    /// Conditions, normalised lower-case: "connect-failure", "reset", "5xx", "retriable-status-codes".
    public var retryOn: [String]
    public var retryTimeout: Duration?
    public var numRetries: Int
    public var statusCodes: [Int]
    public init(retryOn: [String], retryTimeout: Duration?, numRetries: Int, statusCodes: [Int]) {
        self.retryOn = retryOn
        self.retryTimeout = retryTimeout
        self.numRetries = numRetries
        self.statusCodes = statusCodes
    }
}

public struct RedirectConfig: Sendable, Equatable {
    public var hostRedirect: String?
    public var pathRedirect: String?
    public var responseCode: Int
    public init(hostRedirect: String?, pathRedirect: String?, responseCode: Int) {
        self.hostRedirect = hostRedirect
        self.pathRedirect = pathRedirect
        self.responseCode = responseCode
    }
}

public enum LoadBalancerType: String, Sendable, Equatable, CaseIterable {
    case random = "LB_RANDOM"
    case roundRobin = "LB_ROUNDROBIN"
    case weightedRoundRobin = "LB_WEIGHTED_ROUNDROBIN"
    case leastRequest = "LB_LEAST_REQUEST"
    case leastConnection = "LB_LEAST_CONNECTION"
    case maglev = "LB_MAGLEV"
}

public enum ClusterType: String, Sendable, Equatable {
    case simple = "SIMPLE"
    case staticCluster = "STATIC"
    case strictDNS = "STRICT_DNS"
    case logicalDNS = "LOGICAL_DNS"
}

public struct ClusterConfig: Sendable, Equatable {
    public var name: String
    public var type: ClusterType
    public var lbType: LoadBalancerType
    /// 0 = unlimited.
    public var maxRequestPerConn: Int
    /// Bound on an upstream connection's write queue, default 1 MiB.
    public var connBufferLimitBytes: Int
    /// Default 10 s.
    public var connectTimeout: Duration
    public var idleTimeout: Duration?
    public var circuitBreakers: CircuitBreakersConfig
    public var healthCheck: HealthCheckConfig?
    /// `outlier_detection`: passive ejection of hosts that fail in a row; nil = off.
    public var outlierDetection: OutlierDetectionConfig?
    /// `drain_timeout` (Skiff): how long a host in DRAIN may keep in-flight work, default 30 s.
    public var drainTimeout: Duration = .seconds(30)
    /// `drain_action` (Skiff): at the drain timeout, `close` what remains (default) or `wait`.
    public var drainAction: DrainAction = .close
    /// `tls_context` with `"status": true` (or `cluster_manager.tls_context` when `cluster_manager_tls`): upstream
    /// connections and health checks use TLS; nil = plaintext.
    public var tls: TLSContextConfig? = nil
    /// `lb_subset_config` with at least one selector; nil = no subsets (routes' `metadata_match` is refused).
    public var lbSubset: LBSubsetConfig? = nil
    /// STRICT_DNS / LOGICAL_DNS: how the host names are resolved; nil for other types.
    public var dns: DNSClusterConfig? = nil
    /// Another type's hosts written as names (MOSN's hostname hosts): asked again this often through the system
    /// resolver (`dns_refresh_rate` on such a cluster; default MOSN's 15 s cache).
    public var hostnameRefresh: Duration = DNSClusterConfig.hostnameRefresh
    /// `slow_start`; nil = new and recovered hosts get their full weight at once.
    public var slowStart: SlowStartConfig? = nil
    /// The HTTP version the cluster's hosts speak, set only from xDS (Envoy's clusters say it, MOSN's listeners do):
    /// HTTP requests routed here use it whatever the proxy filter's `upstream_protocol`; nil = the listener decides.
    public var httpProtocol: ClusterHTTPProtocol? = nil
    /// `http2_protocol_options` (Skiff's, Envoy's names): the settings of HTTP/2 connections to the hosts.
    public var http2 = HTTP2Settings()
    public var hosts: [HostConfig]

    public init(
        name: String, type: ClusterType = .simple, lbType: LoadBalancerType = .roundRobin, maxRequestPerConn: Int = 0,
        connBufferLimitBytes: Int = 1 << 20, connectTimeout: Duration = .seconds(10), idleTimeout: Duration? = nil,
        circuitBreakers: CircuitBreakersConfig = .init(), healthCheck: HealthCheckConfig? = nil,
        outlierDetection: OutlierDetectionConfig? = nil, hosts: [HostConfig]
    ) {
        self.name = name
        self.type = type
        self.lbType = lbType
        self.maxRequestPerConn = maxRequestPerConn
        self.connBufferLimitBytes = connBufferLimitBytes
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.circuitBreakers = circuitBreakers
        self.healthCheck = healthCheck
        self.outlierDetection = outlierDetection
        self.hosts = hosts
    }
}

/// 0 means unlimited, as in MOSN.
public struct CircuitBreakersConfig: Sendable, Equatable {
    public var maxConnections: Int
    public var maxPendingRequests: Int
    public var maxRequests: Int
    public var maxRetries: Int
    public init(maxConnections: Int = 0, maxPendingRequests: Int = 0, maxRequests: Int = 0, maxRetries: Int = 0) {
        self.maxConnections = maxConnections
        self.maxPendingRequests = maxPendingRequests
        self.maxRequests = maxRequests
        self.maxRetries = maxRetries
    }
}

public struct HealthCheckConfig: Sendable, Equatable {
    /// Normalised: "http1", "tcp", "bolt", "dubbo", "grpc".
    public var protocolName: String
    public var timeout: Duration
    public var interval: Duration
    public var intervalJitter: Duration
    public var unhealthyInterval: Duration?
    public var initialDelay: Duration
    public var healthyThreshold: Int
    public var unhealthyThreshold: Int
    public var serviceName: String?
    public var httpPath: String?
    public var httpMethod: String?
    /// Inclusive ranges of accepted status codes; default 200...299.
    public var httpCodes: [ClosedRange<Int>]
    /// The `Host` of HTTP checks (xDS `http_health_check.host`); nil = the host's `hostname`, else its address. Also
    /// the `:authority` of gRPC checks.
    public var httpHost: String? = nil
    /// The service a gRPC check asks about (`check_config.grpc_check_config.service_name`); nil or empty = the whole
    /// server.
    public var grpcService: String? = nil

    public init(
        protocolName: String, timeout: Duration, interval: Duration, intervalJitter: Duration = .zero,
        unhealthyInterval: Duration? = nil, initialDelay: Duration = .zero, healthyThreshold: Int,
        unhealthyThreshold: Int, serviceName: String? = nil, httpPath: String? = nil, httpMethod: String? = nil,
        httpCodes: [ClosedRange<Int>] = [200...299]
    ) {
        self.protocolName = protocolName
        self.timeout = timeout
        self.interval = interval
        self.intervalJitter = intervalJitter
        self.unhealthyInterval = unhealthyInterval
        self.initialDelay = initialDelay
        self.healthyThreshold = healthyThreshold
        self.unhealthyThreshold = unhealthyThreshold
        self.serviceName = serviceName
        self.httpPath = httpPath
        self.httpMethod = httpMethod
        self.httpCodes = httpCodes
    }
}

/// A cluster's `outlier_detection` (Envoy's consecutive-errors ejection; MOSN has none): a host whose upstream results
/// (connect failures, 5xx) fail `consecutiveErrors` times in a row is ejected for `baseEjectionTime` times the number
/// of times it has been ejected, at most `maxEjectionTime`, while no more than `maxEjectionPercent` of the cluster's
/// hosts are ejected at once. Unlike Envoy, a percent that allows no host (10% of 5 hosts) ejects none.
public struct OutlierDetectionConfig: Sendable, Equatable {
    /// `consecutive_errors`, default 5.
    public var consecutiveErrors: Int
    /// `base_ejection_time`, default 30 s.
    public var baseEjectionTime: Duration
    /// `max_ejection_time`, default 300 s; never less than `baseEjectionTime`.
    public var maxEjectionTime: Duration
    /// `max_ejection_percent`, 0...100, default 10.
    public var maxEjectionPercent: Int

    public init(
        consecutiveErrors: Int = 5, baseEjectionTime: Duration = .seconds(30), maxEjectionTime: Duration = .seconds(300),
        maxEjectionPercent: Int = 10
    ) {
        self.consecutiveErrors = consecutiveErrors
        self.baseEjectionTime = baseEjectionTime
        self.maxEjectionTime = maxEjectionTime
        self.maxEjectionPercent = maxEjectionPercent
    }
}

public struct HostConfig: Sendable, Equatable {
    public var address: SocketAddressSpec
    public var hostname: String?
    /// 1...128, default 1.
    public var weight: Int
    public var metadata: [String: String]
    /// `tls_disable`: this host gets plaintext even when its cluster uses TLS.
    public var tlsDisable: Bool = false
    /// What a control plane says of this host (EDS `health_status`); file configs leave it `.serving`.
    public var controlPlaneState: ControlPlaneHostState = .serving
    public init(address: SocketAddressSpec, hostname: String? = nil, weight: Int = 1, metadata: [String: String] = [:]) {
        self.address = address
        self.hostname = hostname
        self.weight = weight
        self.metadata = metadata
    }
}

/// A host's state as an EDS `health_status` gives it: UNHEALTHY maps onto Skiff's failing health, DRAINING onto the
/// DRAIN admin state; everything else serves (the health checker, if any, still decides).
public enum ControlPlaneHostState: String, Sendable, Equatable {
    case serving
    case unhealthy
    case draining
}

public struct AdminConfig: Sendable, Equatable {
    public var address: SocketAddressSpec
    /// `admin.token` (a Skiff extension): mutations through the admin API need `Authorization: Bearer <token>`.
    /// Without it, an admin API beyond loopback serves reads only.
    public var token: String?
    public init(address: SocketAddressSpec, token: String? = nil) {
        self.address = address
        self.token = token
    }
}

/// What happens to a draining host's remaining work at `drain_timeout`.
public enum DrainAction: String, Sendable, Equatable {
    case close
    case wait
}
