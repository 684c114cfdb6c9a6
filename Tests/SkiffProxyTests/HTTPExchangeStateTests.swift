import SkiffProtocol
import Testing

@testable import SkiffProxy

/// The HTTP exchange's decisions, driven in-process through `HTTPExchangeState` with events, checking what it
/// answers: no sockets, no pools, no timers. The end-to-end suites check the same behaviours over real sockets.
@Suite struct HTTPExchangeStateTests {
    /// A request that was routed to a cluster and sent upstream.
    static func sent(
        method: HTTPMethod = .get, version: HTTPVersion = .http11, close: Bool = false, bodyComplete: Bool = true,
        retries: Int = 0, onConnectFailure: Bool = false, onReset: Bool = false, replayable: Bool = true
    ) -> HTTPExchangeState {
        var s = HTTPExchangeState()
        s.begin(method: method, version: version, connectionClose: close, bodyComplete: bodyComplete)
        s.routed(retries: retries, onConnectFailure: onConnectFailure, onReset: onReset, replayable: replayable)
        return s
    }

    // MARK: - Phases

    @Test func newStateIsIdle() {
        let s = HTTPExchangeState()
        #expect(s.phase == .idle)
        #expect(!s.responseStarted)
    }

    @Test func beginRecordsTheRequestAndRoutes() {
        var s = HTTPExchangeState()
        s.begin(method: .post, version: .http10, connectionClose: true, bodyComplete: false)
        #expect(s.phase == .routing)
        #expect(s.method == .post)
        #expect(s.version == .http10)
        #expect(s.requestClose)
        #expect(!s.requestComplete)
    }

    @Test func routedAwaitsTheResponseWithItsBudget() {
        let s = Self.sent(retries: 3, onConnectFailure: true, onReset: false, replayable: true)
        #expect(s.phase == .awaitingResponse)
        #expect(s.retriesLeft == 3)
        #expect(s.retryOnConnectFailure)
        #expect(!s.retryOnReset)
        #expect(s.replayable)
    }

    @Test func beginClearsThePreviousRequest() {
        var s = Self.sent(retries: 2, onReset: true)
        _ = s.responseHead(status: 200, retriable: false)
        s.finished()
        s.begin(method: .get, version: .http11, connectionClose: false, bodyComplete: true)
        #expect(s.phase == .routing)
        #expect(s.retriesLeft == 0)
        #expect(!s.retryOnReset)
        #expect(!s.replayable)
        #expect(s.responseStatus == 0)
    }

    // MARK: - Retries on a response status

    @Test func retriableStatusWithBudgetRetries() {
        var s = Self.sent(retries: 1)
        #expect(s.responseHead(status: 503, retriable: true) == .retry)
        #expect(s.retriesLeft == 0)
        #expect(s.phase == .awaitingResponse)
        #expect(!s.responseStarted)
    }

    @Test func retriableStatusWithoutBudgetIsForwarded() {
        var s = Self.sent(retries: 0)
        #expect(s.responseHead(status: 503, retriable: true) == .forwardFinal)
        #expect(s.responseStatus == 503)
        #expect(s.responseStarted)
    }

    @Test func statusNotRetriableIsForwardedEvenWithBudget() {
        var s = Self.sent(retries: 2)
        #expect(s.responseHead(status: 500, retriable: false) == .forwardFinal)
        #expect(s.retriesLeft == 2)
    }

    @Test func unreplayableRequestIsNeverRetriedOnStatus() {
        var s = Self.sent(retries: 2, replayable: false)
        #expect(s.responseHead(status: 502, retriable: true) == .forwardFinal)
    }

    @Test func retryBudgetRunsOutAfterNumRetries() {
        var s = Self.sent(retries: 2)
        #expect(s.responseHead(status: 503, retriable: true) == .retry)
        #expect(s.responseHead(status: 503, retriable: true) == .retry)
        #expect(s.responseHead(status: 503, retriable: true) == .forwardFinal)
        #expect(s.responseStatus == 503)
    }

    @Test func successAfterRetryIsForwarded() {
        var s = Self.sent(retries: 1)
        #expect(s.responseHead(status: 503, retriable: true) == .retry)
        #expect(s.responseHead(status: 200, retriable: false) == .forwardFinal)
        #expect(s.responseStatus == 200)
    }

    // MARK: - 1xx

    @Test func continueIsForwardedWithoutEndingTheExchange() {
        var s = Self.sent()
        #expect(s.responseHead(status: 100, retriable: false) == .forwardInterim)
        #expect(s.responseStatus == 0)
        #expect(s.responseStarted)
        #expect(s.phase == .responding)
    }

    @Test(arguments: [100, 102, 103, 199])
    func everyInterimStatusIsForwarded(status: Int) {
        var s = Self.sent()
        #expect(s.responseHead(status: status, retriable: false) == .forwardInterim)
    }

    @Test func finalHeadFollowsAnInterimOne() {
        var s = Self.sent()
        _ = s.responseHead(status: 100, retriable: false)
        #expect(s.responseHead(status: 201, retriable: false) == .forwardFinal)
        #expect(s.responseStatus == 201)
    }

    @Test func noStatusRetryAfterAnInterimHeadWentDownstream() {
        var s = Self.sent(retries: 3)
        _ = s.responseHead(status: 100, retriable: false)
        #expect(s.responseHead(status: 503, retriable: true) == .forwardFinal)
        #expect(s.retriesLeft == 3)
    }

    // MARK: - Upstream lost

    @Test func connectFailureWithPolicyRetries() {
        var s = Self.sent(retries: 1, onConnectFailure: true)
        #expect(s.upstreamLost(connectFailure: true, staleReuse: false) == .retry(counted: true))
        #expect(s.retriesLeft == 0)
    }

    @Test func connectFailureWithoutPolicyAnswers503() {
        var s = Self.sent(retries: 1, onReset: true)
        #expect(
            s.upstreamLost(connectFailure: true, staleReuse: false)
                == .reply(status: 503, reason: "upstream connect failure"))
    }

    @Test func resetWithPolicyRetries() {
        var s = Self.sent(retries: 1, onReset: true)
        #expect(s.upstreamLost(connectFailure: false, staleReuse: false) == .retry(counted: true))
    }

    @Test func resetBeforeHeadersWithoutPolicyAnswers502() {
        var s = Self.sent(retries: 1, onConnectFailure: true)
        #expect(
            s.upstreamLost(connectFailure: false, staleReuse: false)
                == .reply(status: 502, reason: "upstream reset before response"))
    }

    @Test func resetAfterHeadersCutsTheClient() {
        var s = Self.sent(retries: 3, onReset: true)
        _ = s.responseHead(status: 200, retriable: false)
        #expect(s.upstreamLost(connectFailure: false, staleReuse: false) == .cutClient)
        #expect(s.retriesLeft == 3)
    }

    @Test func resetAfterAnInterimHeadCutsTheClient() {
        var s = Self.sent(retries: 3, onReset: true)
        _ = s.responseHead(status: 100, retriable: false)
        #expect(s.upstreamLost(connectFailure: false, staleReuse: false) == .cutClient)
    }

    @Test func unreplayableRequestIsNotRetriedAfterReset() {
        var s = Self.sent(retries: 2, onConnectFailure: true, onReset: true, replayable: false)
        #expect(
            s.upstreamLost(connectFailure: false, staleReuse: false)
                == .reply(status: 502, reason: "upstream reset before response"))
        #expect(
            s.upstreamLost(connectFailure: true, staleReuse: false)
                == .reply(status: 503, reason: "upstream connect failure"))
    }

    @Test func connectRetriesStopWhenTheBudgetIsSpent() {
        var s = Self.sent(retries: 2, onConnectFailure: true)
        #expect(s.upstreamLost(connectFailure: true, staleReuse: false) == .retry(counted: true))
        #expect(s.upstreamLost(connectFailure: true, staleReuse: false) == .retry(counted: true))
        #expect(
            s.upstreamLost(connectFailure: true, staleReuse: false)
                == .reply(status: 503, reason: "upstream connect failure"))
    }

    @Test func staleKeepAliveConnectionGetsAFreeRetry() {
        var s = Self.sent(retries: 0)
        #expect(s.upstreamLost(connectFailure: false, staleReuse: true) == .retry(counted: false))
        #expect(s.retriesLeft == 0)
    }

    @Test func freeRetryDoesNotSpendTheBudget() {
        var s = Self.sent(retries: 1, onReset: true)
        #expect(s.upstreamLost(connectFailure: false, staleReuse: true) == .retry(counted: false))
        #expect(s.retriesLeft == 1)
        #expect(s.upstreamLost(connectFailure: false, staleReuse: false) == .retry(counted: true))
        #expect(s.retriesLeft == 0)
    }

    @Test func staleReuseOfAnUnreplayableRequestIsNotRetried() {
        var s = Self.sent(retries: 0, replayable: false)
        #expect(
            s.upstreamLost(connectFailure: false, staleReuse: true)
                == .reply(status: 502, reason: "upstream reset before response"))
    }

    @Test func staleReuseAfterTheResponseBeganCutsTheClient() {
        var s = Self.sent()
        _ = s.responseHead(status: 200, retriable: false)
        #expect(s.upstreamLost(connectFailure: false, staleReuse: true) == .cutClient)
    }

    // MARK: - Other failures and the route timeout

    @Test func invalidResponseBeforeHeadersAnswers502() {
        let s = Self.sent()
        #expect(s.upstreamFailed(status: 502) == .reply(status: 502))
    }

    @Test func invalidResponseAfterHeadersCutsTheClient() {
        var s = Self.sent()
        _ = s.responseHead(status: 200, retriable: false)
        #expect(s.upstreamFailed(status: 502) == .cutClient)
    }

    @Test func routeTimeoutBeforeHeadersAnswers504() {
        let s = Self.sent()
        #expect(s.timedOut() == .reply(status: 504))
    }

    @Test func routeTimeoutAfterHeadersCutsTheClient() {
        var s = Self.sent()
        _ = s.responseHead(status: 200, retriable: false)
        #expect(s.timedOut() == .cutClient)
    }

    @Test func routeTimeoutDuringRetriesStillAnswers504() {
        var s = Self.sent(retries: 2)
        _ = s.responseHead(status: 503, retriable: true)
        #expect(s.timedOut() == .reply(status: 504))
    }

    // MARK: - Close after the response

    @Test func keepAliveRequestKeepsTheConnection() {
        let s = Self.sent()
        #expect(!s.closeAfterResponse(untilClose: false, clientClosedRead: false, shuttingDown: false))
    }

    @Test func connectionCloseRequestClosesAfter() {
        let s = Self.sent(close: true)
        #expect(s.closeAfterResponse(untilClose: false, clientClosedRead: false, shuttingDown: false))
    }

    @Test func untilCloseBodyClosesAfter() {
        let s = Self.sent()
        #expect(s.closeAfterResponse(untilClose: true, clientClosedRead: false, shuttingDown: false))
    }

    @Test func incompleteRequestBodyClosesAfter() {
        let s = Self.sent(bodyComplete: false)
        #expect(s.closeAfterResponse(untilClose: false, clientClosedRead: false, shuttingDown: false))
    }

    @Test func requestBodyFinishingKeepsTheConnection() {
        var s = Self.sent(bodyComplete: false)
        s.requestComplete = true
        #expect(!s.closeAfterResponse(untilClose: false, clientClosedRead: false, shuttingDown: false))
    }

    @Test func shuttingDownClosesAfter() {
        let s = Self.sent()
        #expect(s.closeAfterResponse(untilClose: false, clientClosedRead: false, shuttingDown: true))
    }

    @Test func clientHalfCloseClosesAfter() {
        let s = Self.sent()
        #expect(s.closeAfterResponse(untilClose: false, clientClosedRead: true, shuttingDown: false))
    }

    @Test func failureReplyClosesWhenTheBodyIsUnfinished() {
        #expect(Self.sent(bodyComplete: false).closeAfterFailure(clientClosedRead: false))
        #expect(Self.sent(close: true).closeAfterFailure(clientClosedRead: false))
        #expect(Self.sent().closeAfterFailure(clientClosedRead: true))
        #expect(!Self.sent().closeAfterFailure(clientClosedRead: false))
    }

    // MARK: - Upstream reuse

    @Test func completeResponseParksTheUpstream() {
        let s = Self.sent()
        #expect(s.upstreamReusable(inStep: true, upstreamClose: false, responseComplete: true))
    }

    @Test func upstreamIsNotReusedWhenOutOfStepClosingOrUnfinished() {
        let s = Self.sent()
        #expect(!s.upstreamReusable(inStep: false, upstreamClose: false, responseComplete: true))
        #expect(!s.upstreamReusable(inStep: true, upstreamClose: true, responseComplete: true))
        #expect(!s.upstreamReusable(inStep: true, upstreamClose: false, responseComplete: false))
        let unfinished = Self.sent(bodyComplete: false)
        #expect(!unfinished.upstreamReusable(inStep: true, upstreamClose: false, responseComplete: true))
    }

    // MARK: - Replayable requests

    @Test func bodylessRequestIsReplayable() {
        #expect(
            HTTPExchangeState.isReplayable(
                bodyKind: .none, available: 0, maxReplayBytes: 0, headBytes: 100, capacity: 200))
        #expect(
            HTTPExchangeState.isReplayable(
                bodyKind: .contentLength(0), available: 0, maxReplayBytes: 0, headBytes: 100, capacity: 200))
    }

    @Test func smallBodyAllHereIsReplayable() {
        #expect(
            HTTPExchangeState.isReplayable(
                bodyKind: .contentLength(10), available: 10, maxReplayBytes: 64, headBytes: 100, capacity: 200))
    }

    @Test func bodyNotAllHereTooLargeOrNotFittingIsNotReplayable() {
        #expect(
            !HTTPExchangeState.isReplayable(
                bodyKind: .contentLength(10), available: 9, maxReplayBytes: 64, headBytes: 100, capacity: 200))
        #expect(
            !HTTPExchangeState.isReplayable(
                bodyKind: .contentLength(100), available: 100, maxReplayBytes: 64, headBytes: 100, capacity: 400))
        #expect(
            !HTTPExchangeState.isReplayable(
                bodyKind: .contentLength(50), available: 50, maxReplayBytes: 64, headBytes: 180, capacity: 200))
    }

    @Test(arguments: [HTTPBodyKind.chunked, .untilClose])
    func streamedBodyIsNotReplayable(kind: HTTPBodyKind) {
        #expect(
            !HTTPExchangeState.isReplayable(
                bodyKind: kind, available: 1000, maxReplayBytes: 1 << 20, headBytes: 10, capacity: 1 << 16))
    }

    // MARK: - Local replies before any upstream

    @Test func localReplySkipsABodyThatIsAllHere() {
        var s = HTTPExchangeState()
        s.begin(method: .post, version: .http11, connectionClose: false, bodyComplete: false)
        let (skip, close) = s.skipBodyForLocalReply(bodyKind: .contentLength(5), available: 7, clientClosedRead: false)
        #expect(skip == 5)
        #expect(!close)
        #expect(s.requestComplete)
    }

    @Test func localReplyClosesWhenTheBodyIsStillArriving() {
        var s = HTTPExchangeState()
        s.begin(method: .post, version: .http11, connectionClose: false, bodyComplete: false)
        let (skip, close) = s.skipBodyForLocalReply(bodyKind: .contentLength(5), available: 3, clientClosedRead: false)
        #expect(skip == 0)
        #expect(close)
        #expect(s.requestComplete)
    }

    @Test func localReplyClosesOnAChunkedBody() {
        var s = HTTPExchangeState()
        s.begin(method: .post, version: .http11, connectionClose: false, bodyComplete: false)
        let (skip, close) = s.skipBodyForLocalReply(bodyKind: .chunked, available: 100, clientClosedRead: false)
        #expect(skip == 0)
        #expect(close)
    }

    @Test func localReplyWithoutBodyHonoursConnectionClose() {
        var s = HTTPExchangeState()
        s.begin(method: .get, version: .http11, connectionClose: false, bodyComplete: true)
        #expect(s.skipBodyForLocalReply(bodyKind: .none, available: 0, clientClosedRead: false) == (0, false))
        s.begin(method: .get, version: .http11, connectionClose: true, bodyComplete: true)
        #expect(s.skipBodyForLocalReply(bodyKind: .none, available: 0, clientClosedRead: false) == (0, true))
    }

    // MARK: - Turn taking (pipelining order)

    @Test func replyAtTheHeadIsWrittenNow() {
        var s = Self.sent()
        #expect(s.localReply(isHead: true, close: false) == .writeNow)
        #expect(s.phase == .finished)
    }

    @Test func replyBeforeItsTurnIsKept() {
        var s = Self.sent()
        #expect(s.localReply(isHead: false, close: true) == .keep)
        #expect(s.phase == .replyKept)
        #expect(s.becameHead() == .writeKeptReply(close: true))
        #expect(s.phase == .finished)
    }

    @Test func keptReplyRemembersKeepAlive() {
        var s = Self.sent()
        _ = s.localReply(isHead: false, close: false)
        #expect(s.becameHead() == .writeKeptReply(close: false))
    }

    @Test func exchangeWaitingForItsUpstreamResumesReadingAtItsTurn() {
        var s = Self.sent()
        #expect(s.becameHead() == .resumeUpstream)
        #expect(s.phase == .awaitingResponse)
    }

    // MARK: - Upstream EOF

    @Test func eofEndsAnUntilCloseBody() {
        var s = Self.sent()
        _ = s.responseHead(status: 200, retriable: false)
        #expect(s.upstreamEOF(isHead: true, readingUntilCloseBody: true) == .finishResponse)
    }

    @Test func eofBeforeTheResponseIsComplete() {
        var s = Self.sent()
        #expect(s.upstreamEOF(isHead: true, readingUntilCloseBody: false) == .upstreamLost)
    }

    @Test func eofBeforeItsTurnIsKeptUntilTheTurn() {
        var s = Self.sent()
        #expect(s.upstreamEOF(isHead: false, readingUntilCloseBody: false) == .keepForTurn)
        #expect(s.becameHead() == .resumeUpstream)
        let first = s.takeEarlyEOF()
        let second = s.takeEarlyEOF()
        #expect(first)
        #expect(!second)
    }

    @Test func keptEOFIsForgottenByTheNextRequest() {
        var s = Self.sent()
        _ = s.upstreamEOF(isHead: false, readingUntilCloseBody: true)
        s.finished()
        let afterFinish = s.takeEarlyEOF()
        #expect(!afterFinish)
        _ = s.upstreamEOF(isHead: false, readingUntilCloseBody: true)
        s.begin(method: .get, version: .http11, connectionClose: false, bodyComplete: true)
        let afterBegin = s.takeEarlyEOF()
        #expect(!afterBegin)
    }

    // MARK: - Response framing (HEAD, 204, 304)

    static func responseHead(status: Int, contentLength: Int?) -> HTTPResponseHead {
        var h = HTTPResponseHead()
        h.statusCode = status
        h.facts.contentLength = contentLength
        return h
    }

    @Test func responseToHeadHasNoBody() {
        #expect(Self.responseHead(status: 200, contentLength: 42).bodyKind(requestMethod: .head) == .none)
    }

    @Test(arguments: [204, 304, 100])
    func noBodyStatusesHaveNoBody(status: Int) {
        #expect(Self.responseHead(status: status, contentLength: 42).bodyKind(requestMethod: .get) == .none)
    }

    @Test func responseWithoutFramingRunsUntilClose() {
        let kind = Self.responseHead(status: 200, contentLength: nil).bodyKind(requestMethod: .get)
        #expect(kind == .untilClose)
        let s = Self.sent()
        #expect(s.closeAfterResponse(untilClose: kind == .untilClose, clientClosedRead: false, shuttingDown: false))
    }
}
