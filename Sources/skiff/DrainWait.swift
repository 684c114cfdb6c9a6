import Glibc
import SkiffTelemetry

/// `skiff ctl drain --wait`'s answer to "how long did it take": the `host.drained` event's `elapsed_ms`, so the line
/// it prints and the event (Events view, `skiff ctl events`) say the same time. The event comes from the drain
/// watcher's next tick after the host's work is done; until it is in the ring this returns nil and the caller keeps
/// polling.
enum DrainWait {
    /// Wall-clock milliseconds now (the daemon stamps events with the same clock on this machine).
    static func wallMs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec / 1_000_000)
    }

    /// The newest `host.drained` event for `cluster`/`host` stamped at or after `sinceMs`: its `elapsed_ms`.
    static func drainedElapsedMs(_ c: ControlClient, cluster: String, host: String, sinceMs: UInt64) throws -> UInt64? {
        let reply = EventsReply(json: try c.request(#"{"id":3,"cmd":"events","limit":200,"kind":"host.drained"}"#))
        for e in reply.events.reversed() where e.ts >= sinceMs {
            if case .hostDrained(let d) = e.body, d.cluster == cluster, d.host == host { return d.elapsedMs }
        }
        return nil
    }

    /// `1.631 s (1631 ms)`.
    static func text(ms: UInt64) -> String {
        let frac = ms % 1000
        let pad = frac < 10 ? "00" : frac < 100 ? "0" : ""
        return "\(ms / 1000).\(pad)\(frac) s (\(ms) ms)"
    }
}
