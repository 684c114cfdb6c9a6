/// Whether an HTTP/2 stream has gone quiet, as a value: every frame either way (and response bytes the client takes)
/// `bump`s it, and the client connection's timer sweeps it about once a second (`quietFor`), so no frame reads the
/// clock. The start may be read from the precise clock and the sweeps from the coarse one, a tick behind: a sweep
/// that seems earlier than the start is no quiet at all. Confined to the stream's executor.
struct HTTP2StreamIdleness {
    private var activity: UInt32 = 0
    private var swept: UInt32 = 0
    /// When a sweep last saw the activity change (or the stream began).
    private var quietSinceNs: UInt64
    /// A 408 already went out for this quiet (the next one resets the stream, uncounted).
    var answered = false

    init(startNs: UInt64 = 0) { quietSinceNs = startNs }

    @inline(__always) mutating func bump() { activity &+= 1 }

    /// True when nothing moved from `timeoutNs` before `now` until `now`; the next quiet period starts at `now`.
    mutating func quietFor(_ timeoutNs: UInt64, now: UInt64) -> Bool {
        if activity != swept {
            swept = activity
            quietSinceNs = now
            return false
        }
        guard now > quietSinceNs, now - quietSinceNs >= timeoutNs else { return false }
        quietSinceNs = now
        return true
    }
}
