import SkiffAccessLog
import SkiffHTTP2
import SkiffNet

/// Access logs for HTTP/2 streams (and, on a traced listener, the stream's trace context, sent upstream by
/// `HTTP2HeaderBlock.applyTrace`): one line per stream, local replies and resets included, in the listener's
/// formats (`%protocol%` is `Http2`; `%REQ(:path)%` and the other pseudo-headers read the stream's own). While the
/// listener has none, a stream pays one nil check. With them, the stream takes a record from its log's spares on this
/// executor at the start, fills it as the stream goes, and writes and gives it back when the stream ends.
extension HTTP2ProxyStream {
    func beginLog(_ log: ListenerAccessLog, headers block: HTTP2HeaderBlock) {
        let r = log.takeRecord(on: d.executor)
        r.reset()
        r.proto = .http2
        r.connectionID = d.connection.id
        r.setDownstream(connection: d.connection)
        r.startNs = startNs
        if requestComplete { r.requestFinishedNs = startNs }
        if log.capturesRequestHeaders {
            for h in log.plan.requestHeaders {
                for name in h.names {
                    if let i = name.withUnsafeBytes({ block.index(of: $0) }) {
                        r.capture(h.slot, block.value(i))
                        break
                    }
                }
            }
        }
        if let kind = log.tracing { r.beginTrace(kind, headers: block) }
        accessLog = log
        logRecord = r
    }

    func logRequestFinished() { logRecord?.requestFinishedNs = MonotonicClock.now() }

    /// The request went out on the upstream connection `connectionID` (each try: the last one is what the line
    /// shows).
    func logSent(connectionID: UInt64) {
        guard let r = logRecord else { return }
        r.requestSentNs = MonotonicClock.now()
        r.upstreamConnectionID = connectionID
    }

    func logResponseHead(_ block: HTTP2HeaderBlock, status: Int) {
        guard let r = logRecord, let log = accessLog else { return }
        r.responseHead(block, status: status, log: log)
    }

    /// Why the stream did not end as the upstream answered.
    func logFlag(_ f: AccessLogFlags) { logRecord?.flags.insert(f) }

    /// The stream is over: its line, then the record back to the log's spares.
    func endLog() {
        guard let r = logRecord, let log = accessLog else { return }
        logRecord = nil
        accessLog = nil
        r.responseCode = status
        r.bytesSent = UInt64(responseBodyBytes)
        r.bytesReceived = UInt64(requestBodyBytes)
        r.endNs = MonotonicClock.now()
        r.setUpstream(host: host, cluster: cluster)
        log.write(r, executorIndex: d.executor.executorIndex)
        ListenerAccessLog.giveBack(r, on: d.executor)
    }
}
