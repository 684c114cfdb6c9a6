/// Dubbo 2 (the `dubbo://` protocol): a 16-byte header, then a body in the serialization the flag names.
///
/// Frames are proxied as they are; only the 8-byte id is rewritten. For hessian2 requests the body's leading strings
/// give the routing fields and the attachments are read best-effort (`DubboCodec+Request.swift`); other
/// serializations are proxied without routing fields. Event frames are heartbeats, except the readonly event a
/// server sends before shutting down, which is `.goAway`.
///
/// ```swift
/// if case .complete(let n) = DubboCodec.frameLength(buffer, limits: limits) {
///     let frame = UnsafeRawBufferPointer(rebasing: buffer[..<n])
///     if let error = DubboCodec.parse(frame, into: &info, limits: limits) { /* count, close */ }
/// }
/// ```
public enum DubboCodec: RPCCodec {
    public static var name: StaticString { "dubbo" }

    static let flagOffset = 2
    static let statusOffset = 3
    static let idOffset = 4
    static let bodyLengthOffset = 12

    public static func frameLength(_ bytes: UnsafeRawBufferPointer, limits: RPCLimits) -> RPCFrameLength {
        let n = bytes.count
        if n >= 1, bytes[0] != Dubbo.magicHigh { return .invalid(RPCError("dubbo: bad magic")) }
        if n >= 2, bytes[1] != Dubbo.magicLow { return .invalid(RPCError("dubbo: bad magic")) }
        guard n >= Dubbo.headerLength else { return .incomplete(needed: Dubbo.headerLength) }
        let total = Dubbo.headerLength + Int(RPCWire.u32(bytes, at: bodyLengthOffset))
        guard total <= limits.maxFrameBytes else { return .invalid(RPCError("dubbo: frame over max_frame_bytes")) }
        return n >= total ? .complete(length: total) : .incomplete(needed: total)
    }

    public static func parse(_ frame: UnsafeRawBufferPointer, into info: inout RPCFrameInfo) -> RPCError? {
        parse(frame, into: &info, limits: .default)
    }

    /// Fills `info` (after `reset()`): kind, id, serialization id (`codecByte`), status (responses), and for hessian2
    /// requests service (the `interface` attachment, else the path), method, version, group, `timeout` and the
    /// string attachments (the first `limits.maxHeaders`).
    ///
    /// Errors only for a frame whose lengths do not add up, or a hessian2 request whose dubbo version, path, version
    /// (null allowed) or method is not a single-chunk string; an attachment map that cannot be reached is not one.
    public static func parse(
        _ frame: UnsafeRawBufferPointer, into info: inout RPCFrameInfo, limits: RPCLimits
    ) -> RPCError? {
        info.reset()
        guard frame.count >= Dubbo.headerLength else { return RPCError("dubbo: frame shorter than its header") }
        guard frame[0] == Dubbo.magicHigh, frame[1] == Dubbo.magicLow else { return RPCError("dubbo: bad magic") }
        guard Dubbo.headerLength + Int(RPCWire.u32(frame, at: bodyLengthOffset)) == frame.count else {
            return RPCError("dubbo: body length does not match the frame")
        }
        let flag = frame[flagOffset]
        let isEvent = flag & Dubbo.Flag.event != 0
        info.requestID = RPCWire.u64(frame, at: idOffset)
        info.codecByte = flag & Dubbo.Flag.serializationMask
        guard flag & Dubbo.Flag.request != 0 else {
            info.kind = isEvent ? .heartbeatResponse : .response
            info.status = Int(frame[statusOffset])
            return nil
        }
        if isEvent {
            info.kind = isReadonlyEvent(frame, serialization: info.codecByte) ? .goAway : .heartbeatRequest
            return nil
        }
        info.kind = flag & Dubbo.Flag.twoWay != 0 ? .request : .oneway
        guard info.codecByte == Dubbo.hessian2Serialization else { return nil }
        return parseRequestBody(frame, into: &info, maxHeaders: limits.maxHeaders)
    }

    /// Dubbo's `READONLY_EVENT`: an event whose data is the string "R" (hessian2 `01 52`), sent by a provider that is
    /// going away. Any other event data (hessian null `N` for heartbeats) is a heartbeat.
    private static func isReadonlyEvent(_ frame: UnsafeRawBufferPointer, serialization: UInt8) -> Bool {
        serialization == Dubbo.hessian2Serialization && frame.count == Dubbo.headerLength + 2
            && frame[Dubbo.headerLength] == 0x01 && frame[Dubbo.headerLength + 1] == UInt8(ascii: "R")
    }

    public static func requestID(ofPartial bytes: UnsafeRawBufferPointer) -> UInt64? {
        bytes.count >= idOffset + 8 ? RPCWire.u64(bytes, at: idOffset) : nil
    }

    public static func setRequestID(_ id: UInt64, in frame: UnsafeMutableRawBufferPointer) {
        guard let base = frame.baseAddress, frame.count >= idOffset + 8 else { return }
        RPCWire.store(id, to: base, at: idOffset)
    }

    // MARK: Encoding

    /// An event response (flag `0x20 | 2`, status OK) with the request's id and a hessian2 null body. The flag says
    /// hessian2 whatever the request used, because hessian2 is what the body is written in.
    public static func encodeHeartbeatResponse(
        to request: RPCFrameInfo, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? {
        writeNullBody(
            flag: Dubbo.Flag.event | Dubbo.hessian2Serialization, status: Dubbo.Status.ok, id: request.requestID,
            into: out, capacity: capacity)
    }

    /// A two-way event request (flag `0x80 | 0x40 | 0x20 | 2`) with a hessian2 null body, as Dubbo's heartbeat.
    public static func encodeHeartbeatRequest(id: UInt64, into out: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        writeNullBody(
            flag: Dubbo.Flag.request | Dubbo.Flag.twoWay | Dubbo.Flag.event | Dubbo.hessian2Serialization, status: 0,
            id: id, into: out, capacity: capacity)
    }

    /// A response (flag `0x02`: hessian2) with `Dubbo.status(for:)` and `message` as a hessian2 string body, which is
    /// how Dubbo carries the error message of a non-OK response.
    public static func encodeErrorResponse(
        to request: RPCFrameInfo, error: RPCErrorKind, message: StaticString, into out: UnsafeMutableRawPointer,
        capacity: Int
    ) -> Int? {
        guard capacity >= Dubbo.headerLength,
            let bodyLength = Hessian2Writer.writeString(
                message, into: out + Dubbo.headerLength, capacity: capacity - Dubbo.headerLength)
        else { return nil }
        writeHeader(
            flag: Dubbo.hessian2Serialization, status: Dubbo.status(for: error), id: request.requestID,
            bodyLength: bodyLength, into: out)
        return Dubbo.headerLength + bodyLength
    }

    private static func writeNullBody(
        flag: UInt8, status: UInt8, id: UInt64, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? {
        guard capacity >= Dubbo.headerLength + 1 else { return nil }
        writeHeader(flag: flag, status: status, id: id, bodyLength: 1, into: out)
        out.storeBytes(of: Hessian2Writer.null, toByteOffset: Dubbo.headerLength, as: UInt8.self)
        return Dubbo.headerLength + 1
    }

    private static func writeHeader(
        flag: UInt8, status: UInt8, id: UInt64, bodyLength: Int, into out: UnsafeMutableRawPointer
    ) {
        out.storeBytes(of: Dubbo.magicHigh, as: UInt8.self)
        out.storeBytes(of: Dubbo.magicLow, toByteOffset: 1, as: UInt8.self)
        out.storeBytes(of: flag, toByteOffset: flagOffset, as: UInt8.self)
        out.storeBytes(of: status, toByteOffset: statusOffset, as: UInt8.self)
        RPCWire.store(id, to: out, at: idOffset)
        RPCWire.store(UInt32(bodyLength), to: out, at: bodyLengthOffset)
    }
}
