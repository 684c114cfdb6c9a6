import Glibc
import Synchronization

/// Where new trace ids come from, process-wide: SOFATracer's trace id shape (8 hex digits of the first non-loopback
/// IPv4 address, epoch milliseconds, a counter cycling 1000..9999, the pid) and random 64-bit words for W3C ids.
///
/// Threads: any. One atomic add per id; nothing allocates.
public enum TraceIDSource {
    /// The address and pid parts, written once: `hhhhhhhh` then the pid's digits.
    private static let ipHex: [UInt8] = firstIPv4Hex()
    private static let pid: UInt64 = UInt64(getpid())
    private static let counter = Atomic<UInt64>(0)
    /// Random words: SplitMix64 over a counter from a random start, so two ids of one process never repeat.
    private static let randomState = Atomic<UInt64>(randomSeed())

    /// Writes a new SOFA trace id at `p` (at most 8 + 13 + 4 + 10 bytes); returns its length.
    public static func writeSOFATraceID(into p: UnsafeMutablePointer<UInt8>) -> Int {
        ipHex.withUnsafeBufferPointer { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var n = ipHex.count
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let ms = UInt64(now.tv_sec) &* 1000 &+ UInt64(now.tv_nsec / 1_000_000)
        n += writeDecimal(ms, into: p + n)
        let c = 1000 &+ counter.wrappingAdd(1, ordering: .relaxed).oldValue % 9000
        n += writeDecimal(c, into: p + n)
        n += writeDecimal(pid, into: p + n)
        return n
    }

    /// A random 64-bit word, never 0.
    public static func random64() -> UInt64 {
        var z = randomState.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return z == 0 ? 1 : z
    }

    /// `v` as 16 lower-case hex digits at `p`.
    public static func writeHex16(_ v: UInt64, into p: UnsafeMutablePointer<UInt8>) {
        var i = 0
        while i < 16 {
            let d = UInt8(truncatingIfNeeded: v >> UInt64(60 - 4 * i)) & 0xf
            p[i] = d < 10 ? d &+ 0x30 : d &+ 0x57
            i += 1
        }
    }

    /// `v` in decimal at `p`; returns how many digits.
    static func writeDecimal(_ v: UInt64, into p: UnsafeMutablePointer<UInt8>) -> Int {
        var c = LineCursor(start: p)
        c.decimal(v)
        return c.pointer - p
    }

    private static func firstIPv4Hex() -> [UInt8] {
        var address: UInt32 = 0x7f00_0001
        var list: UnsafeMutablePointer<ifaddrs>?
        if getifaddrs(&list) == 0 {
            var p = list
            while let a = p {
                if let sa = a.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET) {
                    let v = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                    if v >> 24 != 127 {
                        address = v
                        break
                    }
                }
                p = a.pointee.ifa_next
            }
            freeifaddrs(list)
        }
        return (0..<8).map { i in
            let d = UInt8(truncatingIfNeeded: address >> UInt32(28 - 4 * i)) & 0xf
            return d < 10 ? d + 0x30 : d + 0x57
        }
    }

    private static func randomSeed() -> UInt64 {
        var system = SystemRandomNumberGenerator()
        return system.next()
    }
}
