import SkiffAccessLog
import SkiffConfig
import SkiffHTTP2

/// Tracing on HTTP/2 upstream requests (docs/tracing.md), as `HTTPExchange+Trace.swift` does for HTTP/1.1: the block
/// sent upstream carries `sofa-traceid` and `sofa-rpcid` when the record decided they were absent or changed, and
/// always a `traceparent` naming this hop's span, replacing the client's copies.
extension HTTP2HeaderBlock {
    func applyTrace(_ r: AccessLogRecord) {
        if r.traceSend.sendTraceID, let id = r.traceID { replace("sofa-traceid", value: id) }
        if r.traceSend.sendRPCID, let id = r.rpcID { replace("sofa-rpcid", value: id) }
        if let parent = r.traceparent { replace("traceparent", value: parent) }
    }
}

extension AccessLogRecord {
    /// Decides the trace context of a request whose header block is `block` (an HTTP/2 stream's, as it arrived).
    func beginTrace(_ kind: TraceSpanKind, headers block: HTTP2HeaderBlock) {
        beginSOFATrace(kind: kind, traceID: block.first("sofa-traceid"), rpcID: block.first("sofa-rpcid"))
        beginTraceparent(block.first("traceparent"))
    }
}
