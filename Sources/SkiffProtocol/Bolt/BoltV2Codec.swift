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
public enum BoltV2Codec: BoltCodecFamily {
    public static var name: StaticString { "boltv2" }
    public static var protocolCode: UInt8 { Bolt.ProtocolCode.v2 }
}
