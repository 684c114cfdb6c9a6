import Glibc

/// Wall-clock readings for what people read (check times, ejection deadlines); intervals use `MonotonicClock`.
public enum WallClock {
    /// Milliseconds since the Unix epoch.
    public static func millis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec / 1_000_000)
    }
}
