import SkiffConfig

/// A layout (text or JSON) turned into a flat list of operations once, at config time: literal runs copied as bytes,
/// variables read from the record, captured values by slot. Formatting a line walks the list and writes straight
/// into the lane's buffer: no String, no allocation, no lookup by name.
///
/// Immutable; shared by every executor.
final class CompiledAccessLogFormat: @unchecked Sendable {  // immutable after init; `literals` is never written
    /// How a value is written: in a text line, inside a JSON string, or as a whole JSON value (a number, `true`,
    /// a quoted string, or `null` when absent).
    enum Mode: UInt8 {
        case text
        case jsonInString
        case jsonValue
    }

    enum Op {
        /// `count` bytes of `literals` from `offset`.
        case literal(offset: Int, count: Int)
        case variable(AccessLogVariable, Mode)
        /// A captured value; cut to `maxLength` bytes (0 = whole).
        case captured(slot: Int, maxLength: Int, Mode)
    }

    let ops: [Op]
    private let literals: UnsafeMutablePointer<UInt8>
    private let literalBytes: Int

    init(_ layout: AccessLogLayout, plan: AccessLogCapturePlan) {
        var blob: [UInt8] = []
        var ops: [Op] = []
        func literal(_ s: some Sequence<UInt8>) {
            let start = blob.count
            blob.append(contentsOf: s)
            let n = blob.count - start
            guard n > 0 else { return }
            // Adjacent literals merge into one copy.
            if case .literal(let o, let c)? = ops.last, o + c == start {
                ops[ops.count - 1] = .literal(offset: o, count: c + n)
            } else {
                ops.append(.literal(offset: start, count: n))
            }
        }
        func token(_ t: AccessLogToken, _ mode: Mode) {
            switch t {
            case .literal(let s):
                if mode == .text {
                    literal(s.utf8)
                } else {
                    literal(Self.jsonEscaped(Array(s.utf8)))
                }
            case .variable(let v):
                if let slot = v == .rpcService ? plan.rpcServiceSlot : v == .rpcMethod ? plan.rpcMethodSlot : nil {
                    ops.append(.captured(slot: slot, maxLength: 0, mode))
                } else {
                    ops.append(.variable(v, mode))
                }
            case .requestHeader(let h):
                ops.append(.captured(slot: plan.slot(request: true, names: h.names), maxLength: h.maxLength ?? 0, mode))
            case .responseHeader(let h):
                ops.append(.captured(slot: plan.slot(request: false, names: h.names), maxLength: h.maxLength ?? 0, mode))
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
        self.ops = ops
        literalBytes = blob.count
        literals = .allocate(capacity: max(1, blob.count))
        literals.initialize(from: blob, count: blob.count)
    }

    deinit { literals.deallocate() }

    /// Writes the line for `r`; `time` caches the seconds of `start_time`.
    func write(_ r: AccessLogRecord, time: StartTimeText, into c: inout LineCursor) {
        for op in ops {
            switch op {
            case .literal(let offset, let count):
                c.bytes(UnsafeRawBufferPointer(start: literals + offset, count: count))
            case .variable(let v, let mode):
                variable(v, mode, r, time, &c)
            case .captured(let slot, let maxLength, let mode):
                guard var value = r.captured(slot) else {
                    absent(mode, &c)
                    continue
                }
                if maxLength > 0 && value.count > maxLength {
                    value = UnsafeRawBufferPointer(rebasing: value[0..<maxLength])
                }
                string(value, mode, trusted: false, &c)
            }
            if c.overflow { return }
        }
    }

    @inline(__always)
    private func absent(_ mode: Mode, _ c: inout LineCursor) {
        if mode == .jsonValue {
            let null: StaticString = "null"
            c.bytes(UnsafeRawBufferPointer(start: null.utf8Start, count: 4))
        } else {
            c.dash()
        }
    }

    /// A string value; `trusted` ones (Skiff's own text: addresses, names) need no escaping in a text line.
    @inline(__always)
    private func string(_ value: UnsafeRawBufferPointer, _ mode: Mode, trusted: Bool, _ c: inout LineCursor) {
        switch mode {
        case .text:
            if trusted { c.bytes(value) } else { c.textEscaped(value) }
        case .jsonInString:
            c.jsonEscaped(value)
        case .jsonValue:
            c.byte(UInt8(ascii: "\""))
            c.jsonEscaped(value)
            c.byte(UInt8(ascii: "\""))
        }
    }

    @inline(__always)
    private func bytes(_ value: [UInt8]?, _ mode: Mode, trusted: Bool, _ c: inout LineCursor) {
        guard let value else { return absent(mode, &c) }
        value.withUnsafeBytes { string($0, mode, trusted: trusted, &c) }
    }

    /// A number: bare in text and as a JSON value, inside the string otherwise.
    @inline(__always)
    private func number(_ v: UInt64, _ c: inout LineCursor) { c.decimal(v) }

    private func duration(_ from: UInt64, _ to: UInt64, _ mode: Mode, _ c: inout LineCursor) {
        let ns: Int64 = to == 0 || from == 0 ? 0 : Int64(bitPattern: to &- from)
        if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
        c.goDuration(ns)
        if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
    }

    private func staticText(_ s: StaticString, _ mode: Mode, _ c: inout LineCursor) {
        let b = UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
        if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
        c.bytes(b)
        if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
    }

    private func variable(
        _ v: AccessLogVariable, _ mode: Mode, _ r: AccessLogRecord, _ time: StartTimeText, _ c: inout LineCursor
    ) {
        switch v {
        case .startTime:
            guard r.startWallNs != 0 else { return absent(mode, &c) }
            if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
            time.write(r.startWallNs, into: &c)
            if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
        case .traceID:
            absent(mode, &c)
        case .connectionID:
            if r.connectionID == 0 { absent(mode, &c) } else { number(r.connectionID, &c) }
        case .upstreamConnectionID:
            if r.upstreamConnectionID == 0 { absent(mode, &c) } else { number(r.upstreamConnectionID, &c) }
        case .requestReceivedDuration:
            duration(r.startNs, r.requestSentNs, mode, &c)
        case .responseReceivedDuration:
            duration(r.startNs, r.responseHeadNs, mode, &c)
        case .requestFinishedDuration:
            duration(r.startNs, r.requestFinishedNs, mode, &c)
        case .duration:
            duration(r.startNs, r.endNs, mode, &c)
        case .bytesSent:
            number(r.bytesSent, &c)
        case .bytesReceived:
            number(r.bytesReceived, &c)
        case .protocolName:
            staticText(r.proto.text, mode, &c)
        case .responseCode:
            c.decimal(r.responseCode)
        case .responseFlag:
            staticText(r.flags.mosnBits != 0 ? "true" : "false", mode == .jsonValue ? .text : mode, &c)
        case .upstreamTransportFailureReason:
            if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
            c.hex(UInt64(r.flags.mosnBits))
            if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
        case .upstreamLocalAddress, .upstreamHostAddress:
            bytes(r.host?.addressText, mode, trusted: true, &c)
        case .downstreamLocalAddress:
            bytes(r.addresses?.local, mode, trusted: true, &c)
        case .downstreamRemoteAddress:
            bytes(r.addresses?.remote, mode, trusted: true, &c)
        case .upstreamHost:
            bytes(r.host?.hostnameText, mode, trusted: false, &c)
        case .upstreamCluster:
            bytes(r.cluster?.nameText, mode, trusted: false, &c)
        case .responseFlags:
            guard r.flags.rawValue != 0 else { return absent(mode, &c) }
            if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
            var first = true
            for (flag, code) in AccessLogFlags.envoyCodes where r.flags.contains(flag) {
                if !first { c.byte(UInt8(ascii: ",")) }
                first = false
                c.bytes(UnsafeRawBufferPointer(start: code.utf8Start, count: code.utf8CodeUnitCount))
            }
            if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
        case .rpcService, .rpcMethod:
            absent(mode, &c)  // compiled to captured slots; reached only without a plan
        case .rpcStatus:
            if r.rpcStatus < 0 { absent(mode, &c) } else { c.decimal(r.rpcStatus) }
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
