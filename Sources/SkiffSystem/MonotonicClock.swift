import CSkiffLinux
import Glibc

/// Monotonic clock readings, nanoseconds, and sleeping on that clock.
public enum MonotonicClock {
    /// Precise; for latency measurement and deadlines.
    @inlinable @inline(__always) public static func now() -> UInt64 { cskiff_monotonic_ns(0) }
    /// Coarse (a few ms resolution, cheaper); for idle timeouts and activity stamps.
    @inlinable @inline(__always) public static func coarse() -> UInt64 { cskiff_monotonic_ns(1) }

    /// Sleeps the calling thread `ns` nanoseconds, resuming after a signal until the time is up.
    public static func sleep(ns: UInt64) {
        var request = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && Glibc.errno == EINTR { request = remaining }
    }
}
