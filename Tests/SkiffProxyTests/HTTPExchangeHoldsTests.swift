import SkiffProtocol
import Testing

@testable import SkiffProxy

/// What an exchange holds (the listener's active request, the cluster's request and retry slots) and gives back
/// exactly once, and the client's flow control, driven through `HTTPExchangeState`.
@Suite struct HTTPExchangeHoldsTests {
    @Test func beginHoldsOnlyTheActiveRequest() {
        var s = HTTPExchangeState()
        #expect(s.holds.isEmpty)
        s.begin(method: .get, version: .http11, connectionClose: false, bodyComplete: true)
        #expect(s.holds == .activeRequest)
    }

    @Test func admissionAddsTheClusterRequest() {
        var s = HTTPExchangeState()
        s.begin(method: .get, version: .http11, connectionClose: false, bodyComplete: true)
        s.admitted()
        #expect(s.holds == [.activeRequest, .clusterRequest])
    }

    @Test func releaseGivesEverythingBackOnce() {
        var s = HTTPExchangeState()
        s.begin(method: .get, version: .http11, connectionClose: false, bodyComplete: true)
        s.admitted()
        s.retryAdmitted()
        #expect(s.releaseHolds() == [.activeRequest, .clusterRequest, .clusterRetry])
        #expect(s.releaseHolds().isEmpty, "a second release gives back nothing")
    }

    @Test func aRetrySlotIsTakenOnceForAllRetriesOfAnExchange() {
        var s = HTTPExchangeState()
        s.begin(method: .get, version: .http11, connectionClose: false, bodyComplete: true)
        s.admitted()
        #expect(s.needsRetryAdmission)
        s.retryAdmitted()
        #expect(!s.needsRetryAdmission, "the second retry reuses the slot")
        _ = s.releaseHolds()
        #expect(s.needsRetryAdmission, "the next request starts without one")
    }

    @Test func refusedRequestHoldsNoClusterSlot() {
        var s = HTTPExchangeState()
        s.begin(method: .get, version: .http11, connectionClose: false, bodyComplete: true)
        // The breaker refused: `admitted` is never called, so ending gives back only the listener's count.
        #expect(s.releaseHolds() == .activeRequest)
    }

    @Test func clearStartsOverWithTheClientWritable() {
        var s = HTTPExchangeState()
        s.begin(method: .post, version: .http10, connectionClose: true, bodyComplete: false)
        s.clientWritabilityChanged(false)
        #expect(!s.clientWritable)
        _ = s.releaseHolds()
        s.clear()
        #expect(s.clientWritable)
        #expect(s.phase == .idle)
        #expect(s.requestComplete)
    }
}
