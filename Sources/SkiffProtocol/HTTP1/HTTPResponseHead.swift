/// A parsed response head: offsets into the caller's buffer plus the facts that frame the body.
///
/// Filled by `HTTPParser.parseResponse`; one per upstream connection, reused (`reset()`).
public struct HTTPResponseHead: Sendable {
    public var version: HTTPVersion = .http11
    /// 100...599.
    public var statusCode = 0
    /// The reason phrase as sent (may be empty).
    public var reasonRange: HTTPByteRange = .empty
    public var contentLength: Int?
    /// The final transfer coding is chunked.
    public var isChunked = false
    /// Transfer-Encoding was sent but chunked is not its final coding: the body runs until close (RFC 9112 §6.3).
    public var transferEncodingWithoutChunked = false
    /// The upstream will close after this response: HTTP/1.1 with `Connection: close`, or HTTP/1.0 without
    /// `Connection: keep-alive`.
    public var connectionClose = false
    /// A `keep-alive` Connection token was sent.
    public var keepAlive = false
    /// An Upgrade header was sent (with 101 it starts a tunnel).
    public var upgrade = false
    public var hopByHopCount = 0
    /// Offset of the CRLF that ends the header section.
    public var headersEnd = 0
    /// Bytes of the head, including the final CRLF CRLF; the body starts here.
    public var headLength = 0

    public init() {}

    @inline(__always)
    public mutating func reset() { self = HTTPResponseHead() }

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
