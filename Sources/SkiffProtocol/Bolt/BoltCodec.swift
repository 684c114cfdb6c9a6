/// SOFA Bolt v1 (protocol code 1), the protocol SOFARPC speaks by default.
///
/// Decodes v1 and v2 frames alike (a connection may carry both, as in MOSN) and answers each request in its own
/// layout; heartbeats it starts are v1. The implementation is `BoltFraming`, shared with `BoltV2Codec`.
///
/// ```swift
/// if case .complete(let n) = BoltCodec.frameLength(buffer, limits: limits) {
///     let frame = UnsafeRawBufferPointer(rebasing: buffer[..<n])
///     if let error = BoltCodec.parse(frame, into: &info) { /* count, close */ }
/// }
/// ```
public enum BoltCodec: BoltCodecFamily {
    public static var name: StaticString { "bolt" }
    public static var protocolCode: UInt8 { Bolt.ProtocolCode.v1 }
}
