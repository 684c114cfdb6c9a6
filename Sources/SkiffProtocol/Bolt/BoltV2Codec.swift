/// SOFA Bolt v2 (protocol code 2): Bolt v1 plus `ver1` and `switch` bytes and an optional trailing CRC32.
///
/// Decodes v1 and v2 frames alike (a connection may carry both, as in MOSN) and answers each request in its own
/// layout; heartbeats it starts are v2 (`ver1` 1, no CRC). The implementation is `BoltFraming`, shared with
/// `BoltCodec`.
///
/// ```swift
/// if case .complete(let n) = BoltV2Codec.frameLength(buffer, limits: limits) {
///     let frame = UnsafeRawBufferPointer(rebasing: buffer[..<n])
///     if let error = BoltV2Codec.parse(frame, into: &info) { /* count, close */ }
/// }
/// ```
public enum BoltV2Codec: RPCCodec {
    public static var name: StaticString { "boltv2" }

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

    public static func setRequestID(_ id: UInt64, in frame: UnsafeMutableRawBufferPointer) {
        BoltFraming.setRequestID(id, in: frame)
    }

    public static func encodeHeartbeatResponse(
        to request: RPCFrameInfo, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? {
        BoltFraming.encodeHeartbeatResponse(
            to: request, defaultCode: Bolt.ProtocolCode.v2, into: out, capacity: capacity)
    }

    public static func encodeHeartbeatRequest(id: UInt64, into out: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        BoltFraming.encodeHeartbeatRequest(id: id, code: Bolt.ProtocolCode.v2, into: out, capacity: capacity)
    }

    public static func encodeErrorResponse(
        to request: RPCFrameInfo, error: RPCErrorKind, message: StaticString, into out: UnsafeMutableRawPointer,
        capacity: Int
    ) -> Int? {
        BoltFraming.encodeErrorResponse(
            to: request, error: error, defaultCode: Bolt.ProtocolCode.v2, into: out, capacity: capacity)
    }
}
