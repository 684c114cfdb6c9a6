import SkiffConfig
import SwiftProtobuf

/// Scalar conversions with Envoy's and Skiff's limits: durations, wrapped integers in Skiff's ranges. Each refuses a
/// value out of range at its field path. Pure; any thread.
extension XDSContext {
    /// A `google.protobuf.Duration` as a `Duration`; negative or malformed ones are refused.
    func duration(_ d: Google_Protobuf_Duration, at path: String) throws(XDSRejection) -> Duration {
        try checkUnknown(d, at: path)
        guard d.seconds >= 0, d.nanos >= 0, d.nanos < 1_000_000_000, d.seconds <= 315_576_000_000 else {
            throw reject(path, "\(d.seconds)s \(d.nanos)ns is not a valid non-negative duration")
        }
        return .seconds(d.seconds) + .nanoseconds(Int64(d.nanos))
    }

    /// A positive duration (`0s` refused).
    func positiveDuration(_ d: Google_Protobuf_Duration, at path: String) throws(XDSRejection) -> Duration {
        let value = try duration(d, at: path)
        if value == .zero { throw reject(path, "must be greater than 0s") }
        return value
    }

    /// An integer that must lie in `range` (Skiff's limit for the field it becomes).
    func int(_ value: some BinaryInteger, in range: ClosedRange<Int>, at path: String) throws(XDSRejection) -> Int {
        guard let v = Int(exactly: value), range.contains(v) else {
            throw reject(path, "\(value) out of range (\(range.lowerBound)-\(range.upperBound))")
        }
        return v
    }

    /// A `UInt32Value` in `range`, or `absent` when unset.
    func uint32(
        _ has: Bool, _ w: Google_Protobuf_UInt32Value, in range: ClosedRange<Int>, at path: String, absent: Int
    ) throws(XDSRejection) -> Int {
        guard has else { return absent }
        try checkUnknown(w, at: path)
        return try int(w.value, in: range, at: path)
    }
}

/// Durations as the docs and rejections print them (`1.5s`), Go's spelling as elsewhere in Skiff.
func durationText(_ d: Duration) -> String { DurationText.format(d) }

/// Skiff's limits that the JSON decoder applies and the translation applies the same way.
enum SkiffLimits {
    /// `conn_buffer_limit_bytes` of listeners and clusters.
    static let bufferLimitBytes = 4096...(1 << 30)
    /// A host's `weight`.
    static let hostWeight = 1...128
    /// Weighted clusters' `weight`.
    static let clusterWeight = 1...100
    /// `num_retries`.
    static let retries = 0...10
    /// HTTP status codes.
    static let status = 100...599
    /// uint32 fields (circuit breakers).
    static let uint32 = 0...4_294_967_295
    /// Counts without a natural limit (health check thresholds, consecutive errors).
    static let int32 = 1...2_147_483_647
    /// `max_connect_attempts` of tcp_proxy.
    static let connectAttempts = 1...10
}
