import SkiffConfig

/// Which SOFA trace values the proxy must send upstream because they differ from what the client sent (generated,
/// or an rpc id extended).
public struct SOFATraceHeaders: Sendable, Equatable {
    public var sendTraceID = false
    public var sendRPCID = false
    public init() {}

    /// Either.
    @inline(__always)
    public var any: Bool { sendTraceID || sendRPCID }
}

/// A request's trace context (docs/tracing.md), decided once when the request is routed and kept in its record: the
/// headers sent upstream are read from here, and the access and digest lines print it.
///
/// Threads: the record's (the request's executor).
extension AccessLogRecord {
    public var traceID: UnsafeRawBufferPointer? { field(0, Int(traceCounts.0)) }
    public var rpcID: UnsafeRawBufferPointer? { field(1, Int(traceCounts.1)) }
    public var traceparent: UnsafeRawBufferPointer? { field(2, Int(traceCounts.2)) }

    @inline(__always)
    private func field(_ i: Int, _ count: Int) -> UnsafeRawBufferPointer? {
        count > 0 ? UnsafeRawBufferPointer(start: traceText + i * TraceField.capacity, count: count) : nil
    }

    /// Decides the SOFA trace id and rpc id of a request whose client sent `traceID` and `rpcID` (nil: absent). A
    /// value that is absent or malformed is generated (a new trace id; rpc id `0`). A server span registers itself so
    /// the calls made inside it are numbered; a client span with a live parent in this process becomes its next
    /// child (`R.2`, `R.3`, ...). Returns what must be sent upstream (also kept as `traceSend`).
    @discardableResult
    public func beginSOFATrace(
        kind: TraceSpanKind, traceID: UnsafeRawBufferPointer?, rpcID: UnsafeRawBufferPointer?
    ) -> SOFATraceHeaders {
        var send = SOFATraceHeaders()
        defer { traceSend = send }
        let idArea = traceText
        let rpcArea = traceText + TraceField.capacity
        if let t = traceID, TraceField.isTraceID(t) {
            UnsafeMutableRawPointer(idArea).copyMemory(from: t.baseAddress!, byteCount: t.count)
            traceCounts.0 = Int32(t.count)
        } else {
            traceCounts.0 = Int32(TraceIDSource.writeSOFATraceID(into: idArea))
            send.sendTraceID = true
            if traceID == nil {
                TraceCounters.startedAbsent.wrappingAdd(1, ordering: .relaxed)
            } else {
                TraceCounters.startedMalformed.wrappingAdd(1, ordering: .relaxed)
            }
        }
        if !send.sendTraceID, let r = rpcID, !TraceField.isRPCID(r) {
            TraceCounters.startedMalformed.wrappingAdd(1, ordering: .relaxed)
        }
        let parent = rpcID.flatMap { !send.sendTraceID && TraceField.isRPCID($0) ? $0 : nil }
        guard let parent else {
            rpcArea.pointee = 0x30  // "0"
            traceCounts.1 = 1
            send.sendRPCID = true
            if kind == .server { registerServerSpan() }
            return send
        }
        UnsafeMutableRawPointer(rpcArea).copyMemory(from: parent.baseAddress!, byteCount: parent.count)
        traceCounts.1 = Int32(parent.count)
        switch kind {
        case .server:
            registerServerSpan()
        case .client:
            let key = TraceChildren.key(traceID: self.traceID!, rpcID: parent)
            if let child = TraceChildren.shared.nextChild(key) {
                rpcArea[parent.count] = 0x2e  // "."
                let n = TraceIDSource.writeDecimal(child, into: rpcArea + parent.count + 1)
                traceCounts.1 = Int32(parent.count + 1 + n)
                send.sendRPCID = true
                TraceCounters.children.wrappingAdd(1, ordering: .relaxed)
            }
        }
        return send
    }

    private func registerServerSpan() {
        traceChildSlot = TraceChildren.shared.register(TraceChildren.key(traceID: traceID!, rpcID: rpcID!))
    }

    /// Decides the W3C `traceparent` sent upstream: the client's trace id and flags with a new parent id (this hop's
    /// span), or a new trace (flags `01`, sampled) when the client sent none Skiff can continue.
    public func beginTraceparent(_ incoming: UnsafeRawBufferPointer?) {
        let p = traceText + 2 * TraceField.capacity
        if let b = incoming, TraceField.isTraceparent(b) {
            UnsafeMutableRawPointer(p).copyMemory(from: b.baseAddress!, byteCount: 55)
        } else {
            p[0] = 0x30  // "00-"
            p[1] = 0x30
            p[2] = 0x2d
            TraceIDSource.writeHex16(TraceIDSource.random64(), into: p + 3)
            TraceIDSource.writeHex16(TraceIDSource.random64(), into: p + 19)
            p[35] = 0x2d
            p[52] = 0x2d
            p[53] = 0x30
            p[54] = 0x31
        }
        TraceIDSource.writeHex16(TraceIDSource.random64(), into: p + 36)
        traceCounts.2 = 55
    }

    /// The request is over (its line written, or dropped): a server span stops numbering children. The context stays
    /// readable until the record is reset.
    @inline(__always)
    func endTrace() {
        if traceChildSlot >= 0 {
            TraceChildren.shared.release(traceChildSlot)
            traceChildSlot = -1
        }
    }

    /// Forgets the trace context and frees the server span's slot (the request's line is written or dropped).
    @usableFromInline
    func clearTrace() {
        endTrace()
        traceCounts = (0, 0, 0)
        traceSend = SOFATraceHeaders()
    }
}
