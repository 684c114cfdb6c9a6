import SkiffConfig
import SkiffXDSProto
import SwiftProtobuf

/// One Listener into a `ListenerConfig`: the address (TCP socket address, IP literal), exactly one filter chain without
/// `filter_chain_match` (`filter_chains[0]` or `default_filter_chain`), its one network filter
/// (http_connection_manager or tcp_proxy), its TLS transport socket, the thread model from metadata, and the buffer
/// limit. A value used once; any thread.
struct ListenerTranslation {
    typealias Listener = Envoy_Config_Listener_V3_Listener
    typealias FilterChain = Envoy_Config_Listener_V3_FilterChain

    static let tlsInspector = "envoy.filters.listener.tls_inspector"
    static let tlsInspectorType = "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
    static let hcmType = Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager
        .protoMessageName
    static let tcpProxyType = Envoy_Extensions_Filters_Network_TcpProxy_V3_TcpProxy.protoMessageName
    /// The `filter_metadata` namespace Skiff reads listener options from.
    static let metadataNamespace = "skiff"

    let listener: Listener
    let context: XDSContext

    init(_ listener: Listener) {
        self.listener = listener
        self.context = XDSContext(resource: "listener \(quotedName(listener.name))")
    }

    func translate() throws(XDSRejection) -> XDSListener {
        let l = listener
        try context.checkUnknown(l, at: "")
        if l.name.isEmpty { throw context.reject("name", "required") }
        guard l.hasAddress else { throw context.reject("address", "required") }
        let address = try SocketAddressTranslation(context).listenerAddress(l.address, at: "address")
        if l.hasUseOriginalDst {
            try context.checkUnknown(l.useOriginalDst, at: "use_original_dst")
            try context.refuse(
                l.useOriginalDst.value, "use_original_dst",
                "true is not supported by skiff (connections are served by the listener that accepted them)")
        }
        if l.hasBindToPort {
            try context.checkUnknown(l.bindToPort, at: "bind_to_port")
            try context.refuse(
                !l.bindToPort.value, "bind_to_port",
                "false is not supported by skiff (a listener that binds nothing and only receives connections another "
                    + "listener hands over)")
        }
        try listenerFilters()
        let model = try threadModel()
        var config = ListenerConfig(
            name: l.name, address: address, threadModel: model, maxConnections: model == .rwloop ? 1024 : 0)
        config.connBufferLimitBytes = try context.uint32(
            l.hasPerConnectionBufferLimitBytes, l.perConnectionBufferLimitBytes, in: SkiffLimits.bufferLimitBytes,
            at: "per_connection_buffer_limit_bytes", absent: 1 << 20)
        // `stat_prefix` is accepted: Skiff labels a listener's metrics with its name.
        let (chain, chainPath) = try theFilterChain()
        return try translateChain(chain, at: chainPath, into: config)
    }

    /// The one filter chain: `filter_chains[0]`, or `default_filter_chain` when there is no other.
    private func theFilterChain() throws(XDSRejection) -> (FilterChain, String) {
        var chains: [(FilterChain, String)] = listener.filterChains.enumerated().map { ($1, "filter_chains".at($0)) }
        if listener.hasDefaultFilterChain { chains.append((listener.defaultFilterChain, "default_filter_chain")) }
        for (chain, path) in chains where chain.hasFilterChainMatch {
            try checkNoMatch(chain.filterChainMatch, at: path.dot("filter_chain_match"))
        }
        guard chains.count == 1 else {
            if chains.isEmpty { throw context.reject("filter_chains", "listener has no filter chain") }
            throw context.reject(
                "filter_chains",
                "\(chains.count) filter chains (counting default_filter_chain); skiff serves every connection of a "
                    + "listener with one filter chain")
        }
        return chains[0]
    }

    /// A `filter_chain_match` with anything set is refused: one chain serves every connection.
    private func checkNoMatch(_ m: Envoy_Config_Listener_V3_FilterChainMatch, at path: String) throws(XDSRejection) {
        try context.checkUnknown(m, at: path)
        let set: [(String, Bool)] = [
            ("destination_port", m.hasDestinationPort), ("prefix_ranges", !m.prefixRanges.isEmpty),
            ("source_prefix_ranges", !m.sourcePrefixRanges.isEmpty), ("source_ports", !m.sourcePorts.isEmpty),
            ("server_names", !m.serverNames.isEmpty), ("transport_protocol", !m.transportProtocol.isEmpty),
            ("application_protocols", !m.applicationProtocols.isEmpty),
        ]
        if let (name, _) = set.first(where: { $0.1 }) {
            throw context.reject(
                path.dot(name),
                "filter chain matching is not supported by skiff (one filter chain serves every connection)")
        }
    }

    private func translateChain(_ chain: FilterChain, at path: String, into base: ListenerConfig)
        throws(XDSRejection) -> XDSListener
    {
        try context.checkUnknown(chain, at: path)
        var config = base
        // `name` and `metadata` of the chain are labels: accepted.
        if chain.hasTransportSocket {
            var handshake: Duration?
            if chain.hasTransportSocketConnectTimeout {
                handshake = try context.positiveDuration(
                    chain.transportSocketConnectTimeout, at: path.dot("transport_socket_connect_timeout"))
            }
            config.tls = try TLSTranslation(context).listenerTLS(
                chain.transportSocket, at: path.dot("transport_socket"), handshakeTimeout: handshake)
        }
        guard !chain.filters.isEmpty else { throw context.reject(path.dot("filters"), "no network filter") }
        if chain.filters.count > 1 {
            let names = chain.filters.map { quotedName($0.name) }.joined(separator: ", ")
            throw context.reject(
                path.dot("filters"),
                "\(chain.filters.count) network filters (\(names)); skiff takes exactly one, "
                    + "envoy.filters.network.http_connection_manager or envoy.filters.network.tcp_proxy")
        }
        let filter = chain.filters[0]
        let filterPath = path.dot("filters").at(0)
        try context.checkUnknown(filter, at: filterPath)
        let typedPath = filterPath.dot("typed_config")
        guard case .typedConfig(let any)? = filter.configType else {
            throw context.reject(typedPath, "required (filter \(quotedName(filter.name)) has no typed_config)")
        }
        switch AnyUnpacking.messageName(any) {
        case Self.hcmType:
            let hcm = try HTTPConnectionManagerTranslation(context, listenerName: listener.name).translate(
                any, at: typedPath, into: &config)
            if var tls = config.tls, case .proxy(let p)? = config.filterChains.first?.filters.first {
                try TLSTranslation(context).checkALPN(
                    &tls.contexts[0], http2: p.downstreamProtocol == .http2,
                    at: path.dot("transport_socket.typed_config.common_tls_context.alpn_protocols"),
                    what: "the listener (its http_connection_manager's codec_type)")
                config.tls = tls
            }
            return XDSListener(
                config: config, routeConfigName: hcm.routeConfigName, inlineRouter: hcm.inlineRouter, clusterNames: [])
        case Self.tcpProxyType:
            let tcp = try TCPProxyTranslation(context).translate(any, at: typedPath)
            config.filterChains = [FilterChainConfig(filters: [.tcpProxy(tcp.config)])]
            config.connectionIdleTimeout = nil  // tcp_proxy's own idle_timeout applies, as in file mode
            return XDSListener(config: config, routeConfigName: nil, inlineRouter: nil, clusterNames: tcp.clusterNames)
        default:
            throw AnyUnpacking.unknownType(any, at: typedPath, context, expected: [Self.hcmType, Self.tcpProxyType])
        }
    }

    /// `listener_filters`: only tls_inspector, which Skiff needs no filter for (a TLS chain handshakes; there is no
    /// chain to pick by SNI or ALPN).
    private func listenerFilters() throws(XDSRejection) {
        for (i, f) in listener.listenerFilters.enumerated() {
            let path = "listener_filters".at(i)
            try context.checkUnknown(f, at: path)
            if case .typedConfig(let any)? = f.configType {
                if AnyUnpacking.messageName(any) != Self.tlsInspectorType {
                    throw AnyUnpacking.unknownType(
                        any, at: path.dot("typed_config"), context, expected: [Self.tlsInspectorType])
                }
            } else if f.name != Self.tlsInspector {
                throw context.reject(
                    path, "listener filter \(quotedName(f.name)) is not supported by skiff (only \(Self.tlsInspector))")
            }
        }
    }

    /// Skiff's default (netpoll) unless `metadata.filter_metadata["skiff"]` says `{"thread_model": "rwloop"}` (or
    /// `"netpoll"`). Other keys under `skiff` are refused, so a misspelt option is not silently dropped.
    private func threadModel() throws(XDSRejection) -> ThreadModel {
        guard listener.hasMetadata, let options = listener.metadata.filterMetadata[Self.metadataNamespace] else {
            return .netpoll
        }
        let path = FieldPath.key("metadata.filter_metadata", Self.metadataNamespace)
        var model = ThreadModel.netpoll
        for key in options.fields.keys.sorted() {
            let value = options.fields[key]!
            let valuePath = path.dot(key)
            guard key == "thread_model" else {
                throw context.reject(valuePath, "unknown skiff listener option (expected thread_model)")
            }
            guard case .stringValue(let s)? = value.kind, let m = ThreadModel(rawValue: s) else {
                throw context.reject(valuePath, "expected \"netpoll\" or \"rwloop\"")
            }
            model = m
        }
        return model
    }
}
