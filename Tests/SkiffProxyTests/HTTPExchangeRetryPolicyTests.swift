import SkiffConfig
import Testing

@testable import SkiffProxy

/// A route's `retry_policy` as the exchange applies it: a `RouteEntry` built from config hands its budget and
/// conditions to `HTTPExchangeState`, and its `shouldRetry(status:)` says which response statuses count.
@Suite struct HTTPExchangeRetryPolicyTests {
    static func entry(retryOn: [String], retries: Int, statusCodes: [Int] = []) -> RouteEntry {
        let policy = RetryPolicyConfig(
            retryOn: retryOn, retryTimeout: nil, numRetries: retries, statusCodes: statusCodes)
        return RouteEntry(
            .route(RouteTargetConfig(clusterName: "c", retryPolicy: policy)), virtualHostName: "v",
            virtualHostIndex: 0, routeIndex: 0, matchedPrefixLength: 0)
    }

    static func sent(_ entry: RouteEntry, replayable: Bool = true) -> HTTPExchangeState {
        var s = HTTPExchangeState()
        s.begin(method: .get, version: .http11, connectionClose: false, bodyComplete: true)
        s.routed(by: entry, replayable: replayable)
        return s
    }

    @Test func fiveXXPolicyRetriesA503() {
        let e = Self.entry(retryOn: ["5xx"], retries: 1)
        var s = Self.sent(e)
        #expect(s.responseHead(status: 503, retriable: e.shouldRetry(status: 503)) == .retry)
        #expect(s.responseHead(status: 503, retriable: e.shouldRetry(status: 503)) == .forwardFinal)
    }

    @Test func fiveXXPolicyForwardsA4xx() {
        let e = Self.entry(retryOn: ["5xx"], retries: 3)
        var s = Self.sent(e)
        #expect(s.responseHead(status: 429, retriable: e.shouldRetry(status: 429)) == .forwardFinal)
    }

    @Test func listedStatusIsRetriedOnlyWhenListed() {
        let e = Self.entry(retryOn: ["retriable-status-codes"], retries: 2, statusCodes: [409])
        var s = Self.sent(e)
        #expect(s.responseHead(status: 409, retriable: e.shouldRetry(status: 409)) == .retry)
        #expect(s.responseHead(status: 500, retriable: e.shouldRetry(status: 500)) == .forwardFinal)
    }

    @Test func listedCodesWithoutTheConditionAreIgnored() {
        let e = Self.entry(retryOn: ["reset"], retries: 2, statusCodes: [409])
        #expect(!e.shouldRetry(status: 409))
    }

    @Test func connectFailurePolicyDoesNotCoverResets() {
        let e = Self.entry(retryOn: ["connect-failure"], retries: 2)
        var s = Self.sent(e)
        #expect(s.upstreamLost(connectFailure: true, staleReuse: false) == .retry(counted: true))
        #expect(
            s.upstreamLost(connectFailure: false, staleReuse: false)
                == .reply(status: 502, reason: "upstream reset before response"))
    }

    @Test func resetPolicyDoesNotCoverConnectFailures() {
        let e = Self.entry(retryOn: ["reset"], retries: 2)
        var s = Self.sent(e)
        #expect(s.upstreamLost(connectFailure: false, staleReuse: false) == .retry(counted: true))
        #expect(
            s.upstreamLost(connectFailure: true, staleReuse: false)
                == .reply(status: 503, reason: "upstream connect failure"))
    }

    @Test func routeWithoutPolicyNeverRetriesButStaleReuse() {
        let e = RouteEntry(
            .route(RouteTargetConfig(clusterName: "c")), virtualHostName: "v", virtualHostIndex: 0, routeIndex: 0,
            matchedPrefixLength: 0)
        var s = Self.sent(e)
        #expect(!e.shouldRetry(status: 503))
        #expect(s.upstreamLost(connectFailure: false, staleReuse: true) == .retry(counted: false))
        #expect(
            s.upstreamLost(connectFailure: true, staleReuse: false)
                == .reply(status: 503, reason: "upstream connect failure"))
    }
}
