import SkiffAccessLog
import SkiffConfig
import SkiffProtocol

/// Tracing for HTTP (docs/tracing.md): on a traced listener the request's trace context is decided into its record
/// as it arrives (so a local reply's line has it too), and the upstream gets `SOFA-TraceId` and `SOFA-RpcId` when
/// they were absent or changed, and always a `traceparent` naming this hop's span. The client's own copies of the
/// headers Skiff replaces are withheld.
extension HTTPExchange {
    /// Decides the trace context of the request in `head` into `r`.
    func beginTrace(_ kind: TraceSpanKind, _ r: AccessLogRecord, head: UnsafeRawBufferPointer) {
        let headers = d.requestHeaders
        r.beginSOFATrace(
            kind: kind, traceID: headers.firstValue(named: "sofa-traceid", in: head),
            rpcID: headers.firstValue(named: "sofa-rpcid", in: head))
        r.beginTraceparent(headers.firstValue(named: "traceparent", in: head))
    }

    /// The headers the upstream gets for `r`'s trace context; their values live in `r` until it is reset.
    func traceHeaders(_ r: AccessLogRecord, head: UnsafeRawBufferPointer) -> HTTPExtraHeaders {
        let headers = d.requestHeaders
        var extra = HTTPExtraHeaders()
        if r.traceSend.sendTraceID, let id = r.traceID {
            headers.withhold(named: "sofa-traceid", in: head)
            extra.append(name: "SOFA-TraceId", value: id)
        }
        if r.traceSend.sendRPCID, let id = r.rpcID {
            headers.withhold(named: "sofa-rpcid", in: head)
            extra.append(name: "SOFA-RpcId", value: id)
        }
        if let parent = r.traceparent {
            headers.withhold(named: "traceparent", in: head)
            extra.append(name: "traceparent", value: parent)
        }
        return extra
    }
}
