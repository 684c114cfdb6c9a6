/// Tracks where a message body ends, whatever its framing, while the proxy forwards it untouched.
///
/// One per message in flight on a connection side; a plain value (re-create it, or assign a new one, per message).
///
/// ```swift
/// var body = HTTPBodyTracker(kind: head.bodyKind)
/// switch body.consume(readable) {
/// case .partial(let n): forward(n)                    // all of it; read more
/// case .complete(let n): forward(n); nextHead(at: n) // rest is the next pipelined message
/// case .invalid(let e): abort(e)
/// }
/// ```
public struct HTTPBodyTracker: Sendable {
    public let kind: HTTPBodyKind
    /// Body bytes consumed so far (chunked: framing included).
    public private(set) var bodyBytes = 0
    private var remaining: Int
    private var chunked: HTTPChunkedDecoder
    private var finished: Bool

    public init(kind: HTTPBodyKind, limits: HTTPLimits = .default) {
        self.kind = kind
        chunked = HTTPChunkedDecoder(limits: limits)
        switch kind {
        case .none:
            remaining = 0
            finished = true
        case .contentLength(let n):
            remaining = n
            finished = n == 0
        case .chunked, .untilClose:
            remaining = 0
            finished = false
        }
    }

    /// The body has ended (always true for `.none` and `.contentLength(0)`).
    public var isComplete: Bool { finished }

    /// Consumes the next bytes read after the head.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) -> HTTPBodyResult { consume(bytes) { _ in } }

    /// The same, handing the payload (without chunked framing) to `payload` as it passes.
    @inline(__always)
    public mutating func consume(_ bytes: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void)
        -> HTTPBodyResult
    {
        if finished { return .complete(consumed: 0) }
        switch kind {
        case .contentLength:
            let take = min(remaining, bytes.count)
            if take > 0 { payload(UnsafeRawBufferPointer(rebasing: bytes[0..<take])) }
            remaining &-= take
            bodyBytes &+= take
            if remaining == 0 {
                finished = true
                return .complete(consumed: take)
            }
            return .partial(consumed: take)
        case .chunked:
            let r = chunked.consume(bytes, payload: payload)
            switch r {
            case .partial(let n):
                bodyBytes &+= n
            case .complete(let n):
                bodyBytes &+= n
                finished = true
            case .invalid:
                break
            }
            return r
        case .untilClose:
            if !bytes.isEmpty { payload(bytes) }
            bodyBytes &+= bytes.count
            return .partial(consumed: bytes.count)
        case .none:
            return .complete(consumed: 0)
        }
    }

    /// The peer closed the connection: completes an `.untilClose` body, and is a truncation for any body not yet
    /// complete.
    public mutating func finishAtEOF() -> HTTPBodyResult {
        if finished { return .complete(consumed: 0) }
        if case .untilClose = kind {
            finished = true
            return .complete(consumed: 0)
        }
        return .invalid(.truncatedBody)
    }
}
