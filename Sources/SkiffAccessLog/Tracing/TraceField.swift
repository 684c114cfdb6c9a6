/// The limits and shapes of the trace values a request carries (docs/tracing.md). A value from a peer that breaks
/// them is not passed on: the proxy replaces it as if it were absent, so a digest line or an upstream header never
/// holds bytes Skiff did not check.
public enum TraceField {
    /// Room for each value in a record (trace id, rpc id, traceparent).
    public static let capacity = 64
    /// The longest rpc id accepted: room left for one extension (`.` and up to 15 digits).
    static let maxRPCIDBytes = 48

    /// A SOFA trace id: 1 to 64 letters, digits, `-`, `_` or `.`.
    public static func isTraceID(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count > 0 && b.count <= capacity else { return false }
        for c in b {
            let ok =
                (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7a) || c == 0x2d || c == 0x5f || c == 0x2e
            if !ok { return false }
        }
        return true
    }

    /// A SOFA rpc id: numbers joined by dots (`0`, `0.1.2`), at most 48 bytes.
    public static func isRPCID(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count > 0 && b.count <= maxRPCIDBytes, b.first != 0x2e, b.last != 0x2e else { return false }
        var previousDot = false
        for c in b {
            if c == 0x2e {
                if previousDot { return false }
                previousDot = true
            } else if c >= 0x30 && c <= 0x39 {
                previousDot = false
            } else {
                return false
            }
        }
        return true
    }

    /// A W3C `traceparent` Skiff can continue: version `00`, a 32-hex trace id and a 16-hex parent id (neither all
    /// zeros), two hex flag digits; lower-case hex, as the spec requires. Returns the trace id's and flags' offsets.
    public static func isTraceparent(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count == 55, b[0] == 0x30, b[1] == 0x30, b[2] == 0x2d, b[35] == 0x2d, b[52] == 0x2d else {
            return false
        }
        func hexRun(_ from: Int, _ to: Int) -> Bool? {
            var nonZero = false
            var i = from
            while i < to {
                let c = b[i]
                guard (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) else { return nil }
                if c != 0x30 { nonZero = true }
                i += 1
            }
            return nonZero
        }
        guard hexRun(3, 35) == true, hexRun(36, 52) == true, hexRun(53, 55) != nil else { return false }
        return true
    }
}
