/// What every parsed head carries, request or response: how its body is framed, whether the connection goes on
/// after it, and where it ends. One value of it lives in each head (`facts`); `HTTPParser` fills it the same way
/// for both (`applyConnectionFacts`).
public struct HTTPHeadFacts: Sendable {
    public var contentLength: Int?
    /// The final transfer coding is chunked (on a request, exactly `Transfer-Encoding: chunked`, the only transfer
    /// coding accepted).
    public var isChunked = false
    /// The sender closes after this message: HTTP/1.1 with `Connection: close`, or HTTP/1.0 without
    /// `Connection: keep-alive`.
    public var connectionClose = false
    /// A `keep-alive` Connection token was sent (an HTTP/1.0 peer asking to keep the connection).
    public var keepAlive = false
    /// An Upgrade header was sent (hop-by-hop, never forwarded; with a 101 it starts a tunnel).
    public var upgrade = false
    /// How many header entries are hop-by-hop (see `HTTPHeaderTable.isHopByHop(at:)`).
    public var hopByHopCount = 0
    /// Offset of the CRLF that ends the header section.
    public var headersEnd = 0
    /// Bytes of the head, including leading empty lines and the final CRLF CRLF; the body starts here.
    public var headLength = 0

    public init() {}
}

/// A parsed head, `HTTPRequestHead` or `HTTPResponseHead`: a plain value reused per connection, whose common facts
/// read as its own properties (`head.contentLength`, `head.connectionClose`, ...).
public protocol HTTPMessageHead: Sendable {
    init()
    var version: HTTPVersion { get set }
    var facts: HTTPHeadFacts { get set }
}

extension HTTPMessageHead {
    /// Clears every field for the next message, without allocating.
    @inlinable @inline(__always)
    public mutating func reset() { self = Self() }

    // The facts, read and written in place (each accessor inlines to the stored field).
    @inlinable public var contentLength: Int? {
        get { facts.contentLength }
        set { facts.contentLength = newValue }
    }
    @inlinable public var isChunked: Bool {
        get { facts.isChunked }
        set { facts.isChunked = newValue }
    }
    @inlinable public var connectionClose: Bool {
        get { facts.connectionClose }
        set { facts.connectionClose = newValue }
    }
    @inlinable public var keepAlive: Bool {
        get { facts.keepAlive }
        set { facts.keepAlive = newValue }
    }
    @inlinable public var upgrade: Bool {
        get { facts.upgrade }
        set { facts.upgrade = newValue }
    }
    @inlinable public var hopByHopCount: Int {
        get { facts.hopByHopCount }
        set { facts.hopByHopCount = newValue }
    }
    @inlinable public var headersEnd: Int {
        get { facts.headersEnd }
        set { facts.headersEnd = newValue }
    }
    @inlinable public var headLength: Int {
        get { facts.headLength }
        set { facts.headLength = newValue }
    }
}
