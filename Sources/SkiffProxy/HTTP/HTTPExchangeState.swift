import SkiffProtocol

/// The decisions of one HTTP exchange, as a value with explicit transitions: which failures are retried, what a
/// local failure answers, whether a started response is cut, when the client connection closes after the response,
/// and whether a reply made before this exchange's turn is kept. No I/O, no allocation: `HTTPExchange` (the I/O
/// shell, which owns sockets, pools, buffers and the timer) feeds it events and carries out what it returns.
/// Confined to the exchange's executor, like the exchange.
struct HTTPExchangeState {
    /// Where the exchange is. Replaces a handful of Bools; each event below moves it explicitly.
    enum Phase: Equatable {
        /// Between requests.
        case idle
        /// The request is parsed and being routed (no upstream yet).
        case routing
        /// The request went (or is going) to an upstream; nothing of the response has gone downstream.
        case awaitingResponse
        /// A response head (interim or final) has gone downstream: a failure now cuts the client.
        case responding
        /// A reply was made before this exchange's turn and waits for it.
        case replyKept
        /// Over; the next `begin` starts the next request.
        case finished
    }

    /// What to do when the upstream connection is lost before the response is complete.
    enum LossAction: Equatable {
        /// The response has begun: the client connection is cut, never given a fake complete response.
        case cutClient
        /// Send the kept request again; `counted` is false for the free retry of a stale keep-alive connection.
        case retry(counted: Bool)
        /// Answer locally: 503 after a connect failure, 502 after a reset.
        case reply(status: Int, reason: StaticString)

        static func == (a: LossAction, b: LossAction) -> Bool {
            switch (a, b) {
            case (.cutClient, .cutClient): return true
            case (.retry(let x), .retry(let y)): return x == y
            case (.reply(let s, let r), .reply(let t, let q)): return s == t && r.description == q.description
            default: return false
            }
        }
    }

    /// What to do with a parsed upstream response head.
    enum HeadAction: Equatable {
        /// A 5xx or listed status, retries left, replayable, nothing sent downstream: try again.
        case retry
        /// A 1xx: pass it on; the exchange goes on waiting for the final head.
        case forwardInterim
        /// The final head: render it and stream the body (`closeAfter` goes in its Connection header).
        case forwardFinal
    }

    /// What to do with a failure of the upstream side that is not a loss of the connection (an invalid or too large
    /// response head, the route timeout).
    enum FailureAction: Equatable {
        case cutClient
        case reply(status: Int)
    }

    /// What to do when the upstream finishes sending (reads EOF).
    enum EOFAction: Equatable {
        /// Not this exchange's turn yet (rwloop's reader runs ahead): kept, and acted on at `becameHead`.
        case keepForTurn
        /// The body ran until close and is complete; the upstream connection is not reused.
        case finishResponse
        /// The upstream closed before the response was complete.
        case upstreamLost
    }

    /// What to do with a local reply once it is rendered.
    enum ReplyAction: Equatable {
        /// This exchange heads the queue: write it now.
        case writeNow
        /// An earlier response is still going: keep it until `becameHead`.
        case keep
    }

    /// What to do when this exchange reaches the head of its downstream's queue.
    enum HeadOfLineAction: Equatable {
        /// Write the kept reply, then finish (closing after it when `close`).
        case writeKeptReply(close: Bool)
        /// Replay the response bytes (and EOF) that arrived early, then resume reading the upstream.
        case resumeUpstream
    }

    /// What an exchange holds and must give back exactly once when it ends.
    struct Holds: OptionSet, Equatable {
        let rawValue: UInt8
        /// One of the listener's active requests (`requestActive`), from `begin`.
        static let activeRequest = Holds(rawValue: 1)
        /// One of the cluster's requests under its circuit breaker's `max_requests`, from `admitted`.
        static let clusterRequest = Holds(rawValue: 2)
        /// One of the cluster's retries in flight under `max_retries`, from `retryAdmitted`: held while the retried
        /// attempt runs (a later retry of the same exchange reuses it).
        static let clusterRetry = Holds(rawValue: 4)
    }

    private(set) var phase = Phase.idle
    private(set) var holds: Holds = []
    /// Whether the client reads as fast as the upstream sends; while false, the upstream is not read.
    private(set) var clientWritable = true

    // The request, as far as the response side needs it.
    private(set) var method = HTTPMethod.get
    private(set) var version = HTTPVersion.http11
    private(set) var requestClose = false
    /// Whether the request body has fully arrived (false while it streams; a reply then closes the connection).
    var requestComplete = true

    // Retries.
    private(set) var retriesLeft = 0
    private(set) var retryOnConnectFailure = false
    private(set) var retryOnReset = false
    /// The request can be sent again: no body, or a small body kept whole with the head.
    private(set) var replayable = false

    /// The final response status (0 until the final head).
    private(set) var responseStatus = 0
    /// Whether a kept reply closes the connection after it.
    private(set) var keptReplyClose = false
    /// The upstream's EOF arrived before this exchange's turn.
    private(set) var earlyEOF = false

    /// Whether any response byte has gone downstream for this exchange.
    var responseStarted: Bool { phase == .responding }

    // MARK: - Request

    /// A request head was parsed: starts the exchange.
    mutating func begin(method: HTTPMethod, version: HTTPVersion, connectionClose: Bool, bodyComplete: Bool) {
        phase = .routing
        holds = .activeRequest
        self.method = method
        self.version = version
        requestClose = connectionClose
        requestComplete = bodyComplete
        retriesLeft = 0
        retryOnConnectFailure = false
        retryOnReset = false
        replayable = false
        responseStatus = 0
        keptReplyClose = false
        earlyEOF = false
    }

    /// The cluster's circuit breaker let the request in: it holds one of the cluster's requests until it ends.
    mutating func admitted() { holds.insert(.clusterRequest) }

    /// Whether a counted retry must first be admitted by the cluster's `max_retries` (false while an earlier retry
    /// of this exchange still holds its slot).
    var needsRetryAdmission: Bool { !holds.contains(.clusterRetry) }

    /// The cluster's breaker let a retry go out: the exchange holds the slot until it ends.
    mutating func retryAdmitted() { holds.insert(.clusterRetry) }

    /// The exchange ends: what it held, to give back now. Returns it once; later calls return nothing.
    mutating func releaseHolds() -> Holds {
        defer { holds = [] }
        return holds
    }

    /// The client connection's writability changed (the shell pauses or resumes the upstream's reading to follow it).
    mutating func clientWritabilityChanged(_ writable: Bool) { clientWritable = writable }

    /// The exchange is cleared for the next request on its connection (everything it held already given back).
    mutating func clear() {
        assert(holds.isEmpty, "an exchange was cleared while holding \(holds.rawValue)")
        self = HTTPExchangeState()
    }

    /// The route picked an upstream cluster; the request goes out with this retry budget.
    mutating func routed(retries: Int, onConnectFailure: Bool, onReset: Bool, replayable: Bool) {
        phase = .awaitingResponse
        retriesLeft = retries
        retryOnConnectFailure = onConnectFailure
        retryOnReset = onReset
        self.replayable = replayable
    }

    /// The route picked an upstream cluster: the retry budget and conditions come from its `retry_policy`.
    mutating func routed(by entry: RouteEntry, replayable: Bool) {
        routed(
            retries: entry.numRetries, onConnectFailure: entry.retryOnConnectFailure, onReset: entry.retryOnReset,
            replayable: replayable)
    }

    /// Whether a request can be kept for a retry: no body, or a Content-Length body of at most `maxReplayBytes`
    /// that has fully arrived (`available` bytes) and fits after the rendered head (`headBytes` of `capacity`).
    static func isReplayable(
        bodyKind: HTTPBodyKind, available: Int, maxReplayBytes: Int, headBytes: Int, capacity: Int
    ) -> Bool {
        switch bodyKind {
        case .contentLength(let len) where len > 0:
            return len <= maxReplayBytes && len <= available && headBytes + len <= capacity
        case .chunked, .untilClose:
            return false
        default:
            return true
        }
    }

    // MARK: - Response

    /// A response head arrived with `status`; `retriable` says whether the route retries that status.
    mutating func responseHead(status: Int, retriable: Bool) -> HeadAction {
        if phase == .awaitingResponse, replayable, retriesLeft > 0, retriable {
            retriesLeft -= 1
            return .retry
        }
        phase = .responding
        if status >= 100 && status < 200 { return .forwardInterim }
        responseStatus = status
        return .forwardFinal
    }

    /// The upstream connection was lost before the response was complete. `connectFailure`: it never connected (or
    /// failed or timed out connecting). `staleReuse`: nothing was processed — a reused keep-alive connection that
    /// closed before sending any response byte (the server had already closed it; each such retry uses up one stale
    /// pooled connection), or the first HTTP/2 stream of the request the server refused — a free retry.
    mutating func upstreamLost(connectFailure: Bool, staleReuse: Bool) -> LossAction {
        if phase == .responding { return .cutClient }
        let allowed = connectFailure ? retryOnConnectFailure : retryOnReset
        if replayable && (staleReuse || (allowed && retriesLeft > 0)) {
            if !staleReuse { retriesLeft -= 1 }
            return .retry(counted: !staleReuse)
        }
        return connectFailure
            ? .reply(status: 503, reason: "upstream connect failure")
            : .reply(status: 502, reason: "upstream reset before response")
    }

    /// The upstream read EOF. `isHead`: this exchange may write to the client now. `readingUntilCloseBody`: the
    /// final head is through and its body runs until the connection closes.
    mutating func upstreamEOF(isHead: Bool, readingUntilCloseBody: Bool) -> EOFAction {
        if !isHead {
            earlyEOF = true
            return .keepForTurn
        }
        return readingUntilCloseBody ? .finishResponse : .upstreamLost
    }

    /// Takes the EOF kept for this exchange's turn: true once if there was one.
    mutating func takeEarlyEOF() -> Bool {
        defer { earlyEOF = false }
        return earlyEOF
    }

    /// An upstream failure answered with `status` if nothing has gone downstream yet, else by cutting the client.
    func upstreamFailed(status: Int) -> FailureAction {
        phase == .responding ? .cutClient : .reply(status: status)
    }

    /// The route timeout fired: 504, or a cut if the response has begun.
    func timedOut() -> FailureAction { upstreamFailed(status: 504) }

    /// Whether the client connection closes after this response: the request asked to (Connection: close, or
    /// HTTP/1.0 without keep-alive), the client stopped sending, the body runs until close, the request body never
    /// finished, or the proxy is shutting down.
    func closeAfterResponse(untilClose: Bool, clientClosedRead: Bool, shuttingDown: Bool) -> Bool {
        requestClose || clientClosedRead || untilClose || !requestComplete || shuttingDown
    }

    /// Whether the upstream connection can go back to the pool after the response: nothing past the response
    /// (`inStep`), the request body fully sent, the upstream did not ask to close, and the response body is complete.
    func upstreamReusable(inStep: Bool, upstreamClose: Bool, responseComplete: Bool) -> Bool {
        inStep && requestComplete && !upstreamClose && responseComplete
    }

    /// Whether a local reply after an upstream failure closes the connection: an unfinished request body leaves no
    /// way to tell where the next request starts.
    func closeAfterFailure(clientClosedRead: Bool) -> Bool {
        !requestComplete || requestClose || clientClosedRead
    }

    /// Before a reply made without an upstream (no route, direct response, overflow): the request body is skipped
    /// when all of it is here (`available` bytes), else the connection closes after the reply. Returns the bytes to
    /// skip and whether to close.
    mutating func skipBodyForLocalReply(
        bodyKind: HTTPBodyKind, available: Int, clientClosedRead: Bool
    ) -> (skip: Int, close: Bool) {
        var close = requestClose || clientClosedRead
        var skip = 0
        switch bodyKind {
        case .none:
            break
        case .contentLength(let n):
            if available >= n {
                skip = n
                requestComplete = true
            } else {
                close = true
            }
        default:
            close = true
        }
        if !requestComplete {
            requestComplete = true
            close = true
        }
        return (skip, close)
    }

    // MARK: - Turn taking

    /// A local reply is rendered: written now if this exchange heads the queue, else kept for its turn.
    mutating func localReply(isHead: Bool, close: Bool) -> ReplyAction {
        if isHead {
            phase = .finished
            return .writeNow
        }
        phase = .replyKept
        keptReplyClose = close
        return .keep
    }

    /// This exchange now heads the queue.
    mutating func becameHead() -> HeadOfLineAction {
        if phase == .replyKept {
            phase = .finished
            return .writeKeptReply(close: keptReplyClose)
        }
        return .resumeUpstream
    }

    /// The response is complete (or the exchange was torn down).
    mutating func finished() {
        phase = .finished
        earlyEOF = false
    }
}
