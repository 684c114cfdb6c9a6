import Glibc

/// MOSN's `start_time` text, `2006/01/02 15:04:05.000` in local time. The seconds part (19 bytes) is formatted once
/// per second and kept; a line adds only the milliseconds. One per lane, so only its executor touches it.
final class StartTimeText {
    private var second: Int = -1
    private let text = UnsafeMutablePointer<UInt8>.allocate(capacity: 19)

    init() { text.initialize(repeating: UInt8(ascii: "0"), count: 19) }

    deinit { text.deallocate() }

    /// Writes the time of `wallNs` (nanoseconds since the epoch).
    @inline(__always)
    func write(_ wallNs: UInt64, into c: inout LineCursor) {
        let s = Int(wallNs / 1_000_000_000)
        if s != second { refresh(s) }
        guard c.reserve(23) else { return }
        c.bytes(UnsafeRawBufferPointer(start: text, count: 19))
        let ms = Int(wallNs / 1_000_000 % 1000)
        c.byte(UInt8(ascii: "."))
        c.byte(UInt8(truncatingIfNeeded: ms / 100) &+ 48)
        c.byte(UInt8(truncatingIfNeeded: ms / 10 % 10) &+ 48)
        c.byte(UInt8(truncatingIfNeeded: ms % 10) &+ 48)
    }

    @inline(never)
    private func refresh(_ s: Int) {
        second = s
        var t = time_t(s)
        var tm = Glibc.tm()
        localtime_r(&t, &tm)
        func put(_ at: Int, _ v: Int32, _ digits: Int) {
            var v = Int(v)
            for i in stride(from: digits - 1, through: 0, by: -1) {
                text[at + i] = UInt8(truncatingIfNeeded: v % 10) &+ 48
                v /= 10
            }
        }
        put(0, tm.tm_year + 1900, 4)
        text[4] = UInt8(ascii: "/")
        put(5, tm.tm_mon + 1, 2)
        text[7] = UInt8(ascii: "/")
        put(8, tm.tm_mday, 2)
        text[10] = UInt8(ascii: " ")
        put(11, tm.tm_hour, 2)
        text[13] = UInt8(ascii: ":")
        put(14, tm.tm_min, 2)
        text[16] = UInt8(ascii: ":")
        put(17, tm.tm_sec, 2)
    }
}

/// The wall clock access logs stamp requests with (`clock_gettime` through the vDSO: no system call).
public enum AccessLogClock {
    /// Nanoseconds since the Unix epoch.
    @inline(__always)
    public static func wallNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
