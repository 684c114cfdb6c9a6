import Synchronization
import Testing

@testable import SkiffEngine

/// The frames' per-thread CPU reads /proc at most once a second per thread, however fast frames go, from any thread
/// that builds a frame, and forgets threads nobody asks about any more.
@Suite struct ThreadCPUCacheTests {
    final class Reads: Sendable {
        let count = Atomic<Int>(0)
    }

    @Test func fastFramesReadEachThreadOnceASecond() {
        let reads = Reads()
        let cache = ThreadCPUCache(maxAgeNs: 1_000_000_000, forgetAfterNs: 10_000_000_000) { tid in
            reads.count.wrappingAdd(1, ordering: .relaxed)
            return UInt64(tid) * 10
        }
        // 20 frames 50 ms apart, 100 threads each.
        for tick in 0..<20 {
            let now = 1 + UInt64(tick) * 50_000_000
            for tid in Int32(1)...100 { #expect(cache.millis(tid: tid, now: now) == UInt64(tid) * 10) }
        }
        #expect(reads.count.load(ordering: .relaxed) == 100, "one read per thread in the first second")
        // A second later each is read again.
        for tid in Int32(1)...99 { _ = cache.millis(tid: tid, now: 1_100_000_000) }
        #expect(reads.count.load(ordering: .relaxed) == 199)
        // Thread 100 is not asked about for over 10 s: forgotten.
        for tid in Int32(1)...99 { _ = cache.millis(tid: tid, now: 11_000_000_000) }
        _ = cache.millis(tid: 1, now: 12_000_000_000)
        #expect(cache.count == 99)
    }

    /// Frames are built by the publisher and, for `snapshot`/`stats`, by control threads at the same time.
    @Test func framesBuiltOnSeveralThreadsAtOnce() async {
        let cache = ThreadCPUCache(maxAgeNs: 0) { UInt64($0) }
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<2000 { _ = cache.millis(tid: Int32(1 + (i + t) % 300), now: UInt64(i) * 1_000_000) }
                }
            }
        }
        #expect(cache.count <= 300)
    }
}
