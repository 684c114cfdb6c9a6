import SkiffConfig
import SkiffXDSProto
import SwiftProtobuf

/// An http_connection_manager into the listener's proxy filter and its timeouts, with the RDS name it subscribes to or
/// its inline route_config. `codec_type` HTTP2 serves HTTP/2 (h2c, or h2 by ALPN over TLS); AUTO and HTTP1 serve
/// HTTP/1.1 (an HTTP/2 client is answered GOAWAY HTTP_1_1_REQUIRED). `http_filters` must be exactly the router. Any
/// thread.
///
/// Timeouts, Envoy's onto Skiff's listener timeouts:
/// - `request_headers_timeout` → `requestHeaderTimeout`; unset or `0s` (Envoy: none) keeps Skiff's 10 s.
/// - `stream_idle_timeout` → `requestBodyTimeout` (a request body that sends nothing that long is answered 408)
///   and `streamIdleTimeout` (HTTP/2 streams idle both ways); unset is Envoy's 300 s; `0s` (none) is a year and
///   none. Upstream silence is bounded by the route timeout.
/// - `common_http_protocol_options.idle_timeout` → `connectionIdleTimeout`; unset is Envoy's 1 h, `0s` none.
/// - `request_timeout` (the whole request's arrival) has no Skiff equivalent: refused when set above 0s.
struct HTTPConnectionManagerTranslation {
    typealias Manager = Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager

    static let routerName = "envoy.filters.http.router"
    static let routerType = Envoy_Extensions_Filters_Http_Router_V3_Router.protoMessageName

    struct Translated {
        var routeConfigName: String?
        var inlineRouter: RouterConfig?
    }

    let context: XDSContext
    let listenerName: String

    init(_ context: XDSContext, listenerName: String) {
        self.context = context
        self.listenerName = listenerName
    }

    /// Unpacks `any` (at `path`), fills `listener`'s filter chain and timeouts.
    func translate(_ any: Google_Protobuf_Any, at path: String, into listener: inout ListenerConfig)
        throws(XDSRejection) -> Translated
    {
        let m = try AnyUnpacking.unpack(any, as: Manager.self, at: path, context)
        try context.checkUnknown(m, at: path)
        let downstream: ProtocolName
        switch m.codecType {
        case .auto, .http1: downstream = .http1
        case .http2: downstream = .http2
        case .http3: throw context.reject(path.dot("codec_type"), "HTTP3 is not supported (AUTO, HTTP1 and HTTP2 are)")
        case .UNRECOGNIZED(let n): throw context.reject(path.dot("codec_type"), "unknown codec type \(n)")
        }
        // `stat_prefix` is accepted: Skiff labels the listener's metrics with the listener's name.
        try httpFilters(m.httpFilters, at: path.dot("http_filters"))
        try protocolOptions(m, at: path, into: &listener)
        try timeouts(m, at: path, into: &listener)

        var out = Translated()
        let routerName: String
        switch m.routeSpecifier {
        case .rds(let rds)?:
            let rp = path.dot("rds")
            try context.checkUnknown(rds, at: rp)
            if rds.routeConfigName.isEmpty { throw context.reject(rp.dot("route_config_name"), "required") }
            guard rds.hasConfigSource else { throw context.reject(rp.dot("config_source"), "required") }
            try context.checkADS(rds.configSource, at: rp.dot("config_source"))
            routerName = rds.routeConfigName
            out.routeConfigName = routerName
        case .routeConfig(let r)?:
            routerName = XDSListener.inlineRouterName(listener: listenerName)
            out.inlineRouter = try RouteTranslation(context).router(r, named: routerName, at: path.dot("route_config"))
        case nil:
            throw context.reject(path.dot("rds"), "required (or route_config)")
        }
        // The upstream protocol is each cluster's (`ClusterConfig.httpProtocol`); as the client spoke for a cluster
        // that says so (use_downstream_protocol_config).
        let proxy = ProxyFilterConfig(
            downstreamProtocol: downstream, upstreamProtocol: downstream, routerConfigName: routerName)
        listener.filterChains = [FilterChainConfig(filters: [.proxy(proxy)])]
        return out
    }

    /// Exactly one HTTP filter, the router; its options are harmless (Skiff emits no x-envoy headers and keeps no
    /// per-upstream stats to turn off).
    private func httpFilters(
        _ filters: [Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpFilter], at path: String
    )
        throws(XDSRejection)
    {
        if filters.isEmpty { throw context.reject(path, "needs the router filter (\(Self.routerName))") }
        for (i, f) in filters.enumerated() {
            let fp = path.at(i)
            try context.checkUnknown(f, at: fp)
            var isRouter = f.name == Self.routerName
            if case .typedConfig(let any)? = f.configType {
                if AnyUnpacking.messageName(any) == Self.routerType {
                    let router = try AnyUnpacking.unpack(
                        any, as: Envoy_Extensions_Filters_Http_Router_V3_Router.self, at: fp.dot("typed_config"),
                        context)
                    try context.checkUnknown(router, at: fp.dot("typed_config"))
                    if router.hasDynamicStats {
                        try context.checkUnknown(router.dynamicStats, at: fp.dot("typed_config.dynamic_stats"))
                    }
                    isRouter = true
                } else {
                    throw context.reject(
                        fp,
                        "http filter \(quotedName(f.name)) (type \(quotedName(any.typeURL))) is not supported by skiff "
                            + "(only \(Self.routerName))")
                }
            }
            guard isRouter else {
                throw context.reject(
                    fp, "http filter \(quotedName(f.name)) is not supported by skiff (only \(Self.routerName))")
            }
            if i != filters.count - 1 {
                throw context.reject(fp, "the router must be the last http filter")
            }
            try context.refuse(f.disabled, fp.dot("disabled"), "a disabled router would serve nothing")
        }
    }

    /// HTTP/2 settings into the listener's; HTTP/1 options Skiff cannot honour, HTTP/2 settings beyond its bounds, the
    /// Server header and protocol limits are refused.
    private func protocolOptions(_ m: Manager, at path: String, into listener: inout ListenerConfig)
        throws(XDSRejection)
    {
        if m.hasHTTPProtocolOptions {
            let hp = path.dot("http_protocol_options")
            let o = m.httpProtocolOptions
            try context.checkUnknown(o, at: hp)
            if o.hasAllowAbsoluteURL { try context.checkUnknown(o.allowAbsoluteURL, at: hp.dot("allow_absolute_url")) }
            try context.refuse(o.acceptHTTP10, hp.dot("accept_http_10"), "not supported by skiff")
            try context.refuse(
                !o.defaultHostForHTTP10.isEmpty, hp.dot("default_host_for_http_10"), "not supported by skiff")
            try context.refuse(o.enableTrailers, hp.dot("enable_trailers"), "not supported by skiff")
        }
        if m.hasHTTP2ProtocolOptions {
            listener.http2 = try HTTP2OptionsTranslation.settings(
                m.http2ProtocolOptions, at: path.dot("http2_protocol_options"), context)
        }
        try context.refuse(
            !m.serverName.isEmpty, path.dot("server_name"), "skiff does not rewrite the Server header of responses")
        // `drain_timeout` is accepted: on a change Skiff drains connections for the server's graceful_timeout.
        if m.hasDrainTimeout { _ = try context.duration(m.drainTimeout, at: path.dot("drain_timeout")) }
        if m.hasUseRemoteAddress {
            try context.checkUnknown(m.useRemoteAddress, at: path.dot("use_remote_address"))
            try context.refuse(
                m.useRemoteAddress.value, path.dot("use_remote_address"),
                "true is not supported by skiff (it forwards X-Forwarded-For as it arrives and appends nothing)")
        }
    }

    private func timeouts(_ m: Manager, at path: String, into listener: inout ListenerConfig) throws(XDSRejection) {
        if m.hasRequestHeadersTimeout {
            let d = try context.duration(m.requestHeadersTimeout, at: path.dot("request_headers_timeout"))
            if d != .zero { listener.requestHeaderTimeout = d }
        }
        listener.requestBodyTimeout = XDSDefaults.streamIdleTimeout
        if m.hasStreamIdleTimeout {
            let d = try context.duration(m.streamIdleTimeout, at: path.dot("stream_idle_timeout"))
            listener.requestBodyTimeout = d == .zero ? XDSDefaults.disabled : d
            listener.streamIdleTimeout = d == .zero ? nil : d
        }
        if m.hasRequestTimeout {
            let d = try context.duration(m.requestTimeout, at: path.dot("request_timeout"))
            try context.refuse(
                d != .zero, path.dot("request_timeout"),
                "not supported by skiff (it bounds the request head with request_headers_timeout and a silent body "
                    + "with stream_idle_timeout, not the whole request)")
        }
        listener.connectionIdleTimeout = XDSDefaults.idleTimeout
        if m.hasCommonHTTPProtocolOptions {
            let cp = path.dot("common_http_protocol_options")
            let o = m.commonHTTPProtocolOptions
            try context.checkUnknown(o, at: cp)
            if o.hasIdleTimeout {
                let d = try context.duration(o.idleTimeout, at: cp.dot("idle_timeout"))
                listener.connectionIdleTimeout = d == .zero ? nil : d
            }
            try context.refuse(o.hasMaxHeadersCount, cp.dot("max_headers_count"), "not supported by skiff")
            try context.refuse(o.hasMaxConnectionDuration, cp.dot("max_connection_duration"), "not supported by skiff")
            try context.refuse(o.hasMaxStreamDuration, cp.dot("max_stream_duration"), "not supported by skiff")
            try context.refuse(
                o.hasMaxRequestsPerConnection, cp.dot("max_requests_per_connection"),
                "not supported by skiff on listeners")
        }
    }
}
