/// How the body that follows a head is delimited (RFC 9112 §6.3); drives `HTTPBodyTracker`.
public enum HTTPBodyKind: Equatable, Sendable {
    /// No body: a request without Content-Length or Transfer-Encoding, or a response to HEAD, a 1xx, 204 or 304
    /// (and a 2xx to CONNECT, after which the connection is a tunnel).
    case none
    /// Exactly this many bytes.
    case contentLength(Int)
    /// Chunked transfer coding; ends after the last chunk and the trailer section.
    case chunked
    /// A response without framing: everything until the upstream closes the connection.
    case untilClose
}
