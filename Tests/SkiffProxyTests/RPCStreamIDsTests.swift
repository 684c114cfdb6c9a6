import Testing

@testable import SkiffProxy

/// Upstream stream ids: fresh ones in order, a wrap back to 1, and after it no id that is still in flight.
@Suite struct RPCStreamIDsTests {
    @Test func countsUpAndWrapsAtTheLastID() {
        var ids = RPCStreamIDs(last: 4)
        var lookups = 0
        let taken = (0..<6).map { _ in ids.take { _ in lookups += 1; return false } }
        #expect(taken == [1, 2, 3, 4, 1, 2])
        // Ids 1...3 were fresh: no table lookup; from the wrap on, each take asks.
        #expect(lookups == 3)
    }

    @Test func afterAWrapIdsStillInFlightAreSkipped() {
        var ids = RPCStreamIDs(last: 5)
        for _ in 0..<5 { _ = ids.take { _ in false } }
        // 1 and 3 still wait for their answers.
        let inFlight: Set<UInt64> = [1, 3]
        let next = (0..<3).map { _ in ids.take { inFlight.contains($0) } }
        #expect(next == [2, 4, 5])
    }

    @Test func everyIDInFlightStillReturnsOne() {
        var ids = RPCStreamIDs(last: 3)
        for _ in 0..<3 { _ = ids.take { _ in false } }
        // Cannot happen with real limits (2^31 streams on one connection); the take still ends.
        #expect((1...3).contains(ids.take { _ in true }))
    }
}
