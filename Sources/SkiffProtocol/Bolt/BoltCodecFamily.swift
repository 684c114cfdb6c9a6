/// What Bolt v1 and v2 share as codecs: the same framing (`BoltFraming`) in both directions; they differ only in
/// their name and in the layout of the frames they start themselves (heartbeats, and answers to requests whose own
/// layout does not say).
public protocol BoltCodecFamily: RPCCodec {
    /// The protocol code of frames this codec starts.
    static var protocolCode: UInt8 { get }
}

extension BoltCodecFamily {
    public static func frameLength(_ bytes: UnsafeRawBufferPointer, limits: RPCLimits) -> RPCFrameLength {
        BoltFraming.frameLength(bytes, limits: limits)
    }

    public static func parse(_ frame: UnsafeRawBufferPointer, into info: inout RPCFrameInfo) -> RPCError? {
        BoltFraming.parse(frame, into: &info, limits: .default)
    }

    /// `parse(_:into:)` keeping at most `limits.maxHeaders` header entries.
    public static func parse(
        _ frame: UnsafeRawBufferPointer, into info: inout RPCFrameInfo, limits: RPCLimits
    ) -> RPCError? {
        BoltFraming.parse(frame, into: &info, limits: limits)
    }

    public static func requestID(ofPartial bytes: UnsafeRawBufferPointer) -> UInt64? {
        BoltFraming.requestID(ofPartial: bytes)
    }

    public static func setRequestID(_ id: UInt64, in frame: UnsafeMutableRawBufferPointer) {
        BoltFraming.setRequestID(id, in: frame)
    }

    public static func writeWithHeaders(
        _ frame: UnsafeRawBufferPointer, _ edits: RPCHeaderEdits, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? {
        BoltFraming.writeWithHeaders(frame, edits, into: out, capacity: capacity)
    }

    public static func encodeHeartbeatResponse(
        to request: RPCFrameInfo, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? {
        BoltFraming.encodeHeartbeatResponse(to: request, defaultCode: protocolCode, into: out, capacity: capacity)
    }

    public static func encodeHeartbeatRequest(id: UInt64, into out: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        BoltFraming.encodeHeartbeatRequest(id: id, code: protocolCode, into: out, capacity: capacity)
    }

    public static func encodeErrorResponse(
        to request: RPCFrameInfo, error: RPCErrorKind, message: StaticString, into out: UnsafeMutableRawPointer,
        capacity: Int
    ) -> Int? {
        BoltFraming.encodeErrorResponse(
            to: request, error: error, defaultCode: protocolCode, into: out, capacity: capacity)
    }
}
