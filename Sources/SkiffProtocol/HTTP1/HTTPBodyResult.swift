/// What consuming a slice of a body stream found: how many of its bytes belong to this message, and whether the
/// message ended there.
///
/// Bytes after `consumed` in `.complete` belong to the next (pipelined) message; the caller forwards exactly
/// `consumed` bytes and parses the rest as a new head.
public enum HTTPBodyResult: Equatable, Sendable {
    /// Every byte passed belongs to the body, which needs more.
    case partial(consumed: Int)
    /// The body ended after `consumed` bytes of this slice.
    case complete(consumed: Int)
    /// The framing is broken; the connection cannot be reused (and for a request, may be answered with `status`).
    case invalid(HTTPParseError)
}
