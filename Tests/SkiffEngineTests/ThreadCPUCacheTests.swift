import Testing

@testable import SkiffEngine

/// The frames' per-thread CPU reads /proc at most once a second per thread, however fast frames go, and forgets
/// threads that are gone.
@Suite struct ThreadCPUCacheTests {
    @Test func fastFramesReadEachThreadOnceASecond() {
        var procReads: [Int32] = []
        let cache = ThreadCPUCache(maxAgeNs: 1_000_000_000) { tid in
            procReads.append(tid)
            return UInt64(tid) * 10
        }
        // 20 frames 50 ms apart, 100 threads each.
        for tick in 0..<20 {
            cache.beginTick(now: UInt64(tick) * 50_000_000)
            for tid in Int32(1)...100 { #expect(cache.millis(tid: tid) == UInt64(tid) * 10) }
            cache.endTick()
        }
        #expect(procReads.count == 100, "one read per thread in the first second, not \(procReads.count)")
        // A second later every thread is read again; one that is gone is forgotten.
        cache.beginTick(now: 1_050_000_000)
        for tid in Int32(1)...99 { _ = cache.millis(tid: tid) }
        cache.endTick()
        #expect(procReads.count == 199)
        cache.beginTick(now: 1_100_000_000)
        _ = cache.millis(tid: 100)
        cache.endTick()
        #expect(procReads.count == 200, "thread 100 was forgotten when a tick did not see it")
    }
}
