import Synchronization

/// Cheap pseudo-random numbers for load balancing: splitmix64 over an atomic counter. The system generator costs a
/// getrandom(2) syscall per call on Linux, which has no place on the hot path; balancing needs spread, not secrecy.
public enum FastRandom {
    private static let counter = Atomic<UInt64>(0x9E37_79B9_7F4A_7C15 ^ UInt64(UInt(bitPattern: ObjectIdentifier(Seed.self).hashValue)))
    private final class Seed {}

    @inline(__always)
    public static func next() -> UInt64 {
        var z = counter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n (n > 0), by multiply-shift.
    @inline(__always)
    public static func below(_ n: Int) -> Int {
        Int((UInt64(n).multipliedFullWidth(by: next())).high)
    }
}
