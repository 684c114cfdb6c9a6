/// The Bolt implementation behind `BoltCodec` and `BoltV2Codec`: both decode v1 and v2 frames (the first byte says
/// which, as in MOSN, where one connection may carry both), and answer a request in its own layout. They differ only
/// in their name and in the layout of the heartbeats they start themselves.
///
/// Stateless; works in place on the caller's bytes.
enum BoltFraming {
    // MARK: Frame boundaries

    static func frameLength(_ bytes: UnsafeRawBufferPointer, limits: RPCLimits) -> RPCFrameLength {
        let n = bytes.count
        guard n > 0 else { return .incomplete(needed: BoltLayout.minimumHeaderLength) }
        let proto = bytes[0]
        guard proto == Bolt.ProtocolCode.v1 || proto == Bolt.ProtocolCode.v2 else {
            return .invalid(RPCError("bolt: unknown protocol code"))
        }
        let isV2 = proto == Bolt.ProtocolCode.v2
        if isV2, n > 1, bytes[1] != Bolt.v2Version1, bytes[1] != Bolt.v2Version2 {
            return .invalid(RPCError("bolt: unknown v2 protocol version"))
        }
        let typeOffset = BoltLayout.typeOffset(isV2: isV2)
        guard n > typeOffset else {
            return .incomplete(needed: BoltLayout.minimumHeaderLength + (isV2 ? 2 : 0))
        }
        let type = bytes[typeOffset]
        guard type <= Bolt.CommandType.oneway else { return .invalid(RPCError("bolt: unknown command type")) }
        let layout = BoltLayout(isV2: isV2, isRequest: type != Bolt.CommandType.response)
        guard n >= layout.headerLength else { return .incomplete(needed: layout.headerLength) }
        guard kind(type: type, cmdCode: RPCWire.u16(bytes, at: layout.cmdCodeOffset)) != nil else {
            return .invalid(RPCError("bolt: unknown command code for its type"))
        }
        let total = bodyEnd(bytes, layout) + (hasCRC(bytes, layout) ? 4 : 0)
        guard total <= limits.maxFrameBytes else { return .invalid(RPCError("bolt: frame over max_frame_bytes")) }
        return n >= total ? .complete(length: total) : .incomplete(needed: total)
    }

    /// Where class name, header map and content end (the CRC, if any, follows).
    private static func bodyEnd(_ bytes: UnsafeRawBufferPointer, _ layout: BoltLayout) -> Int {
        layout.headerLength + Int(RPCWire.u16(bytes, at: layout.classLengthOffset))
            + Int(RPCWire.u16(bytes, at: layout.headerLengthOffset))
            + Int(RPCWire.u32(bytes, at: layout.contentLengthOffset))
    }

    /// A v2 frame with `ver1` 2 and the CRC switch on ends in a CRC32 (sofa-bolt `RpcCommandDecoderV2`).
    static func hasCRC(_ bytes: UnsafeRawBufferPointer, _ layout: BoltLayout) -> Bool {
        layout.isV2 && bytes[1] == Bolt.v2Version2 && (bytes[layout.switchOffset] & Bolt.crcSwitch) != 0
    }

    /// The frame's kind, or nil when `type` and `cmdcode` do not go together.
    private static func kind(type: UInt8, cmdCode: UInt16) -> RPCFrameKind? {
        let isResponse = type == Bolt.CommandType.response
        switch cmdCode {
        case Bolt.CommandCode.heartbeat: return isResponse ? .heartbeatResponse : .heartbeatRequest
        case Bolt.CommandCode.request:
            if isResponse { return nil }
            return type == Bolt.CommandType.oneway ? .oneway : .request
        case Bolt.CommandCode.response: return isResponse ? .response : nil
        case Bolt.CommandCode.goAway: return isResponse ? nil : .goAway
        default: return nil
        }
    }

    // MARK: Parsing

    /// Fills `info` (after `reset()`) from a complete frame: kind, id, codec, protocol code (in `protocolVersion`),
    /// timeout (requests, only when positive: -1 and 0 mean none) or status (responses), and the header map.
    /// A v2 frame's CRC32 is checked, as sofa-bolt does: `setRequestID` recomputes it, which must not launder a frame
    /// damaged on the way in.
    static func parse(_ frame: UnsafeRawBufferPointer, into info: inout RPCFrameInfo, limits: RPCLimits) -> RPCError? {
        info.reset()
        switch frameLength(frame, limits: RPCLimits(maxFrameBytes: .max, maxHeaders: limits.maxHeaders)) {
        case .complete(let length):
            guard length == frame.count else { return RPCError("bolt: frame longer than its lengths") }
        case .incomplete:
            return RPCError("bolt: frame shorter than its lengths")
        case .invalid(let error):
            return error
        }
        let isV2 = frame[0] == Bolt.ProtocolCode.v2
        let type = frame[BoltLayout.typeOffset(isV2: isV2)]
        let layout = BoltLayout(isV2: isV2, isRequest: type != Bolt.CommandType.response)
        // frameLength accepted the pair, so `kind` is non-nil.
        info.kind = kind(type: type, cmdCode: RPCWire.u16(frame, at: layout.cmdCodeOffset)) ?? .request
        info.requestID = UInt64(RPCWire.u32(frame, at: layout.requestIDOffset))
        info.codecByte = frame[layout.codecOffset]
        info.protocolVersion = frame[0]
        if layout.isRequest {
            let timeout = Int32(bitPattern: RPCWire.u32(frame, at: layout.timeoutOrStatusOffset))
            if timeout > 0 { info.timeoutMs = Int(timeout) }
        } else {
            info.status = Int(RPCWire.u16(frame, at: layout.timeoutOrStatusOffset))
        }
        if hasCRC(frame, layout) {
            let crcOffset = frame.count - 4
            guard
                BoltCRC32.checksum(UnsafeRawBufferPointer(rebasing: frame[..<crcOffset]))
                    == RPCWire.u32(frame, at: crcOffset)
            else { return RPCError("bolt: CRC32 mismatch") }
        }
        let mapStart = layout.headerLength + Int(RPCWire.u16(frame, at: layout.classLengthOffset))
        let mapEnd = mapStart + Int(RPCWire.u16(frame, at: layout.headerLengthOffset))
        return parseHeaderMap(frame, mapStart..<mapEnd, into: &info, maxHeaders: limits.maxHeaders)
    }

    /// Walks `u32 keyLen, key, u32 valueLen, value` entries filling exactly `region`. Keeps the first `maxHeaders`
    /// entries; routing keys are found among all of them. `service` wins over `sofa_head_target_service`.
    private static func parseHeaderMap(
        _ frame: UnsafeRawBufferPointer, _ region: Range<Int>, into info: inout RPCFrameInfo, maxHeaders: Int
    ) -> RPCError? {
        var p = region.lowerBound
        let end = region.upperBound
        var service: Range<Int>?
        var targetService: Range<Int>?
        while p < end {
            guard end - p >= 4 else { return RPCError("bolt: header map truncated in a key length") }
            let keyLength = Int(RPCWire.u32(frame, at: p))
            p += 4
            guard keyLength <= end - p else { return RPCError("bolt: header key overruns the header map") }
            let key = p..<(p + keyLength)
            p += keyLength
            guard end - p >= 4 else { return RPCError("bolt: header map truncated in a value length") }
            let valueLength = Int(RPCWire.u32(frame, at: p))
            p += 4
            guard valueLength <= end - p else { return RPCError("bolt: header value overruns the header map") }
            let value = p..<(p + valueLength)
            p += valueLength

            if info.headerNames.count < maxHeaders {
                info.headerNames.append(key)
                info.headerValues.append(value)
            }
            if service == nil, RPCWire.equals(frame, key, "service") {
                service = value
            } else if targetService == nil, RPCWire.equals(frame, key, "sofa_head_target_service") {
                targetService = value
            } else if info.method == nil, RPCWire.equals(frame, key, "sofa_head_method_name") {
                info.method = value
            }
        }
        info.service = service ?? targetService
        return nil
    }

    // MARK: Rewriting

    /// Writes the low 32 bits of `id` at the request id offset, and refreshes the CRC32 of a v2 frame that has one.
    /// A buffer too short to hold a Bolt header is left alone (callers pass only frames `frameLength` accepted).
    /// The id of a frame of which only the first bytes may have arrived: v1 needs 9 bytes, v2 10.
    static func requestID(ofPartial bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.count > BoltLayout.typeOffset(isV2: true) else { return nil }
        let isV2 = bytes[0] == Bolt.ProtocolCode.v2
        let type = bytes[BoltLayout.typeOffset(isV2: isV2)]
        let layout = BoltLayout(isV2: isV2, isRequest: type != Bolt.CommandType.response)
        guard bytes.count >= layout.requestIDOffset + 4 else { return nil }
        return UInt64(RPCWire.u32(bytes, at: layout.requestIDOffset))
    }

    static func setRequestID(_ id: UInt64, in frame: UnsafeMutableRawBufferPointer) {
        let bytes = UnsafeRawBufferPointer(frame)
        guard let base = frame.baseAddress, bytes.count >= BoltLayout.minimumHeaderLength else { return }
        let isV2 = bytes[0] == Bolt.ProtocolCode.v2
        let type = bytes[BoltLayout.typeOffset(isV2: isV2)]
        let layout = BoltLayout(isV2: isV2, isRequest: type != Bolt.CommandType.response)
        RPCWire.store(UInt32(truncatingIfNeeded: id), to: base, at: layout.requestIDOffset)
        guard bytes.count >= layout.headerLength + 4, hasCRC(bytes, layout) else { return }
        let crcOffset = bytes.count - 4
        let crc = BoltCRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[..<crcOffset]))
        RPCWire.store(crc, to: base, at: crcOffset)
    }

    // MARK: Encoding

    /// The layout to answer `request` in: its own protocol code, or `defaultCode` when `info` did not come from a
    /// Bolt frame.
    private static func answerIsV2(_ request: RPCFrameInfo, defaultCode: UInt8) -> Bool {
        switch request.protocolVersion {
        case Bolt.ProtocolCode.v1: false
        case Bolt.ProtocolCode.v2: true
        default: defaultCode == Bolt.ProtocolCode.v2
        }
    }

    /// Writes a fixed header with empty class, header map and content. v2 frames the proxy writes use `ver1` 1 and
    /// no switches (so no CRC), as MOSN's do; `ver2` is always 1.
    private static func writeHeader(
        isV2: Bool, type: UInt8, cmdCode: UInt16, id: UInt64, codec: UInt8, timeoutOrStatus: UInt32,
        into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? {
        let layout = BoltLayout(isV2: isV2, isRequest: type != Bolt.CommandType.response)
        guard capacity >= layout.headerLength else { return nil }
        out.initializeMemory(as: UInt8.self, repeating: 0, count: layout.headerLength)
        out.storeBytes(of: isV2 ? Bolt.ProtocolCode.v2 : Bolt.ProtocolCode.v1, as: UInt8.self)
        if isV2 { out.storeBytes(of: Bolt.v2Version1, toByteOffset: 1, as: UInt8.self) }
        out.storeBytes(of: type, toByteOffset: layout.typeOffset, as: UInt8.self)
        RPCWire.store(cmdCode, to: out, at: layout.cmdCodeOffset)
        out.storeBytes(of: Bolt.commandVersion, toByteOffset: layout.commandVersionOffset, as: UInt8.self)
        RPCWire.store(UInt32(truncatingIfNeeded: id), to: out, at: layout.requestIDOffset)
        out.storeBytes(of: codec, toByteOffset: layout.codecOffset, as: UInt8.self)
        if layout.isRequest {
            RPCWire.store(timeoutOrStatus, to: out, at: layout.timeoutOrStatusOffset)
        } else {
            RPCWire.store(UInt16(truncatingIfNeeded: timeoutOrStatus), to: out, at: layout.timeoutOrStatusOffset)
        }
        return layout.headerLength
    }

    /// cmdcode 0, type response, status SUCCESS, the request's id and codec.
    static func encodeHeartbeatResponse(
        to request: RPCFrameInfo, defaultCode: UInt8, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? {
        writeHeader(
            isV2: answerIsV2(request, defaultCode: defaultCode), type: Bolt.CommandType.response,
            cmdCode: Bolt.CommandCode.heartbeat, id: request.requestID, codec: request.codecByte,
            timeoutOrStatus: UInt32(Bolt.ResponseStatus.success), into: out, capacity: capacity)
    }

    /// cmdcode 0, type request, hessian2 codec, timeout -1 (sofa-bolt's and MOSN's heartbeat trigger).
    static func encodeHeartbeatRequest(
        id: UInt64, code: UInt8, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? {
        writeHeader(
            isV2: code == Bolt.ProtocolCode.v2, type: Bolt.CommandType.request, cmdCode: Bolt.CommandCode.heartbeat,
            id: id, codec: Bolt.hessian2Codec, timeoutOrStatus: UInt32(bitPattern: -1), into: out, capacity: capacity)
    }

    /// cmdcode 2 (RPC response) with `Bolt.status(for:)`, the request's id and codec; Bolt carries no message.
    static func encodeErrorResponse(
        to request: RPCFrameInfo, error: RPCErrorKind, defaultCode: UInt8, into out: UnsafeMutableRawPointer,
        capacity: Int
    ) -> Int? {
        writeHeader(
            isV2: answerIsV2(request, defaultCode: defaultCode), type: Bolt.CommandType.response,
            cmdCode: Bolt.CommandCode.response, id: request.requestID, codec: request.codecByte,
            timeoutOrStatus: UInt32(Bolt.status(for: error)), into: out, capacity: capacity)
    }
}
