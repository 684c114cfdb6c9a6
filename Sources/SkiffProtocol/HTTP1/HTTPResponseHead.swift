/// A parsed response head: offsets into the caller's buffer plus the facts that frame the body.
///
/// Filled by `HTTPParser.parseResponse`; one per upstream connection, reused (`reset()`).
public struct HTTPResponseHead: HTTPMessageHead {
    public var version: HTTPVersion = .http11
    /// 100...599.
    public var statusCode = 0
    /// The reason phrase as sent (may be empty).
    public var reasonRange: HTTPByteRange = .empty
    /// Transfer-Encoding was sent but chunked is not its final coding: the body runs until close (RFC 9112 §6.3).
    public var transferEncodingWithoutChunked = false
    /// Framing, connection and extent, read through `HTTPMessageHead` (`contentLength`, `connectionClose`, ...).
    public var facts = HTTPHeadFacts()

    public init() {}

    /// How the body is delimited, which depends on the request (RFC 9112 §6.3): nothing follows a response to HEAD,
    /// a 1xx, 204 or 304, or a 2xx to CONNECT (the connection becomes a tunnel).
    public func bodyKind(requestMethod: HTTPMethod) -> HTTPBodyKind {
        if requestMethod == .head || statusCode < 200 || statusCode == 204 || statusCode == 304 { return .none }
        if requestMethod == .connect, statusCode < 300 { return .none }
        if isChunked { return .chunked }
        if transferEncodingWithoutChunked { return .untilClose }
        if let n = contentLength { return .contentLength(n) }
        return .untilClose
    }
}
