import Glibc

/// The calling thread's CPU time (what a piece of work cost, whatever else the machine was doing).
public enum ThreadCPUClock {
    /// Nanoseconds of CPU the calling thread has used.
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
