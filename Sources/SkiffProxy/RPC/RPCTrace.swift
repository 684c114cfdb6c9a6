import SkiffAccessLog
import SkiffConfig
import SkiffNet
import SkiffProtocol

/// Tracing for Bolt and Dubbo (docs/tracing.md): on a traced listener each request's trace context is decided into
/// its record from SOFA's header-map keys, and a Bolt request whose trace id or rpc id was absent or changed goes
/// upstream as a copy carrying the new values. Dubbo requests are traced (digest lines, access-log ids) from generated
/// ids and forwarded unchanged: their attachments sit inside the Hessian body.
extension RPCDownstream {
    /// Decides `r`'s trace context for the request in `frame` (as it arrives: a local reply's line has it too).
    func beginTrace(_ kind: TraceSpanKind, _ r: AccessLogRecord, frame: UnsafeRawBufferPointer) {
        r.beginSOFATrace(
            kind: kind, traceID: header(SOFATraceKeys.traceID, frame), rpcID: header(SOFATraceKeys.rpcID, frame))
    }

    /// The frame to send instead of `frame` when it must carry values of `r`'s trace context that differ from the
    /// client's (the caller releases it); nil to send `frame` itself.
    func tracedCopy(_ r: AccessLogRecord, frame: UnsafeRawBufferPointer) -> ByteBuffer? {
        var edits = RPCHeaderEdits()
        if r.traceSend.sendTraceID, let id = r.traceID { edits.set(SOFATraceKeys.traceID, id) }
        if r.traceSend.sendRPCID, let id = r.rpcID { edits.set(SOFATraceKeys.rpcID, id) }
        // Dubbo's attachments are not editable here: no copy to make.
        guard edits.count > 0, manager.logProtocol != .dubbo else { return nil }
        let room = frame.count + 256
        let out = room <= connection.bufferPool.bufferSize ? connection.bufferPool.acquire() : ByteBuffer(capacity: room)
        guard let n = Codec.writeWithHeaders(frame, edits, into: out.writePointer, capacity: out.writableBytes) else {
            out.release()
            TraceCounters.editFailed.wrappingAdd(1, ordering: .relaxed)
            return nil
        }
        out.writerIndex = n
        return out
    }

    private func header(_ name: StaticString, _ frame: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        info.header(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), in: frame)
    }
}

/// SOFARPC's header-map keys for the trace context (sofa-rpc `RpcTraceContext`), case-sensitive.
enum SOFATraceKeys {
    static let traceID: StaticString = "rpc_trace_context.sofaTraceId"
    static let rpcID: StaticString = "rpc_trace_context.sofaRpcId"
}
