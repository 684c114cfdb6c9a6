import CSkiffLinux
import Glibc

/// Monotonic clock readings, nanoseconds, and sleeping on that clock.
public enum MonotonicClock {
    /// Precise; for latency measurement and deadlines.
    @inlinable @inline(__always) public static func now() -> UInt64 { read(CLOCK_MONOTONIC) }
    /// Coarse (a few ms resolution, cheaper); for idle timeouts and activity stamps.
    @inlinable @inline(__always) public static func coarse() -> UInt64 { read(CLOCK_MONOTONIC_COARSE) }

    /// `clock_gettime` called in place (through the vDSO), not through a C helper: a request reads the clock up to
    /// four times.
    @inlinable @inline(__always) static func read(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(truncatingIfNeeded: ts.tv_sec) &* 1_000_000_000 &+ UInt64(truncatingIfNeeded: ts.tv_nsec)
    }

    /// Sleeps the calling thread `ns` nanoseconds, resuming after a signal until the time is up.
    public static func sleep(ns: UInt64) {
        var request = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && Glibc.errno == EINTR { request = remaining }
    }
}
