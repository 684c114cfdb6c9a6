/// MOSN's default format (`AccessLogFormat.mosnDefaultText`, what a listener logs when its entry names no format)
/// written field after field, without the walker's dispatch per variable: the same bytes
/// `CompiledAccessLogFormat` writes for it by walking its operations (`MOSNDefaultLineTests` compares the two), at
/// about half the instructions — the line most listeners log.
///
/// Stateless; called on the executor formatting the line, into room the lane made for the format's worst case.
enum MOSNDefaultLine {
    static let space = UInt8(ascii: " ")

    /// Writes `r`'s line at `start`; returns where it ends.
    static func write(
        _ r: AccessLogRecord, time: UnsafeMutablePointer<StartTimeCache>, at start: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8> {
        var c = LineCursor(start: start)
        let startNs = r.startNs
        // %start_time% %trace_id%  (two spaces after the trace id, as MOSN ships it)
        if startNs == 0 { c.dash() } else { time.pointee.write(startNs, into: &c) }
        if let id = r.traceID {
            c.byte(space)
            c.bytes(id)
            c.byte(space)
            c.byte(space)
        } else {
            UnsafeMutableRawPointer(c.pointer).storeBytes(of: 0x2020_2D20 as UInt32, as: UInt32.self)  // " -  "
            c.pointer += 4
        }
        idOrDash(r.connectionID, &c)
        idOrDash(r.upstreamConnectionID, &c)
        sinceStart(startNs, r.requestSentNs, &c)
        sinceStart(startNs, r.responseHeadNs, &c)
        c.decimal(r.bytesSent)
        c.byte(space)
        c.decimal(r.bytesReceived)
        c.byte(space)
        // %protocol% and its space in one store.
        let (word, count) = protocolWord(r.proto)
        UnsafeMutableRawPointer(c.pointer).storeBytes(of: word, as: UInt64.self)
        c.pointer += count
        // %response_code%, kept to be copied for its second appearance.
        let code = UInt64(max(0, r.responseCode))
        let codeText = c.pointer
        c.decimal(code)
        let codeCount = c.pointer - codeText
        c.byte(space)
        sinceStart(startNs, r.endNs, &c)
        // %response_flag%
        if r.flags.mosnBits != 0 {
            UnsafeMutableRawPointer(c.pointer).storeBytes(of: 0x2065_7572_74 as UInt64, as: UInt64.self)  // "true "
            c.pointer += 5
        } else {
            UnsafeMutableRawPointer(c.pointer).storeBytes(of: 0x20_6573_6C61_66 as UInt64, as: UInt64.self)  // "false "
            c.pointer += 6
        }
        if codeCount <= 4 {
            // Read from the line itself: at least four bytes follow the code's first appearance.
            UnsafeMutableRawPointer(c.pointer).storeBytes(
                of: UnsafeRawPointer(codeText).loadUnaligned(as: UInt32.self), as: UInt32.self)
            c.pointer += codeCount
        } else {
            c.decimal(code)
        }
        c.byte(space)
        // %upstream_local_address% (MOSN prints the host's address), %downstream_local_address%,
        // %downstream_remote_address%, %upstream_host%
        textOrDash(r.upstreamAddress, &c)
        c.byte(space)
        textOrDash(r.downstreamLocal, &c)
        c.byte(space)
        textOrDash(r.downstreamRemote, &c)
        c.byte(space)
        textOrDash(r.upstreamHostname, &c)
        c.byte(UInt8(ascii: "\n"))
        return c.pointer
    }

    /// `%protocol%` and a space as the little-endian bytes of one word, and how many of them count.
    @inline(__always)
    private static func protocolWord(_ p: AccessLogProtocol) -> (UInt64, Int) {
        switch p {
        case .http1: (0x20_31_70_74_74_48, 6)  // "Http1 "
        case .http2: (0x20_32_70_74_74_48, 6)  // "Http2 "
        case .bolt: (0x20_74_6C_6F_62, 5)  // "bolt "
        case .boltv2: (0x20_32_76_74_6C_6F_62, 7)  // "boltv2 "
        case .dubbo: (0x20_6F_62_62_75_64, 6)  // "dubbo "
        case .tcp: (0x20_70_63_74, 4)  // "tcp "
        }
    }

    /// A connection id and its space; `-` for none.
    @inline(__always)
    private static func idOrDash(_ id: UInt64, _ c: inout LineCursor) {
        if id == 0 { c.dash() } else { c.decimal(id) }
        c.byte(space)
    }

    /// The time from the request's arrival to `to`, and its space (`0s` when either is unknown).
    @inline(__always)
    private static func sinceStart(_ from: UInt64, _ to: UInt64, _ c: inout LineCursor) {
        c.goDuration(to == 0 || from == 0 ? 0 : Int64(bitPattern: to &- from))
        c.byte(space)
    }

    @inline(__always)
    private static func textOrDash(_ value: UnsafeRawBufferPointer?, _ c: inout LineCursor) {
        if let value { c.bytes(value) } else { c.dash() }
    }
}
