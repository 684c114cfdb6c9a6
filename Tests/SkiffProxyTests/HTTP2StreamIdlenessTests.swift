import Testing

@testable import SkiffProxy

/// A stream's idleness against the connection's sweeps: activity restarts the quiet, the timeout is counted from the
/// last sweep that saw activity (or the start), and a sweep whose coarse clock reads earlier than the precise start
/// (a tick behind) is no quiet at all: it once answered new streams 408 at once.
@Suite struct HTTP2StreamIdlenessTests {
    func sweep(_ s: inout HTTP2StreamIdleness, _ timeoutNs: UInt64, now: UInt64) -> Bool {
        s.quietFor(timeoutNs, now: now)
    }

    @Test func quietIsCountedFromTheLastActivitySeen() {
        var s = HTTP2StreamIdleness(startNs: 1_000)
        #expect(!sweep(&s, 500, now: 1_400))
        #expect(sweep(&s, 500, now: 1_500))
        // The next quiet period starts at that sweep.
        #expect(!sweep(&s, 500, now: 1_900))
        s.bump()
        #expect(!sweep(&s, 500, now: 2_100))  // saw activity: quiet from 2_100
        #expect(!sweep(&s, 500, now: 2_500))
        #expect(sweep(&s, 500, now: 2_600))
    }

    @Test func aSweepBehindTheStartIsNoQuiet() {
        var s = HTTP2StreamIdleness(startNs: 10_000_000)
        // The coarse clock a tick behind the precise start: 4 ms "before" the stream began.
        #expect(!sweep(&s, 300_000_000_000, now: 6_000_000))
        #expect(!sweep(&s, 1, now: 10_000_000))
        #expect(sweep(&s, 1, now: 10_000_001))
    }
}
