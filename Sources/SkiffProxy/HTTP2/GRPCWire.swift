/// What the proxy reads and writes of gRPC's HTTP/2 mapping (PROTOCOL-HTTP2 in grpc/grpc's doc): whether a request
/// is gRPC, its `grpc-timeout`, and the status codes of Skiff's own replies. Pure functions over header bytes.
enum GRPCWire {
    /// gRPC status codes Skiff answers with itself.
    enum Status: Int {
        case deadlineExceeded = 4
        case unimplemented = 12
        case `internal` = 13
        case unavailable = 14
        case resourceExhausted = 8
    }

    /// `content-type: application/grpc` (or `application/grpc+proto`, `application/grpc-web`...).
    static func isGRPC(contentType v: UnsafeRawBufferPointer) -> Bool {
        let prefix: StaticString = "application/grpc"
        guard v.count >= prefix.utf8CodeUnitCount else { return false }
        for i in 0..<prefix.utf8CodeUnitCount where v[i] | 0x20 != prefix.utf8Start[i] | 0x20 { return false }
        return v.count == prefix.utf8CodeUnitCount || v[prefix.utf8CodeUnitCount] == UInt8(ascii: "+")
            || v[prefix.utf8CodeUnitCount] == UInt8(ascii: "-") || v[prefix.utf8CodeUnitCount] == UInt8(ascii: ";")
    }

    /// Longer than this is as good as none: a deadline added to the clock must not wrap.
    static let maxTimeoutNs: UInt64 = 10 * 365 * 86_400 * 1_000_000_000

    /// `grpc-timeout` in nanoseconds: 1 to 8 digits and a unit (H, M, S, m, u, n), at most `maxTimeoutNs`; nil when
    /// malformed.
    static func timeoutNs(_ v: UnsafeRawBufferPointer) -> UInt64? {
        guard v.count >= 2, v.count <= 9 else { return nil }
        var n: UInt64 = 0
        for b in v.dropLast() {
            guard b >= 48, b <= 57 else { return nil }
            n = n * 10 + UInt64(b - 48)
        }
        let unit: UInt64
        switch v[v.count - 1] {
        case UInt8(ascii: "H"): unit = 3_600_000_000_000
        case UInt8(ascii: "M"): unit = 60_000_000_000
        case UInt8(ascii: "S"): unit = 1_000_000_000
        case UInt8(ascii: "m"): unit = 1_000_000
        case UInt8(ascii: "u"): unit = 1_000
        case UInt8(ascii: "n"): unit = 1
        default: return nil
        }
        let (ns, overflow) = n.multipliedReportingOverflow(by: unit)
        return overflow ? maxTimeoutNs : min(ns, maxTimeoutNs)
    }

    /// The gRPC status for a reply Skiff makes with HTTP `status` (gRPC's HTTP-to-status mapping; 504, a timeout, is
    /// DEADLINE_EXCEEDED as Envoy answers it).
    static func status(forHTTP status: Int) -> Status {
        switch status {
        case 404: return .unimplemented
        case 429: return .unavailable
        case 502, 503: return .unavailable
        case 504, 408: return .deadlineExceeded
        default: return .internal
        }
    }
}
