import SkiffAccessLog
import SkiffConfig
import SkiffHTTP2
import SkiffNet

/// What the access log and tracing read from HTTP/2 header blocks. Tracing on HTTP/2 upstream requests (docs/tracing.md), as `HTTPExchange+Trace.swift` does for HTTP/1.1: the block
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
    /// The final response head from an HTTP/2 upstream: when it came, its status, and the fields `log`'s formats
    /// print.
    func responseHead(_ block: HTTP2HeaderBlock, status: Int, log: ListenerAccessLog) {
        responseHeadNs = MonotonicClock.now()
        responseCode = status
        guard log.capturesResponseHeaders else { return }
        for h in log.plan.responseHeaders {
            for name in h.names {
                if let i = name.withUnsafeBytes({ block.index(of: $0) }) {
                    capture(h.slot, block.value(i))
                    break
                }
            }
        }
    }

    /// Decides the trace context of a request whose header block is `block` (an HTTP/2 stream's, as it arrived).
    func beginTrace(_ kind: TraceSpanKind, headers block: HTTP2HeaderBlock) {
        beginSOFATrace(kind: kind, traceID: block.first("sofa-traceid"), rpcID: block.first("sofa-rpcid"))
        beginTraceparent(block.first("traceparent"))
    }
}
