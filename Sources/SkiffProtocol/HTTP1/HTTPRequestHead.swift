/// A parsed request head: offsets into the caller's buffer plus the facts the proxy routes and frames on.
///
/// Filled by `HTTPParser.parseRequest`; one per connection, reused for every request (`reset()`), so parsing stores
/// integers and never allocates. Header lines themselves live in the `HTTPHeaderTable` parsed alongside.
public struct HTTPRequestHead: Sendable {
    /// The four request-target forms of RFC 9112 §3.2.
    public enum TargetForm: UInt8, Sendable {
        /// `/path?query`
        case origin
        /// `http://authority/path?query`; the authority overrides Host (RFC 9112 §3.2.2).
        case absolute
        /// `host:port`, only with CONNECT.
        case authority
        /// `*`, only with OPTIONS.
        case asterisk
    }

    public var method: HTTPMethod = .other
    /// The method's bytes as sent (the name of an `.other` method).
    public var methodRange: HTTPByteRange = .empty
    /// The whole request target as sent.
    public var targetRange: HTTPByteRange = .empty
    public var targetForm: TargetForm = .origin
    /// The path: up to `?` in origin- and absolute-form (empty for `http://a`), `*` for asterisk-form, empty for
    /// authority-form.
    public var pathRange: HTTPByteRange = .empty
    /// The query without its `?`; nil when the target has no `?` (empty when it ends in `?`).
    public var queryRange: HTTPByteRange?
    /// The authority of an absolute- or authority-form target.
    public var authorityRange: HTTPByteRange?
    public var version: HTTPVersion = .http11
    /// What to route on: the absolute-form target's authority, else the Host value; nil for HTTP/1.0 without Host.
    public var hostRange: HTTPByteRange?
    /// The Host header's index in the header table.
    public var hostIndex: Int?
    /// The last X-Forwarded-For header's index, which the renderer appends the client address to.
    public var xForwardedForIndex: Int?
    public var contentLength: Int?
    /// `Transfer-Encoding: chunked` (the only transfer coding accepted on a request).
    public var isChunked = false
    /// The client wants the connection closed after this exchange: HTTP/1.1 with `Connection: close`, or HTTP/1.0
    /// without `Connection: keep-alive`.
    public var connectionClose = false
    /// A `keep-alive` Connection token was sent (an HTTP/1.0 client asking to keep the connection).
    public var keepAlive = false
    /// `Expect: 100-continue`.
    public var expectContinue = false
    /// An Upgrade header was sent (it is hop-by-hop and not forwarded).
    public var upgrade = false
    /// How many header entries are hop-by-hop (see `HTTPHeaderTable.isHopByHop(at:)`).
    public var hopByHopCount = 0
    /// Offset of the CRLF that ends the header section.
    public var headersEnd = 0
    /// Bytes of the head, including leading empty lines and the final CRLF CRLF; the body starts here.
    public var headLength = 0

    public init() {}

    /// Clears every field for the next request.
    @inline(__always)
    public mutating func reset() { self = HTTPRequestHead() }

    /// How the request body is delimited.
    @inline(__always)
    public var bodyKind: HTTPBodyKind {
        if isChunked { return .chunked }
        if let n = contentLength { return .contentLength(n) }
        return .none
    }
}
