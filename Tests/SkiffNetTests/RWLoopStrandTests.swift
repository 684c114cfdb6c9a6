import Glibc
import SkiffTestSupport
import Synchronization
import Testing

@testable import SkiffNet

/// Counts without a lock: only safe while the strand keeps its users apart, which is what is checked.
final class UnguardedCounter: @unchecked Sendable {
    var value = 0
}

/// The strand (RWLoopStrand.swift): a serial executor without a thread, run by whoever submits to it while it is
/// idle; timers through the clock thread; the pool's leases.
@Suite struct RWLoopStrandTests {
    /// Work submitted to an idle strand runs at once on the submitting thread, which is then "in" the strand.
    @Test func idleStrandRunsWorkInlineOnTheSubmittingThread() {
        let strand = RWLoopStrand(index: 0)
        let ran = Atomic<Bool>(false)
        let inside = Atomic<Bool>(false)
        let me = pthread_self()
        strand.execute {
            ran.store(true, ordering: .relaxed)
            inside.store(strand.inExecutor && pthread_equal(pthread_self(), me) != 0, ordering: .relaxed)
        }
        let ranAtOnce = ran.load(ordering: .relaxed)
        let wasInside = inside.load(ordering: .relaxed)
        #expect(ranAtOnce, "did not run before execute returned")
        #expect(wasInside)
        #expect(!strand.inExecutor)
    }

    /// Four threads submitting 5,000 tasks each: never two at once, none lost, and each thread's tasks in order.
    @Test func concurrentSubmittersRunOneAtATimeInOrder() throws {
        let strand = RWLoopStrand(index: 0)
        let counter = UnguardedCounter()
        let busy = Atomic<Bool>(false)
        let overlaps = Atomic<Int>(0)
        let outOfOrder = Atomic<Int>(0)
        let last = Mutex<[Int]>([-1, -1, -1, -1])
        let done = Atomic<Int>(0)
        for t in 0..<4 {
            try NetThread.start(name: "strand-test", stackSize: 1 << 20) {
                for i in 0..<5000 {
                    strand.execute {
                        if busy.exchange(true, ordering: .acquiring) { overlaps.wrappingAdd(1, ordering: .relaxed) }
                        counter.value += 1
                        let previous = last.withLock { l -> Int in
                            defer { l[t] = i }
                            return l[t]
                        }
                        if previous != i - 1 { outOfOrder.wrappingAdd(1, ordering: .relaxed) }
                        busy.store(false, ordering: .releasing)
                    }
                }
                done.wrappingAdd(1, ordering: .relaxed)
            }
        }
        #expect(waitUntil(seconds: 30) { done.load(ordering: .relaxed) == 4 })
        // The last queued tasks run on whichever thread holds the strand: wait for them.
        #expect(waitUntil { strand.execute {}; return last.withLock { $0 } == [4999, 4999, 4999, 4999] })
        strand.execute { #expect(counter.value == 20_000) }
        #expect(overlaps.load(ordering: .relaxed) == 0)
        #expect(outOfOrder.load(ordering: .relaxed) == 0)
    }

    /// A thread running one strand never runs another nested: the second strand's work goes to the clock thread.
    @Test func workForAnotherStrandIsHandedToTheClockThread() {
        let a = RWLoopStrand(index: 0)
        let b = RWLoopStrand(index: 1)
        let ranNested = Atomic<Bool>(false)
        let ranB = Atomic<Bool>(false)
        let aHeldWhileBRan = Atomic<Bool>(true)
        a.execute {
            b.execute {
                ranB.store(true, ordering: .relaxed)
                aHeldWhileBRan.store(a.inExecutor, ordering: .relaxed)
            }
            ranNested.store(ranB.load(ordering: .relaxed), ordering: .relaxed)
        }
        let nested = ranNested.load(ordering: .relaxed)
        #expect(!nested, "b's work ran inside a's")
        #expect(waitUntil { ranB.load(ordering: .relaxed) })
        let aHeld = aHeldWhileBRan.load(ordering: .relaxed)
        #expect(!aHeld)
    }

    /// A runner that others keep feeding gives up after its fair share and gets back to its own work: the rest runs
    /// on the clock thread, in order.
    @Test func aRunnerThatIsKeptBusyHandsTheRestToTheClock() {
        let strand = RWLoopStrand(index: 0)
        let done = Atomic<Int>(0)
        let onCaller = Atomic<Int>(0)
        let caller = UInt(pthread_self())
        let threads = Mutex<Set<UInt>>([])
        @Sendable func link(_ i: Int) {
            threads.withLock { _ = $0.insert(UInt(pthread_self())) }
            if UInt(pthread_self()) == caller { onCaller.wrappingAdd(1, ordering: .relaxed) }
            done.wrappingAdd(1, ordering: .relaxed)
            if i < 1000 { strand.submit(.task { link(i + 1) }) }  // queued behind the running item
        }
        strand.execute { link(1) }
        // Counted by thread, not by time: the clock thread may finish the rest before this line runs.
        let ranHere = onCaller.load(ordering: .relaxed)
        #expect(ranHere <= Int(RWLoopStrand.fairShare) + 1, "the submitting thread ran \(ranHere) of 1000")
        #expect(waitUntil { done.load(ordering: .relaxed) == 1000 })
        #expect(strand.handOffs.load(ordering: .relaxed) >= 1)
        #expect(threads.withLock { $0.count } >= 2, "everything ran on one thread")
    }

    /// Timers armed on a strand fire on it (through the clock thread when nobody else runs it), in deadline order;
    /// a cancelled one does not fire.
    @Test func timersFireOnTheStrandThroughTheClock() {
        let strand = RWLoopStrand(index: 0)
        let fired = Mutex<[String]>([])
        let onStrand = Atomic<Int>(0)
        func timer(_ name: String) -> PollerTimer {
            PollerTimer {
                fired.withLock { $0.append(name) }
                if strand.inExecutor { onStrand.wrappingAdd(1, ordering: .relaxed) }
            }
        }
        let late = timer("late")
        let early = timer("early")
        let cancelled = timer("cancelled")
        strand.execute {
            strand.arm(late, afterNs: 300_000_000)
            strand.arm(early, afterNs: 60_000_000)
            strand.arm(cancelled, afterNs: 100_000_000)
            cancelled.cancel()
        }
        let start = MonotonicClock.now()
        #expect(waitUntil { fired.withLock { $0.count } == 2 })
        let took = Double(MonotonicClock.now() - start) / 1e9
        #expect(fired.withLock { $0 } == ["early", "late"])
        #expect(onStrand.load(ordering: .relaxed) == 2)
        #expect(took > 0.25 && took < 2, "fired after \(took) s")
        usleep(150_000)
        #expect(fired.withLock { $0.count } == 2)
    }

    /// Leases spread over new strands up to the limit, then share the least used; a released strand is reused.
    @Test func leasesSpreadThenShare() {
        let pool = RWLoopStrandPool(limit: 2)
        let a = pool.lease()
        let b = pool.lease()
        #expect(a !== b)
        let c = pool.lease()
        #expect(c === a, "the first of the least used")
        #expect(pool.usage.strands == 2 && pool.usage.users == 3)
        pool.release(a)
        pool.release(c)
        #expect(pool.lease() === a, "an unused strand before a used one")
        #expect(pool.usage.strands == 2 && pool.usage.users == 2)
    }
}
