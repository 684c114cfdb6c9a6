import SkiffAccessLog
import SkiffNet
import SkiffProtocol
import SkiffUpstream

/// Access logs for Bolt and Dubbo: one line per request (oneway ones when sent; heartbeats never: Skiff answers
/// them itself and they are no application traffic). A request's record comes from its log's per-executor spares,
/// travels with its stream (`RPCUpstream.Stream.logRecord`) and goes back once the line is written.
extension RPCDownstream {
    /// A record for the request in `frame` (described by `info`): arrival, connection, captures.
    func beginLog(_ log: ListenerAccessLog, frame: UnsafeRawBufferPointer) -> AccessLogRecord {
        let r = log.takeRecord(on: executor)
        r.startNs = MonotonicClock.now()
        r.requestFinishedNs = r.startNs
        r.proto = manager.logProtocol
        r.connectionID = connection.id
        r.setDownstream(accessLogAddresses)
        r.bytesReceived = UInt64(frame.count)
        if let kind = log.tracing { beginTrace(kind, r, frame: frame) }
        let plan = log.plan
        guard !plan.isEmpty else { return r }
        if let slot = plan.rpcServiceSlot, let s = info.service {
            r.capture(slot, UnsafeRawBufferPointer(rebasing: frame[s]))
        }
        if let slot = plan.rpcMethodSlot, let m = info.method {
            r.capture(slot, UnsafeRawBufferPointer(rebasing: frame[m]))
        }
        for h in plan.requestHeaders {
            for name in h.names {
                if let v = RPCHeaderLookup.value(name, info: info, frame: frame, routingFields: true) {
                    r.capture(h.slot, v)
                    break
                }
            }
        }
        return r
    }

    /// The line of a request answered here (no route, overflow, no healthy host) or a oneway one sent upstream.
    func endLogLocally(
        _ r: AccessLogRecord, kind: RPCErrorKind?, flag: AccessLogFlags, bytesSent: Int, host: Host? = nil,
        cluster: Cluster? = nil
    ) {
        endRPCLogHere(
            Codec.self, r, kind: kind, flag: flag, bytesSent: bytesSent, host: host, cluster: cluster, on: executor)
    }

    /// This connection's addresses as lines print them, made on its first logged request.
    var accessLogAddresses: AccessLogAddresses {
        if let a = logAddresses { return a }
        let a = AccessLogAddresses(connection: connection)
        logAddresses = a
        return a
    }
}

extension RPCUpstream {
    /// The stream's request went out on this connection (each try: the last one is what the line shows).
    @inline(__always)
    func logSent(_ r: AccessLogRecord) {
        r.requestSentNs = MonotonicClock.now()
        r.upstreamConnectionID = connection?.id ?? 0
    }

    /// The upstream answered the stream: its status, the response frame's captured headers, the line.
    func endLog(_ r: AccessLogRecord, response frame: UnsafeRawBufferPointer, downstreamClosed: Bool) {
        let now = MonotonicClock.now()
        r.responseHeadNs = now
        r.endNs = now
        r.rpcStatus = info.status
        r.responseCode = Codec.httpStatus(forStatus: info.status)
        r.bytesSent = downstreamClosed ? 0 : UInt64(frame.count)
        if downstreamClosed { r.flags.insert(.downstreamTerminated) }
        r.setUpstream(host: host, cluster: cluster)
        if let plan = r.owner?.plan, !plan.responseHeaders.isEmpty {
            for h in plan.responseHeaders {
                for name in h.names {
                    if let v = RPCHeaderLookup.value(name, info: info, frame: frame, routingFields: false) {
                        r.capture(h.slot, v)
                        break
                    }
                }
            }
        }
        ListenerAccessLog.finish(r, on: executor)
    }

    /// The stream failed here (timeout, connection lost): Skiff's error status, the line.
    func endLogFailed(_ r: AccessLogRecord, kind: RPCErrorKind, flag: AccessLogFlags, bytesSent: Int) {
        endRPCLogHere(
            Codec.self, r, kind: kind, flag: flag, bytesSent: bytesSent, host: host, cluster: cluster, on: executor)
    }
}

/// The line of a request that ends in Skiff rather than with an upstream's answer: Skiff's status for `kind` (none
/// for a oneway request sent on), the flag, the bytes sent, the host and cluster it was meant for.
private func endRPCLogHere<Codec: RPCCodec>(
    _: Codec.Type, _ r: AccessLogRecord, kind: RPCErrorKind?, flag: AccessLogFlags, bytesSent: Int, host: Host?,
    cluster: Cluster?, on executor: any EventExecutor
) {
    r.flags.insert(flag)
    if let kind {
        r.rpcStatus = Codec.errorStatus(for: kind)
        r.responseCode = Codec.httpStatus(forStatus: r.rpcStatus)
    }
    r.bytesSent = UInt64(bytesSent)
    r.setUpstream(host: host, cluster: cluster)
    r.endNs = MonotonicClock.now()
    ListenerAccessLog.finish(r, on: executor)
}

/// A header of an RPC frame by name, ignoring ASCII case (Bolt's header map, Dubbo's attachments); for requests the
/// routing fields too (`service`, `method`, `version`, `group`, as the router reads them).
enum RPCHeaderLookup {
    static func value(
        _ lowercaseName: [UInt8], info: RPCFrameInfo, frame: UnsafeRawBufferPointer, routingFields: Bool
    ) -> UnsafeRawBufferPointer? {
        if routingFields {
            let field: Range<Int>?
            switch String(decoding: lowercaseName, as: UTF8.self) {
            case "service": field = info.service
            case "method": field = info.method
            case "version": field = info.version
            case "group": field = info.group
            default: field = nil
            }
            if let field { return UnsafeRawBufferPointer(rebasing: frame[field]) }
        }
        for (i, r) in info.headerNames.enumerated() where r.count == lowercaseName.count {
            var same = true
            for j in 0..<r.count {
                var b = frame[r.lowerBound + j]
                if b >= 0x41 && b <= 0x5a { b |= 0x20 }
                if b != lowercaseName[j] {
                    same = false
                    break
                }
            }
            if same { return UnsafeRawBufferPointer(rebasing: frame[info.headerValues[i]]) }
        }
        return nil
    }
}
