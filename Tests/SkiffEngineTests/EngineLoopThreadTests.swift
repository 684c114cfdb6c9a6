import Glibc
import SkiffNet
import Synchronization
import Testing

@testable import SkiffEngine

/// The engine's tick-and-sleep threads (publisher, drain watcher): they tick until stopped, `stop` waits for the loop
/// to leave, a stop from the loop itself does not wait for itself, and a stopped loop starts again.
@Suite(.timeLimit(.minutes(1)))
struct EngineLoopThreadTests {
    private func waitUntil(_ condition: () -> Bool) -> Bool {
        let deadline = MonotonicClock.now() + 5_000_000_000
        while !condition() && MonotonicClock.now() < deadline { MonotonicClock.sleep(ns: 1_000_000) }
        return condition()
    }

    @Test func ticksUntilStoppedAndStopWaitsForTheLoop() throws {
        let loop = EngineLoopThread(name: "loop-test")
        #expect(loop.isFinished, "never started counts as finished")
        let ticks = Atomic<Int>(0)
        try loop.start(intervalMs: { 5 }, tick: { ticks.add(1, ordering: .relaxed) })
        try loop.start(intervalMs: { 5 }, tick: { ticks.add(1_000_000, ordering: .relaxed) })  // ignored: running
        #expect(waitUntil { ticks.load(ordering: .relaxed) >= 3 })
        #expect(!loop.isFinished)
        loop.stop()
        #expect(loop.isFinished)
        let after = ticks.load(ordering: .relaxed)
        #expect(after < 1_000_000, "the second start did not start a second loop")
        MonotonicClock.sleep(ns: 30_000_000)
        #expect(ticks.load(ordering: .relaxed) == after, "no tick after stop returned")

        try loop.start(intervalMs: { 5 }, tick: { ticks.add(1, ordering: .relaxed) })
        #expect(waitUntil { ticks.load(ordering: .relaxed) > after }, "a stopped loop starts again")
        loop.stop()
        #expect(loop.isFinished)
    }

    @Test func stopCutsALongSleepShort() throws {
        let loop = EngineLoopThread(name: "loop-test")
        let ticks = Atomic<Int>(0)
        try loop.start(intervalMs: { 60_000 }, tick: { ticks.add(1, ordering: .relaxed) })
        #expect(waitUntil { ticks.load(ordering: .relaxed) == 1 })
        let start = MonotonicClock.now()
        loop.stop()
        #expect(loop.isFinished)
        #expect(MonotonicClock.now() - start < 1_000_000_000)
    }

    @Test func stopFromTheLoopItselfDoesNotWaitForItself() throws {
        let loop = EngineLoopThread(name: "loop-test")
        let ticks = Atomic<Int>(0)
        try loop.start(intervalMs: { 5 }) {
            ticks.add(1, ordering: .relaxed)
            loop.stop()
        }
        #expect(waitUntil { loop.isFinished })
        MonotonicClock.sleep(ns: 30_000_000)
        #expect(ticks.load(ordering: .relaxed) == 1)
    }
}
