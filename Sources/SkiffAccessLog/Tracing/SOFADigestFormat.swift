import SkiffConfig

/// The digest line SOFATracer writes per span, as an access-log layout: one JSON object per request in
/// `rpc-server-digest.log` (ingress listeners) or `rpc-client-digest.log` (the others), with SOFATracer's keys
/// (docs/tracing.md lists them). Values are escaped as JSON, where MOSN writes them raw.
enum SOFADigestFormat {
    static func layout(_ kind: TraceSpanKind) -> AccessLogLayout {
        func header(_ names: String...) -> [AccessLogToken] { [.requestHeader(AccessLogHeader(names: names))] }
        var fields: [(String, [AccessLogToken])] = [
            ("timestamp", [.variable(.spanEndTime)]),
            ("traceId", [.variable(.traceID)]),
            ("spanId", [.variable(.rpcID)]),
            ("span.kind", [.literal(kind.rawValue)]),
            ("service", header("service")),
            ("method", header("sofa_head_method_name", "method")),
            ("protocol", [.variable(.protocolName)]),
            ("req.size", [.variable(.bytesReceived)]),
            ("resp.size", [.variable(.bytesSent)]),
            ("baggage", header("rpc_trace_context.sofapenattrs")),
            ("mosn.duration", [.variable(.duration)]),
            ("result.code", [.variable(.traceResultCode)]),
            ("upstream.cluster", [.variable(.upstreamCluster)]),
        ]
        switch kind {
        case .server:
            fields += [
                ("remote.ip", [.variable(.downstreamRemoteAddress)]),
                ("remote.app", header("rpc_trace_context.sofacallerapp")),
                ("local.ip", [.variable(.upstreamHostAddress)]),
            ]
        case .client:
            fields += [
                ("invoke.type", [.literal("sync")]),
                ("remote.ip", [.variable(.upstreamHostAddress)]),
                ("local.client.ip", [.variable(.downstreamRemoteAddress)]),
            ]
        }
        return .json(fields.map { AccessLogJSONField(key: $0.0, value: AccessLogFormat(tokens: $0.1)) })
    }

    /// The access-log entry a traced listener's requests add their digest lines through.
    static func entry(_ tracing: ListenerTracing) -> AccessLogConfig {
        AccessLogConfig(path: tracing.digestPath, layout: layout(tracing.kind))
    }
}
