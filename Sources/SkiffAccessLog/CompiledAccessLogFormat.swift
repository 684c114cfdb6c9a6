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
        case rpcID, traceparent, spanEndTime, traceResultCode
    }

    /// One value and the literal after it: one separator byte (the usual space), or a run of `literals`.
    /// Trivial: the array is walked without reference counting.
    struct Op {
        var code: Code
        var mode: Mode
        /// The one byte that follows the value (0: none, or a longer literal).
        var separator: UInt8 = 0
        /// `captured`: the slot, and the most bytes printed (0 = all).
        var slot: UInt16 = 0
        var maxLength: Int32 = 0
        var literalOffset: Int32 = 0
        var literalCount: Int32 = 0
    }

    private let ops: UnsafeMutablePointer<Op>
    let opCount: Int
    private let literals: UnsafeMutablePointer<UInt8>
    /// The most bytes a line takes apart from borrowed texts and captured values (`maxLength` adds those).
    private let fixedMax: Int
    /// How many times each borrowed text is printed: upstream address, downstream local, downstream remote,
    /// hostname, cluster name.
    private let textUses: (Int, Int, Int, Int, Int)
    /// The captured values printed: slot and cut length (0 = whole), for `maxLength`.
    private let captures: [(slot: Int, maxLength: Int)]
    /// A bound on any line without captured values: borrowed texts at their longest (`maxTextBytes`). A lane with
    /// this much room skips `maxLength`.
    let roomyBound: Int
    /// Whether lines may hold captured values (then `roomyBound` does not cover them).
    let hasCaptures: Bool
    /// The longest borrowed text: an address (`[IPv6]:port`, 47) or a configured name, cut there.
    static let maxTextBytes = 256
    /// MOSN's default text format: written by `MOSNDefaultLine` (the operations still give its bounds).
    let isMOSNDefault: Bool

    init(_ layout: AccessLogLayout, plan: AccessLogCapturePlan) {
        isMOSNDefault = layout == .text(.mosnDefault)
        var blob: [UInt8] = []
        var ops: [Op] = []
        // Literal bytes after each op, merged; turned into separators or runs once all are known.
        var after: [[UInt8]] = []
        var leading: [UInt8] = []
        func literal(_ s: some Sequence<UInt8>) {
            if ops.isEmpty { leading += s } else { after[after.count - 1] += s }
        }
        func value(_ code: Code, _ mode: Mode, slot: Int = 0, maxLength: Int = 0) {
            ops.append(Op(code: code, mode: mode, slot: UInt16(slot), maxLength: Int32(maxLength)))
            after.append([])
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
        if !leading.isEmpty {
            ops.insert(Op(code: .literalOnly, mode: .text), at: 0)
            after.insert(leading, at: 0)
        }
        var fixed = 0
        var uses = (0, 0, 0, 0, 0)
        var captures: [(slot: Int, maxLength: Int)] = []
        for i in ops.indices {
            let text = after[i]
            if text.count == 1 {
                ops[i].separator = text[0]
            } else if !text.isEmpty {
                ops[i].literalOffset = Int32(blob.count)
                ops[i].literalCount = Int32(text.count)
                blob += text
            }
            fixed += text.count + Self.maxValueBytes(ops[i].code)
            switch ops[i].code {
            case .upstreamAddress: uses.0 += 1
            case .downstreamLocal: uses.1 += 1
            case .downstreamRemote: uses.2 += 1
            case .upstreamHostname: uses.3 += 1
            case .upstreamCluster: uses.4 += 1
            case .captured: captures.append((Int(ops[i].slot), Int(ops[i].maxLength)))
            default: break
            }
        }
        fixedMax = fixed
        textUses = uses
        self.captures = captures
        roomyBound = fixed + 6 * Self.maxTextBytes * (uses.0 + uses.1 + uses.2 + uses.3 + uses.4)
        hasCaptures = !captures.isEmpty
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
        case .rpcID: .rpcID
        case .traceparent: .traceparent
        case .spanEndTime: .spanEndTime
        case .traceResultCode: .traceResultCode
        }
    }

    // MARK: - Sizes

    /// The most bytes a value of `code` takes beyond its borrowed or captured text (quotes and `null` included).
    private static func maxValueBytes(_ code: Code) -> Int {
        switch code {
        case .literalOnly: 0
        case .startTime: 25
        case .traceID, .rpcID, .traceparent: TraceField.capacity + 2
        case .spanEndTime: 25
        case .traceResultCode: 4
        case .connectionID, .upstreamConnectionID, .bytesSent, .bytesReceived, .responseCode, .rpcStatus:
            LineCursor.maxDecimal + 2
        case .requestReceivedDuration, .responseReceivedDuration, .requestFinishedDuration, .duration:
            GoDuration.maxBytes + 2
        case .protocolName: 8
        case .responseFlag: 5
        case .failureReason: LineCursor.maxHex + 2
        case .upstreamAddress, .downstreamLocal, .downstreamRemote, .upstreamHostname, .upstreamCluster, .captured: 6
        case .responseFlags: AccessLogFlags.envoyCodes.reduce(2) { $0 + $1.1.utf8CodeUnitCount + 1 }
        }
    }

    /// The most bytes `r`'s line can take: the lane makes that much room before writing, so nothing is checked
    /// while it writes. Borrowed and captured texts count six bytes per byte (JSON's worst escape).
    @inline(__always)
    func maxLength(_ r: AccessLogRecord) -> Int {
        var n = fixedMax
        let (ua, dl, dr, h, cl) = textUses
        if ua > 0 { n &+= ua &* 6 &* (r.upstreamAddress?.count ?? 0) }
        if dl > 0 { n &+= dl &* 6 &* (r.downstreamLocal?.count ?? 0) }
        if dr > 0 { n &+= dr &* 6 &* (r.downstreamRemote?.count ?? 0) }
        if h > 0 { n &+= h &* 6 &* (r.upstreamHostname?.count ?? 0) }
        if cl > 0 { n &+= cl &* 6 &* (r.clusterName?.count ?? 0) }
        for c in captures {
            guard let v = r.captured(c.slot) else { continue }
            n &+= 6 &* (c.maxLength > 0 ? min(c.maxLength, v.count) : v.count)
        }
        return n
    }

    // MARK: - Writing a line

    /// Writes the line for `r` at `start`, which has `maxLength(r)` bytes of room; returns where it ends. `time` is
    /// the lane's `start_time` cache.
    @inline(__always)
    func write(
        _ r: AccessLogRecord, time: UnsafeMutablePointer<StartTimeCache>, at start: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8> {
        if isMOSNDefault { return MOSNDefaultLine.write(r, time: time, at: start) }
        return walk(r, time: time, at: start)
    }

    /// `write` by walking the operations: any format.
    func walk(
        _ r: AccessLogRecord, time: UnsafeMutablePointer<StartTimeCache>, at start: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8> {
        var c = LineCursor(start: start)
        let literals = self.literals
        var op = ops
        let end = ops + opCount
        while op < end {
            let o = op.pointee
            switch o.code {
            case .literalOnly:
                break
            case .startTime:
                timestamp(r.startNs, o.mode, time, &c)
            case .traceID:
                plain(r.traceID, o.mode, &c)
            case .rpcID:
                plain(r.rpcID, o.mode, &c)
            case .traceparent:
                plain(r.traceparent, o.mode, &c)
            case .spanEndTime:
                timestamp(r.endNs, o.mode, time, &c, dashed: true)
            case .traceResultCode:
                quote(o.mode, &c)
                c.bytes(Self.traceResultCode(r.responseCode))
                quote(o.mode, &c)
            case .connectionID:
                if r.connectionID == 0 { absent(o.mode, &c) } else { c.decimal(r.connectionID) }
            case .upstreamConnectionID:
                if r.upstreamConnectionID == 0 { absent(o.mode, &c) } else { c.decimal(r.upstreamConnectionID) }
            case .requestReceivedDuration:
                c.pointer = Self.duration(r.startNs, r.requestSentNs, o.mode, at: c.pointer)
            case .responseReceivedDuration:
                c.pointer = Self.duration(r.startNs, r.responseHeadNs, o.mode, at: c.pointer)
            case .requestFinishedDuration:
                c.pointer = Self.duration(r.startNs, r.requestFinishedNs, o.mode, at: c.pointer)
            case .duration:
                c.pointer = Self.duration(r.startNs, r.endNs, o.mode, at: c.pointer)
            case .bytesSent:
                c.decimal(r.bytesSent)
            case .bytesReceived:
                c.decimal(r.bytesReceived)
            case .protocolName:
                quote(o.mode, &c)
                c.bytes(r.proto.text)
                quote(o.mode, &c)
            case .responseCode:
                c.decimal(UInt64(max(0, r.responseCode)))
            case .responseFlag:
                c.bytes(r.flags.mosnBits != 0 ? "true" : "false")
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
                c.pointer = Self.responseFlags(r.flags, o.mode, at: c.pointer)
            case .rpcStatus:
                if r.rpcStatus < 0 { absent(o.mode, &c) } else { c.decimal(UInt64(r.rpcStatus)) }
            case .captured:
                c.pointer = Self.captured(r, o, at: c.pointer)
            }
            if o.separator != 0 {
                c.byte(o.separator)
            } else if o.literalCount > 0 {
                c.bytes(UnsafeRawBufferPointer(start: literals + Int(o.literalOffset), count: Int(o.literalCount)))
            }
            op += 1
        }
        return c.pointer
    }

    @inline(__always)
    private func absent(_ mode: Mode, _ c: inout LineCursor) {
        if mode == .jsonValue { c.bytes("null") } else { c.dash() }
    }

    /// A monotonic time as local time: `2006/01/02 15:04:05.000`, or SOFATracer's `2006-01-02 ...` when `dashed`.
    @inline(__always)
    private func timestamp(
        _ ns: UInt64, _ mode: Mode, _ time: UnsafeMutablePointer<StartTimeCache>, _ c: inout LineCursor,
        dashed: Bool = false
    ) {
        guard ns != 0 else { return absent(mode, &c) }
        quote(mode, &c)
        time.pointee.write(ns, into: &c)
        if dashed {
            (c.pointer - 19).pointee = UInt8(ascii: "-")
            (c.pointer - 16).pointee = UInt8(ascii: "-")
        }
        quote(mode, &c)
    }

    /// The quote around a string written as a whole JSON value.
    @inline(__always)
    private func quote(_ mode: Mode, _ c: inout LineCursor) {
        if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
    }

    /// A duration value; takes and returns the write position (not `inout`: the position stays in a register).
    @inline(never)
    private static func duration(
        _ from: UInt64, _ to: UInt64, _ mode: Mode, at p: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8> {
        var c = LineCursor(start: p)
        let ns: Int64 = to == 0 || from == 0 ? 0 : Int64(bitPattern: to &- from)
        if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
        c.goDuration(ns)
        if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
        return c.pointer
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

    private static func responseFlags(
        _ flags: AccessLogFlags, _ mode: Mode, at p: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8> {
        var c = LineCursor(start: p)
        guard flags.rawValue != 0 else {
            if mode == .jsonValue { c.bytes("null") } else { c.dash() }
            return c.pointer
        }
        if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
        var first = true
        for (flag, code) in AccessLogFlags.envoyCodes where flags.contains(flag) {
            if !first { c.byte(UInt8(ascii: ",")) }
            first = false
            c.bytes(code)
        }
        if mode == .jsonValue { c.byte(UInt8(ascii: "\"")) }
        return c.pointer
    }

    /// A captured value (a header, an RPC service or method), escaped: it comes from the peer.
    private static func captured(
        _ r: AccessLogRecord, _ o: Op, at p: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8> {
        var c = LineCursor(start: p)
        guard var value = r.captured(Int(o.slot)) else {
            if o.mode == .jsonValue { c.bytes("null") } else { c.dash() }
            return c.pointer
        }
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
        return c.pointer
    }

    /// SOFATracer's result code for an HTTP status (an RPC status mapped to HTTP).
    private static func traceResultCode(_ status: Int) -> StaticString {
        switch status {
        case 200: "00"
        case 504: "03"
        case 404, 502: "04"
        default: "02"
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
