import SkiffJSON

/// `servers[]` and their `listeners[]`: thread-model defaults flow from server to listener here, and router
/// references from proxy filters are checked once all of a server's routers (including old-form ones) are known.
extension ConfigDecoder {
    static let serverSchema = ObjectSchema(
        known: [
            "mosn_server_name", "default_log_path", "default_log_level", "use_netpoll_mode", "graceful_timeout",
            "processor", "listeners", "routers", "thread_model", "pollers", "workers",
        ],
        unsupported: ["global_log_roller", "optimize_local_write"],
        emptyAllowed: ["global_log_roller", "optimize_local_write"])

    static let listenerSchema = ObjectSchema(
        known: [
            "name", "type", "address", "bind_port", "network", "access_logs", "filter_chains", "stream_filters",
            "connection_idle_timeout", "log_path", "thread_model", "pollers", "workers", "max_connections",
            "max_coalesce", "conn_buffer_limit_bytes", "request_header_timeout", "request_body_timeout", "inspector",
            "stream_idle_timeout", "http2_protocol_options",
        ],
        unsupported: ["reuseport", "use_original_dst", "listener_filters", "default_read_buffer_size", "log_level"],
        emptyAllowed: ["reuseport", "use_original_dst", "listener_filters"])

    static let threadModels: [(String, ThreadModel)] = ThreadModel.allCases.map { ($0.rawValue, $0) }

    /// Where a proxy filter names a router, checked after the whole server is read.
    struct RouterReference {
        var name: String
        var path: String
    }

    mutating func decodeServer(_ v: JSONValue, at path: String) -> ServerConfig? {
        guard let f = fields(v, at: path, Self.serverSchema) else { return nil }
        var server = ServerConfig()
        server.name = string(f, "mosn_server_name")
        server.defaultLogPath = string(f, "default_log_path")
        server.defaultLogLevel = choice(
            f, "default_log_level", what: "log level",
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].map { ($0, $0) })
        let netpollMode = bool(f, "use_netpoll_mode")
        let model = choice(f, "thread_model", what: "thread model", Self.threadModels)
        if let netpollMode, let model, (netpollMode ? ThreadModel.netpoll : .rwloop) != model {
            fail(f.path("thread_model"), "\(quoted(model.rawValue)) contradicts use_netpoll_mode: \(netpollMode)")
        }
        server.threadModel = model ?? netpollMode.map { $0 ? .netpoll : .rwloop } ?? .netpoll
        server.processor = processor(f)
        server.pollers = int(f, "pollers", 1...256) ?? server.processor.map { min($0, 256) }
        server.workers = int(f, "workers", 0...1024) ?? 0
        server.gracefulTimeout = duration(f, "graceful_timeout") ?? .seconds(30)

        var routerPaths: [String: String] = [:]
        for item in array(f, "routers") ?? [] {
            guard let router = decodeRouter(item.value, at: item.path) else { continue }
            addRouter(router, at: item.path, to: &server, paths: &routerPaths)
        }

        var references: [RouterReference] = []
        var oldFormRouters: [(router: RouterConfig, path: String)] = []
        for item in array(f, "listeners") ?? [] {
            let listener = decodeListener(
                item.value, at: item.path, server: server, references: &references, oldFormRouters: &oldFormRouters)
            if let listener { server.listeners.append(listener) }
        }
        for (router, path) in oldFormRouters { addRouter(router, at: path, to: &server, paths: &routerPaths) }
        for ref in references where routerPaths[ref.name] == nil {
            fail(ref.path, missingName("router", ref.name, among: routerPaths.keys))
        }
        return server
    }

    private mutating func addRouter(
        _ router: RouterConfig, at path: String, to server: inout ServerConfig, paths: inout [String: String]
    ) {
        if paths[router.name] != nil {
            fail(ConfigPath.field(path, "router_config_name"), "duplicate router name \(quoted(router.name))")
            return
        }
        paths[router.name] = path
        server.routers.append(router)
    }

    /// `processor`: a count (1...1024) or `"auto"` (nil).
    private mutating func processor(_ f: Fields) -> Int? {
        guard let v = f["processor"] else { return nil }
        if case .string(let s) = v {
            if s.lowercased() != "auto" {
                fail(f.path("processor"), "expected an integer or \"auto\", got \(quoted(s))")
            }
            return nil
        }
        return int(v, at: f.path("processor"), 1...1024)
    }

    mutating func decodeListener(
        _ v: JSONValue, at path: String, server: ServerConfig, references: inout [RouterReference],
        oldFormRouters: inout [(router: RouterConfig, path: String)]
    ) -> ListenerConfig? {
        guard let f = fields(v, at: path, Self.listenerSchema) else { return nil }
        let name = requiredString(f, "name") ?? ""
        if !name.isEmpty {
            if listenerNames[name] != nil {
                fail(f.path("name"), "duplicate listener name \(quoted(name))")
            } else {
                listenerNames[name] = f.path("name")
            }
        }
        var address = SocketAddressSpec(host: "", port: 0)
        if let text = requiredString(f, "address") {
            switch AddressText.hostPort(text, ports: 0...65535) {
            case .failure(let problem): fail(f.path("address"), problem.message)
            case .success(let parsed):
                address = parsed
                if parsed.port != 0, let other = listenerAddresses[parsed] {
                    fail(f.path("address"), "\(quoted(parsed.description)) already used by listener \(quoted(other))")
                } else if parsed.port != 0 {
                    listenerAddresses[parsed] = name
                }
            }
        }
        var listener = ListenerConfig(name: name, address: address)
        listener.direction = choice(f, "type", what: "listener type", [("ingress", "ingress"), ("egress", "egress")])
        listener.bindPort = bool(f, "bind_port") ?? true
        if !listener.bindPort {
            fail(
                f.path("bind_port"),
                "false (a listener that binds nothing and only receives connections another listener hands over) is "
                    + "not supported; remove it or set true")
        }
        listener.network =
            choice(f, "network", what: "network", [("tcp", "tcp")], unsupported: ["unix", "udp"]) ?? "tcp"
        listener.logPath = string(f, "log_path")
        if listener.logPath != nil {
            warn(
                f.path("log_path"),
                "ignored, as MOSN ignores it: logs go to the server's default_log_path, --log-file or stderr")
        }
        listener.accessLogs = accessLogs(f)
        let idleTimeout = duration(f, "connection_idle_timeout")
        let headerTimeout = duration(f, "request_header_timeout", positive: true)
        let bodyTimeout = duration(f, "request_body_timeout", positive: true)
        let streamIdleTimeout = duration(f, "stream_idle_timeout")
        let http2 = f["http2_protocol_options"].map { http2Settings($0, at: f.path("http2_protocol_options")) }

        let model = choice(f, "thread_model", what: "thread model", Self.threadModels) ?? server.threadModel
        listener.threadModel = model
        listener.pollers = int(f, "pollers", 1...256) ?? server.pollers
        listener.workers = int(f, "workers", 0...1024) ?? server.workers
        listener.maxConnections = int(f, "max_connections", 0...Self.int32Max) ?? (model == .rwloop ? 1024 : 0)
        listener.maxCoalesce = int(f, "max_coalesce", 1...1024) ?? 16
        listener.connBufferLimitBytes = int(f, "conn_buffer_limit_bytes", 4096...(1 << 30)) ?? (1 << 20)

        listener.filterChains = decodeFilterChains(
            f, references: &references, oldFormRouters: &oldFormRouters, tls: &listener.tls)
        applyInspector(f, to: &listener)
        checkALPN(f, &listener)
        listener.streamFilters = streamFilters(f)
        applyTimeouts(
            to: &listener, f, idle: idleTimeout, header: headerTimeout, body: bodyTimeout, stream: streamIdleTimeout,
            http2: http2)
        return listener
    }

    /// ALPN against the listener's protocol: an Http2 listener's TLS offers `h2` (given, or added when its `alpn` is
    /// empty, so clients pick HTTP/2 by it); any other listener must not offer it.
    private mutating func checkALPN(_ f: Fields, _ listener: inout ListenerConfig) {
        guard var tls = listener.tls else { return }
        var http2 = false
        if case .proxy(let p)? = listener.filterChains.first?.filters.first { http2 = p.downstreamProtocol == .http2 }
        let path = f.path("filter_chains") + "[0].tls_context.alpn"
        for i in tls.contexts.indices {
            let offersH2 = tls.contexts[i].alpn.contains("h2")
            if http2 && tls.contexts[i].alpn.isEmpty {
                tls.contexts[i].alpn = ["h2"]
            } else if http2 && !offersH2 {
                fail(path, "an Http2 listener offers h2 (clients choose HTTP/2 by ALPN): add it or leave alpn empty")
            } else if !http2 && offersH2 {
                fail(path, "\"h2\" is offered by Http2 listeners only (this one does not speak HTTP/2)")
            }
        }
        listener.tls = tls
    }

    /// The listener's connection timeouts, with defaults that depend on its filter: HTTP and RPC listeners close
    /// idle connections after `ListenerConfig.defaultIdleTimeout` unless told otherwise (`"0s"` = never);
    /// tcp_proxy listeners only when `connection_idle_timeout` is set. The request timeouts exist for HTTP only.
    private mutating func applyTimeouts(
        to listener: inout ListenerConfig, _ f: Fields, idle: Duration?, header: Duration?, body: Duration?,
        stream: Duration?, http2: HTTP2Settings?
    ) {
        var servesHTTP = true
        var servesHTTP2 = false
        var isTCP = false
        switch listener.filterChains.first?.filters.first {
        case .tcpProxy?:
            servesHTTP = false
            isTCP = true
        case .proxy(let p)?:
            servesHTTP = p.downstreamProtocol == .http1 || p.downstreamProtocol == .auto
            servesHTTP2 = p.downstreamProtocol == .http2 || p.downstreamProtocol == .auto
        case nil:
            break
        }
        if let idle {
            listener.connectionIdleTimeout = idle == .zero ? nil : idle
        } else {
            listener.connectionIdleTimeout = isTCP ? nil : ListenerConfig.defaultIdleTimeout
        }
        for (name, value) in [("request_header_timeout", header), ("request_body_timeout", body)] where value != nil {
            if !servesHTTP { fail(f.path(name), "applies to Http1 and Auto proxy listeners only") }
        }
        if let header { listener.requestHeaderTimeout = header }
        if let body { listener.requestBodyTimeout = body }
        if let stream {
            if !servesHTTP2 { fail(f.path("stream_idle_timeout"), "applies to Http2 and Auto proxy listeners only") }
            listener.streamIdleTimeout = stream == .zero ? nil : stream
        }
        if let http2 {
            if !servesHTTP2 { fail(f.path("http2_protocol_options"), "applies to Http2 and Auto proxy listeners only") }
            listener.http2 = http2
        }
    }

    /// `stream_filters[]`: only `healthcheck` (MOSN's bolt heartbeat answerer), with an empty config.
    private mutating func streamFilters(_ f: Fields) -> [String] {
        var types: [String] = []
        let schema = ObjectSchema(known: ["type", "config"], unsupported: ["go_plugin_config"])
        let configSchema = ObjectSchema(
            known: [], unsupported: ["passthrough", "cache_time", "endpoint", "cluster_min_healthy_percentages"],
            emptyAllowed: ["passthrough"])
        for item in array(f, "stream_filters") ?? [] {
            guard let s = fields(item.value, at: item.path, schema) else { continue }
            guard let type = requiredString(s, "type") else { continue }
            guard type.lowercased() == "healthcheck" else {
                fail(s.path("type"), "unknown stream filter type \(quoted(type)) (expected healthcheck)")
                continue
            }
            if let config = s["config"] { _ = fields(config, at: s.path("config"), configSchema) }
            types.append("healthcheck")
        }
        return types
    }
}
