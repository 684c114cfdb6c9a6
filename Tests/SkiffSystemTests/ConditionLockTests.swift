import Synchronization
import Testing

@testable import SkiffSystem

/// The futex lock under contention: mutual exclusion, no lost wake-up between producers and consumers, broadcast
/// waking every waiter, and a woken waiter that cannot take the lock at once still getting it.
@Suite struct ConditionLockTests {
    /// A plain value shared between threads, touched only under the lock under test.
    final class Guarded: @unchecked Sendable {
        var value: Int
        init(_ value: Int) { self.value = value }
    }

    /// Four threads add to a plain counter under the lock: no increment is lost (without exclusion the final count
    /// falls short), and the contended path (sleep on the futex, wake one on unlock) is exercised.
    @Test func excludesUnderContention() throws {
        let lock = ConditionLock()
        let counter = Guarded(0)
        let done = Atomic<Int>(0)
        let started = Atomic<Int>(0)
        let threads = 4
        let rounds = 500_000
        for t in 0..<threads {
            try NetThread.start(name: "lock-\(t)") {
                // All start together, so they really contend (a thread alone finishes in a millisecond).
                started.wrappingAdd(1, ordering: .relaxed)
                while started.load(ordering: .relaxed) < threads {}
                for _ in 0..<rounds {
                    lock.lock()
                    counter.value += 1
                    lock.unlock()
                }
                done.wrappingAdd(1, ordering: .releasing)
            }
        }
        let deadline = MonotonicClock.now() + 30_000_000_000
        while done.load(ordering: .acquiring) < threads && MonotonicClock.now() < deadline {
            MonotonicClock.sleep(ns: 1_000_000)
        }
        let finishedThreads = done.load(ordering: .acquiring)
        #expect(finishedThreads == threads)
        #expect(lock.withLock { counter.value } == threads * rounds)
    }

    /// A bounded queue of one slot between a producer and a consumer, both waiting on the same condition: every item
    /// arrives, in order, and neither side sleeps forever (a lost wake-up would hang and hit the deadline).
    @Test func producerAndConsumerNeverLoseAWakeUp() throws {
        let lock = ConditionLock()
        let slot = Guarded(-1)
        let items = 50_000
        let deadline = ConditionLock.deadline(afterNs: 30_000_000_000)
        let producerFinished = Atomic<Bool>(false)
        try NetThread.start(name: "producer") {
            for i in 0..<items {
                lock.withLock {
                    while slot.value != -1 {
                        if !lock.wait(untilMonotonicNs: deadline) { return }
                    }
                    slot.value = i
                    lock.broadcast()
                }
            }
            producerFinished.store(true, ordering: .releasing)
        }
        var received = 0
        var inOrder = true
        lock.withLock {
            while received < items {
                while slot.value == -1 {
                    if !lock.wait(untilMonotonicNs: deadline) { return }
                }
                inOrder = inOrder && slot.value == received
                received += 1
                slot.value = -1
                lock.signal()
            }
        }
        #expect(received == items)
        #expect(inOrder)
        while !producerFinished.load(ordering: .acquiring) && MonotonicClock.now() < deadline {
            MonotonicClock.sleep(ns: 1_000_000)
        }
        let finished = producerFinished.load(ordering: .acquiring)
        #expect(finished)
    }

    /// Broadcast wakes every waiter; each then takes the lock in turn (they wake into a contended lock).
    @Test func broadcastWakesEveryWaiter() throws {
        let lock = ConditionLock()
        let go = Atomic<Bool>(false)
        let waiting = Atomic<Int>(0)
        let woken = Atomic<Int>(0)
        let waiters = 6
        let deadline = ConditionLock.deadline(afterNs: 10_000_000_000)
        for t in 0..<waiters {
            try NetThread.start(name: "waiter-\(t)") {
                lock.withLock {
                    waiting.wrappingAdd(1, ordering: .relaxed)
                    while !go.load(ordering: .relaxed) {
                        if !lock.wait(untilMonotonicNs: deadline) { return }
                    }
                    woken.wrappingAdd(1, ordering: .relaxed)
                }
            }
        }
        while waiting.load(ordering: .relaxed) < waiters { MonotonicClock.sleep(ns: 1_000_000) }
        lock.withLock {
            go.store(true, ordering: .relaxed)
            lock.broadcast()
        }
        while woken.load(ordering: .relaxed) < waiters && MonotonicClock.now() < deadline {
            MonotonicClock.sleep(ns: 1_000_000)
        }
        let wokenCount = woken.load(ordering: .relaxed)
        #expect(wokenCount == waiters)
    }
}
