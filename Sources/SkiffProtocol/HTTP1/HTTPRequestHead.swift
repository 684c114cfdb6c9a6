/// A parsed request head: offsets into the caller's buffer plus the facts the proxy routes and frames on.
///
/// Filled by `HTTPParser.parseRequest`; one per connection, reused for every request (`reset()`), so parsing stores
/// integers and never allocates. Header lines themselves live in the `HTTPHeaderTable` parsed alongside.
public struct HTTPRequestHead: HTTPMessageHead {
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
    /// `Expect: 100-continue`.
    public var expectContinue = false
    /// Framing, connection and extent, read through `HTTPMessageHead` (`contentLength`, `connectionClose`, ...).
    public var facts = HTTPHeadFacts()

    public init() {}

    /// How the request body is delimited.
    @inline(__always)
    public var bodyKind: HTTPBodyKind {
        if isChunked { return .chunked }
        if let n = contentLength { return .contentLength(n) }
        return .none
    }
}
