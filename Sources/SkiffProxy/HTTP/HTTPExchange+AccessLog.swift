import SkiffAccessLog
import SkiffHTTP2
import SkiffNet
import SkiffProtocol

/// Access logs (`ListenerAccessLog`): one line per request, local replies and refusals included. While the
/// listener has none, a request pays one nil check. With them, the exchange fills its one reused record as the request
/// goes (arrival, sent upstream, response head, end), copies the headers the formats print while their bytes are
/// still in memory, and formats the line on this executor when the request ends; the writer thread does the I/O.
extension HTTPExchange {
    /// Called by `start` when the listener has access logs (`log`, borrowed from the request's routing).
    @inline(__always)
    func beginLog(_ log: Unmanaged<ListenerAccessLog>, head: UnsafeRawBufferPointer) {
        if log.toOpaque() != logRef?.toOpaque() { adopt(log.takeUnretainedValue()) }
        let startNs = self.startNs
        let bodyLength: UInt64 = if case .contentLength(let len) = d.request.bodyKind { UInt64(len) } else { 0 }
        let complete = requestComplete
        logRecordRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { r in
            r.reset()
            r.startNs = startNs
            // A small body travels with the head and is never counted by the body tracker: its declared length.
            r.bytesReceived = bodyLength
            if complete { r.requestFinishedNs = startNs }
        }
        if log._withUnsafeGuaranteedRef({ $0.capturesRequestHeaders }) {
            captureRequestHeaders(log.takeUnretainedValue().plan, head: head)
        }
        if let kind = log._withUnsafeGuaranteedRef({ $0.tracing }) {
            beginTrace(kind, logRecordRef.unsafelyUnwrapped.takeUnretainedValue(), head: head)
        }
        logging = true
    }

    /// A request the codec refused (400, 408, 413, 431 ...) after some of it arrived: logged with what is known
    /// (no headers: the head was not parsed).
    func beginRefusedLog() {
        guard let log = manager.routing.value(on: executor).accessLog else { return }
        if Unmanaged.passUnretained(log).toOpaque() != logRef?.toOpaque() { adopt(log) }
        let r = logRecord.unsafelyUnwrapped
        r.reset()
        startNs = MonotonicClock.now()
        r.startNs = startNs
        r.requestFinishedNs = startNs
        requestBody = HTTPBodyTracker(kind: .none)
        logging = true
    }

    /// The first request, or the first after a reload changed the logs (their captures may differ): a record of
    /// their size, with what stays the same for every request of this connection.
    @inline(never)
    private func adopt(_ log: ListenerAccessLog) {
        releaseLogRecord()
        accessLog = log
        logRef = Unmanaged.passUnretained(log)
        // From the log's spares on this executor: a connection per request (Connection: close) allocates none.
        let r = log.takeRecord(on: executor)
        r.proto = .http1
        r.connectionID = connection.id
        r.setDownstream(connection: connection)
        logRecord = r
        logRecordRef = Unmanaged.passUnretained(r)
    }

    /// Gives the record back to its log's spares (the connection closed, or a reload changed the logs).
    func releaseLogRecord() {
        guard let r = logRecord else { return }
        logRecord = nil
        logRecordRef = nil
        accessLog = nil
        logRef = nil
        ListenerAccessLog.giveBack(r, on: executor)
    }

    private func captureRequestHeaders(_ plan: AccessLogCapturePlan, head: UnsafeRawBufferPointer) {
        let r = logRecord.unsafelyUnwrapped
        let request = d.request
        for h in plan.requestHeaders {
            for name in h.names {
                let value: UnsafeRawBufferPointer?
                switch name.first {
                case UInt8(ascii: ":"):
                    value = Self.pseudoHeader(name, request: request, head: head)
                default:
                    value = d.requestHeaders.firstValue(named: name, in: head)
                }
                if let value {
                    r.capture(h.slot, value)
                    break
                }
            }
        }
    }

    /// Envoy's `:method`, `:path` (the request target as sent) and `:authority` (Host, or the absolute form's).
    private static func pseudoHeader(
        _ name: [UInt8], request: HTTPRequestHead, head: UnsafeRawBufferPointer
    ) -> UnsafeRawBufferPointer? {
        switch String(decoding: name, as: UTF8.self) {
        case ":method": return request.methodRange.bytes(in: head)
        case ":path": return request.targetRange.bytes(in: head)
        case ":authority": return (request.hostRange ?? request.authorityRange)?.bytes(in: head)
        default: return nil
        }
    }

    /// The request went out on `u` (each try: the last one is what the line shows).
    @inline(__always)
    func logSent(_ u: HTTPUpstream) {
        let now = MonotonicClock.now()
        let id = u.connection?.id ?? 0
        logRecordRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { r in
            r.requestSentNs = now
            r.upstreamConnectionID = id
        }
    }

    /// The request went out as a stream on the HTTP/2 connection `connectionID` (each try: the last one shows).
    func logSent(connectionID: UInt64) {
        let now = MonotonicClock.now()
        logRecordRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { r in
            r.requestSentNs = now
            r.upstreamConnectionID = connectionID
        }
    }

    /// The final response head arrived from an HTTP/2 upstream and is being forwarded.
    func logResponseHead(_ block: HTTP2HeaderBlock, status: Int) {
        guard let r = logRecord, let log = accessLog else { return }
        r.responseHead(block, status: status, log: log)
    }

    /// The final response head arrived and is being forwarded.
    @inline(__always)
    func logResponseHead(_ u: HTTPUpstream, head: UnsafeRawBufferPointer, status: Int) {
        let now = MonotonicClock.now()
        logRecordRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { r in
            r.responseHeadNs = now
            r.responseCode = status
        }
        if logRef.unsafelyUnwrapped._withUnsafeGuaranteedRef({ $0.capturesResponseHeaders }) {
            captureResponseHeaders(u, head: head)
        }
    }

    private func captureResponseHeaders(_ u: HTTPUpstream, head: UnsafeRawBufferPointer) {
        guard let plan = accessLog?.plan, let r = logRecord else { return }
        for h in plan.responseHeaders {
            for name in h.names {
                if let v = u.response.headers.firstValue(named: name, in: head) {
                    r.capture(h.slot, v)
                    break
                }
            }
        }
    }

    /// A local reply's headers, for `%RESP(...)%`: `server`, `x-skiff-reason`, `content-type`, `content-length`
    /// and `location`, as `HTTPLocalReply` writes them.
    func logLocalReplyHeaders(reason: StaticString, location: [UInt8]?, contentLength: Int) {
        guard let plan = accessLog?.plan, !plan.responseHeaders.isEmpty else { return }
        let r = logRecord.unsafelyUnwrapped
        for h in plan.responseHeaders {
            for name in h.names {
                let value: [UInt8]?
                switch String(decoding: name, as: UTF8.self) {
                case "server": value = Array("skiff".utf8)
                case "x-skiff-reason":
                    value = Array(UnsafeRawBufferPointer(start: reason.utf8Start, count: reason.utf8CodeUnitCount))
                case "content-type": value = Array("text/plain".utf8)
                case "content-length": value = Array("\(contentLength)".utf8)
                case "location": value = location
                default: value = nil
                }
                if let value {
                    value.withUnsafeBytes { r.capture(h.slot, $0) }
                    break
                }
            }
        }
    }

    /// Marks why the request did not end as the upstream answered (no-op while not logging).
    @inline(__always)
    func logFlag(_ f: AccessLogFlags) {
        if logging { logRecordRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.flags.insert(f) } }
    }

    /// The request is over: writes its line. `status` 0: nothing was answered.
    func endLog(status: Int, bytesSent: Int, now: UInt64) {
        logging = false
        guard let record = logRecordRef, let log = logRef else { return }
        let bodyBytes = UInt64(max(0, requestBody.bodyBytes))
        let retriesSpent = triedHosts.count > 1 && (status >= 500 || status == 0) && state.retriesLeft == 0
        let index = executorIndex
        let upstream = (
            host?.logAddress.buffer, host?.logHostname?.buffer, cluster?.logName.buffer
        )
        record._withUnsafeGuaranteedRef { r in
            r.responseCode = status
            r.bytesSent = UInt64(max(0, bytesSent))
            r.bytesReceived = max(r.bytesReceived, bodyBytes)
            r.endNs = now
            r.setUpstream(address: upstream.0, hostname: upstream.1, cluster: upstream.2)
            if retriesSpent { r.flags.insert(.retryLimitExceeded) }
            log._withUnsafeGuaranteedRef { $0.write(r, executorIndex: index) }
        }
    }

    /// The request was cut or abandoned: its line with what was answered so far.
    func endLogUnanswered(_ flag: AccessLogFlags) {
        guard logging, let r = logRecord else { return }
        r.flags.insert(flag)
        endLog(status: r.responseCode, bytesSent: upstream?.response.body.bodyBytes ?? 0, now: MonotonicClock.now())
    }
}
