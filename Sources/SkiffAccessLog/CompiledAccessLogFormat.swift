import SkiffConfig

/// A layout (text or JSON) turned into a flat array of small operations once, at config time: each writes one value
/// read from the record (or nothing) and then the literal text that follows it. Formatting a line walks the array
/// and writes straight into the lane's buffer: no String, no allocation, no reference counting, no lookup by name.
///
/// Immutable; shared by every executor.
final class CompiledAccessLogFormat: @unchecked Sendable {  // immutable after init
    /// How a value is written: in a text line, inside a JSON string, or as a whole JSON value (a number, `true`,
    /// a quoted string, or `null` when absent).
    enum Mode: UInt8 {
        case text
        case jsonInString
        case jsonValue
    }

    /// What an operation writes before its literal.
    enum Code: UInt8 {
        case literalOnly
        case startTime, traceID, connectionID, upstreamConnectionID
        case requestReceivedDuration, responseReceivedDuration, requestFinishedDuration, duration
        case bytesSent, bytesReceived, protocolName, responseCode, responseFlag, failureReason
        case upstreamAddress, downstreamLocal, downstreamRemote, upstreamHostname, upstreamCluster
        case responseFlags, rpcStatus, captured
    }

    /// One value and the literal after it. Trivial: the array is walked without reference counting.
    struct Op {
        var code: Code
        var mode: Mode
        /// `captured`: the slot, and the most bytes printed (0 = all).
        var slot: UInt16 = 0
        var maxLength: Int32 = 0
        var literalOffset: Int32 = 0
        var literalCount: Int32 = 0
    }

    private let ops: UnsafeMutablePointer<Op>
    let opCount: Int
    private let literals: UnsafeMutablePointer<UInt8>

    init(_ layout: AccessLogLayout, plan: AccessLogCapturePlan) {
        var blob: [UInt8] = []
        var ops: [Op] = []
        func literal(_ s: some Sequence<UInt8>) {
            let start = blob.count
            blob.append(contentsOf: s)
            let n = blob.count - start
            guard n > 0 else { return }
            if let last = ops.last, Int(last.literalOffset + last.literalCount) == start || last.literalCount == 0 {
                if last.literalCount == 0 { ops[ops.count - 1].literalOffset = Int32(start) }
                ops[ops.count - 1].literalCount += Int32(n)
            } else {
                ops.append(Op(code: .literalOnly, mode: .text, literalOffset: Int32(start), literalCount: Int32(n)))
            }
        }
        func value(_ code: Code, _ mode: Mode, slot: Int = 0, maxLength: Int = 0) {
            ops.append(Op(code: code, mode: mode, slot: UInt16(slot), maxLength: Int32(maxLength)))
        }
        func token(_ t: AccessLogToken, _ mode: Mode) {
            switch t {
            case .literal(let s):
                literal(mode == .text ? Array(s.utf8) : Self.jsonEscaped(Array(s.utf8)))
            case .variable(let v):
                switch v {
                case .rpcService: value(.captured, mode, slot: plan.rpcServiceSlot ?? 0)
                case .rpcMethod: value(.captured, mode, slot: plan.rpcMethodSlot ?? 0)
                default: value(Self.code(v), mode)
                }
            case .requestHeader(let h):
                value(.captured, mode, slot: plan.slot(request: true, names: h.names), maxLength: h.maxLength ?? 0)
            case .responseHeader(let h):
                value(.captured, mode, slot: plan.slot(request: false, names: h.names), maxLength: h.maxLength ?? 0)
            }
        }
        switch layout {
        case .text(let f):
            for t in f.tokens { token(t, .text) }
        case .json(let fields):
            literal("{".utf8)
            for (i, field) in fields.enumerated() {
                literal(((i == 0 ? "" : ",") + "\"").utf8)
                literal(Self.jsonEscaped(Array(field.key.utf8)))
                literal("\":".utf8)
                let tokens = field.value.tokens
                if tokens.count == 1, case .literal = tokens[0] {
                    literal("\"".utf8)
                    token(tokens[0], .jsonInString)
                    literal("\"".utf8)
                } else if tokens.count == 1 {
                    token(tokens[0], .jsonValue)
                } else {
                    literal("\"".utf8)
                    for t in tokens { token(t, .jsonInString) }
                    literal("\"".utf8)
                }
            }
            literal("}".utf8)
        }
        literal("\n".utf8)
        opCount = ops.count
        self.ops = .allocate(capacity: max(1, ops.count))
        self.ops.initialize(from: ops, count: ops.count)
        literals = .allocate(capacity: max(1, blob.count))
        literals.initialize(from: blob, count: blob.count)
    }

    deinit {
        ops.deallocate()
        literals.deallocate()
    }

    private static func code(_ v: AccessLogVariable) -> Code {
        switch v {
        case .startTime: .startTime
        case .traceID: .traceID
        case .connectionID: .connectionID
        case .upstreamConnectionID: .upstreamConnectionID
        case .requestReceivedDuration: .requestReceivedDuration
        case .responseReceivedDuration: .responseReceivedDuration
        case .requestFinishedDuration: .requestFinishedDuration
        case .duration: .duration
        case .bytesSent: .bytesSent
        case .bytesReceived: .bytesReceived
        case .protocolName: .protocolName
        case .responseCode: .responseCode
        case .responseFlag: .responseFlag
        case .upstreamTransportFailureReason: .failureReason
        case .upstreamLocalAddress, .upstreamHostAddress: .upstreamAddress
        case .downstreamLocalAddress: .downstreamLocal
        case .downstreamRemoteAddress: .downstreamRemote
        case .upstreamHost: .upstreamHostname
        case .upstreamCluster: .upstreamCluster
        case .responseFlags: .responseFlags
        case .rpcStatus: .rpcStatus
        case .rpcService, .rpcMethod: .captured
        }
    }

    // MARK: - Writing a line

    /// Writes the line for `r`; `time` is the lane's `start_time` cache. Stops at the first value that does not fit
    /// (`c.overflow`): the lane starts the line again in a fresh buffer.
    func write(_ r: AccessLogRecord, time: UnsafeMutablePointer<StartTimeCache>, into c: inout LineCursor) {
        var op = ops
        let end = ops + opCount
        while op < end {
            let o = op.pointee
            switch o.code {
            case .literalOnly:
                break
            case .startTime:
                if r.startNs == 0 {
                    absent(o.mode, &c)
                } else {
                    quote(o.mode, &c)
                    time.pointee.write(r.startNs, into: &c)
                    quote(o.mode, &c)
                }
            case .traceID:
                absent(o.mode, &c)
            case .connectionID:
                if r.connectionID == 0 { absent(o.mode, &c) } else { c.decimal(r.connectionID) }
            case .upstreamConnectionID:
                if r.upstreamConnectionID == 0 { absent(o.mode, &c) } else { c.decimal(r.upstreamConnectionID) }
            case .requestReceivedDuration:
                duration(r.startNs, r.requestSentNs, o.mode, &c)
            case .responseReceivedDuration:
                duration(r.startNs, r.responseHeadNs, o.mode, &c)
            case .requestFinishedDuration:
                duration(r.startNs, r.requestFinishedNs, o.mode, &c)
            case .duration:
                duration(r.startNs, r.endNs, o.mode, &c)
            case .bytesSent:
                c.decimal(r.bytesSent)
            case .bytesReceived:
                c.decimal(r.bytesReceived)
            case .protocolName:
                quote(o.mode, &c)
                staticText(r.proto.text, &c)
                quote(o.mode, &c)
            case .responseCode:
                c.decimal(UInt64(max(0, r.responseCode)))
            case .responseFlag:
                staticText(r.flags.mosnBits != 0 ? "true" : "false", &c)
            case .failureReason:
                quote(o.mode, &c)
                c.hex(UInt64(r.flags.mosnBits))
                quote(o.mode, &c)
            case .upstreamAddress:
                plain(r.upstreamAddress, o.mode, &c)
            case .downstreamLocal:
                plain(r.downstreamLocal, o.mode, &c)
            case .downstreamRemote:
                plain(r.downstreamRemote, o.mode, &c)
            case .upstreamHostname:
                configText(r.upstreamHostname, o.mode, &c)
            case .upstreamCluster:
                configText(r.clusterName, o.mode, &c)
            case .responseFlags:
                responseFlags(r.flags, o.mode, &c)
            case .rpcStatus:
                if r.rpcStatus < 0 { absent(o.mode, &c) } else { c.decimal(UInt64(r.rpcStatus)) }
            case .captured:
                captured(r, o, &c)
            }
            if o.literalCount > 0 {
                guard c.reserve(Int(o.literalCount)) else { return }
                c.unchecked(UnsafeRawBufferPointer(start: literals + Int(o.literalOffset), count: Int(o.literalCount)))
            }
            op += 1
        }
    }

    @inline(__always)
    private func absent(_ mode: Mode, _ c: inout LineCursor) {
        if mode == .jsonValue {
            staticText("null", &c)
        } else {
            c.dash()
        }
    }

    /// The quote around a string written as a whole JSON value.
    @inline(__always)
    private func quote(_ mode: Mode, _ c: inout LineCursor) {
        if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
    }

    @inline(__always)
    private func staticText(_ s: StaticString, _ c: inout LineCursor) {
        c.bytes(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always)
    private func duration(_ from: UInt64, _ to: UInt64, _ mode: Mode, _ c: inout LineCursor) {
        let ns: Int64 = to == 0 || from == 0 ? 0 : Int64(bitPattern: to &- from)
        quote(mode, &c)
        c.goDuration(ns)
        quote(mode, &c)
    }

    /// Skiff's own text (addresses): nothing in it needs escaping.
    @inline(__always)
    private func plain(_ value: UnsafeRawBufferPointer?, _ mode: Mode, _ c: inout LineCursor) {
        guard let value else { return absent(mode, &c) }
        quote(mode, &c)
        c.bytes(value)
        quote(mode, &c)
    }

    /// Text from the config (a hostname, a cluster name): as written in a text line, escaped in JSON.
    @inline(__always)
    private func configText(_ value: UnsafeRawBufferPointer?, _ mode: Mode, _ c: inout LineCursor) {
        guard let value else { return absent(mode, &c) }
        if mode == .text { return c.bytes(value) }
        quote(mode, &c)
        c.jsonEscaped(value)
        quote(mode, &c)
    }

    private func responseFlags(_ flags: AccessLogFlags, _ mode: Mode, _ c: inout LineCursor) {
        guard flags.rawValue != 0 else { return absent(mode, &c) }
        quote(mode, &c)
        var first = true
        for (flag, code) in AccessLogFlags.envoyCodes where flags.contains(flag) {
            if !first { c.byte(UInt8(ascii: ",")) }
            first = false
            staticText(code, &c)
        }
        quote(mode, &c)
    }

    /// A captured value (a header, an RPC service or method), escaped: it comes from the peer.
    private func captured(_ r: AccessLogRecord, _ o: Op, _ c: inout LineCursor) {
        guard var value = r.captured(Int(o.slot)) else { return absent(o.mode, &c) }
        if o.maxLength > 0 && value.count > Int(o.maxLength) {
            value = UnsafeRawBufferPointer(rebasing: value[0..<Int(o.maxLength)])
        }
        switch o.mode {
        case .text:
            c.textEscaped(value)
        case .jsonInString:
            c.jsonEscaped(value)
        case .jsonValue:
            c.byte(UInt8(ascii: "\""))
            c.jsonEscaped(value)
            c.byte(UInt8(ascii: "\""))
        }
    }

    /// `s` escaped for inside a JSON string (config text: keys and literals).
    static func jsonEscaped(_ s: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: s.count * 6 + 1)
        let n = out.withUnsafeMutableBufferPointer { buf -> Int in
            var c = LineCursor(buf)
            s.withUnsafeBytes { c.jsonEscaped($0) }
            return c.pointer - buf.baseAddress!
        }
        return Array(out[0..<n])
    }
}
