import SkiffHTTP2
import SkiffProtocol

/// The translation of an HTTP/1.1 client's exchange to an HTTP/2 upstream (`upstream_protocol: Http2` behind an
/// `Http1` listener), as pure functions over the parsed head and header blocks: the request head as an HTTP/2 header
/// block (RFC 9113 §8.3.1), and the upstream's response head rendered as HTTP/1.1 with the framing its body gets.
/// `HTTPExchange+HTTP2.swift` carries the bytes.
enum HTTP1ToHTTP2 {
    /// What the route changes in the request, as the HTTP/1.1 upstream path has it (`HTTPRenderer.RequestOptions`).
    struct RequestOptions {
        var secure = false
        var hostRewrite: UnsafeRawBufferPointer?
        var prefixRewrite: (matchedPrefixLength: Int, replacement: UnsafeRawBufferPointer)?
        /// The client's address, appended to `x-forwarded-for`.
        var xForwardedFor: UnsafeRawBufferPointer?
    }

    /// Fills `block` with the request: `:method`, `:scheme` (`https` when the client came over TLS), `:authority`
    /// (the host rewrite, an absolute-form target's authority, or `Host`), `:path` (with the prefix rewrite; `*` for
    /// `OPTIONS *`), then every field lower-cased but the hop-by-hop and connection-specific ones (`te` only as
    /// `trailers`), `host` and `transfer-encoding`, with the client appended to `x-forwarded-for`. `scratch` is
    /// reused for a lower-cased name or a built value.
    static func request(
        head: HTTPRequestHead, headers: HTTPHeaderTable, source: UnsafeRawBufferPointer, options: RequestOptions,
        into block: HTTP2HeaderBlock, scratch: inout [UInt8]
    ) {
        block.removeAll()
        block.append(":method", value: head.methodRange.bytes(in: source))
        block.append(":scheme", value: bytes(options.secure ? "https" : "http"))
        if let h = options.hostRewrite {
            block.append(":authority", value: h)
        } else if head.targetForm == .absolute, let a = head.authorityRange {
            block.append(":authority", value: a.bytes(in: source))
        } else if let h = head.hostRange {
            block.append(":authority", value: h.bytes(in: source))
        }
        scratch.removeAll(keepingCapacity: true)
        path(head, source, options.prefixRewrite, into: &scratch)
        scratch.withUnsafeBytes { block.append(":path", value: $0) }

        var forwardedFor = false
        for i in 0..<headers.count {
            let kind = headers.knownName(at: i)
            let value = headers.value(at: i, in: source)
            switch kind {
            case .host, .transferEncoding:
                continue
            case .te:
                // The one `te` HTTP/2 allows (RFC 9113 §8.2.2).
                if isTrailers(value) { block.append("te", "trailers") }
                continue
            default:
                if headers.isHopByHop(at: i) { continue }
            }
            if kind == .xForwardedFor, let ip = options.xForwardedFor {
                forwardedFor = true
                scratch.removeAll(keepingCapacity: true)
                if !value.isEmpty {
                    scratch.append(contentsOf: value)
                    scratch.append(contentsOf: bytes(", "))
                }
                scratch.append(contentsOf: ip)
                scratch.withUnsafeBytes { block.append("x-forwarded-for", value: $0) }
                continue
            }
            scratch.removeAll(keepingCapacity: true)
            for b in headers.name(at: i, in: source) { scratch.append(b >= 65 && b <= 90 ? b | 0x20 : b) }
            scratch.withUnsafeBytes { block.append(name: $0, value: value) }
        }
        if !forwardedFor, let ip = options.xForwardedFor { block.append("x-forwarded-for", value: ip) }
    }

    /// `:path`: the origin-form path (or an absolute-form target's) with the route's prefix rewrite and the query;
    /// `*` as it came.
    private static func path(
        _ head: HTTPRequestHead, _ source: UnsafeRawBufferPointer,
        _ rewrite: (matchedPrefixLength: Int, replacement: UnsafeRawBufferPointer)?, into out: inout [UInt8]
    ) {
        if head.targetForm == .asterisk || head.targetForm == .authority {
            out.append(contentsOf: head.targetRange.bytes(in: source))
            return
        }
        let path = head.pathRange
        if let r = rewrite {
            let matched = min(max(0, r.matchedPrefixLength), path.count)
            out.append(contentsOf: r.replacement)
            out.append(contentsOf: HTTPByteRange(start: path.start + matched, end: path.end).bytes(in: source))
        } else {
            out.append(contentsOf: path.bytes(in: source))
        }
        if out.isEmpty { out.append(UInt8(ascii: "/")) }
        if let q = head.queryRange {
            out.append(UInt8(ascii: "?"))
            out.append(contentsOf: q.bytes(in: source))
        }
    }

    /// `trailers`, any case, between optional spaces or tabs.
    static func isTrailers(_ v: UnsafeRawBufferPointer) -> Bool {
        var start = 0
        var end = v.count
        while start < end, v[start] == 0x20 || v[start] == 0x09 { start += 1 }
        while end > start, v[end - 1] == 0x20 || v[end - 1] == 0x09 { end -= 1 }
        let t = bytes("trailers")
        guard end - start == t.count else { return false }
        for i in 0..<t.count where v[start + i] | 0x20 != t[i] { return false }
        return true
    }

    // MARK: - The response

    /// How the response body travels to the HTTP/1.1 client.
    enum Framing: Equatable {
        /// No body by the rules (HEAD, 1xx, 204, 304): the head as it came.
        case none
        /// The stream ended with its headers and no length: `content-length: 0` is added.
        case empty
        /// The upstream's `content-length`: the payload as it comes.
        case length
        /// An HTTP/1.1 client, no length: chunked, the upstream's trailers as the chunked trailer section.
        case chunked
        /// An HTTP/1.0 client, no length: the body runs until the connection closes.
        case untilClose
    }

    /// The framing of a final response with `status` to a `method` request from an `http11` client or not.
    static func framing(
        status: Int, method: HTTPMethod, http11: Bool, block: HTTP2HeaderBlock, endStream: Bool
    ) -> Framing {
        if method == .head || status == 204 || status == 304 || status < 200 { return .none }
        if block.index(of: "content-length") != nil { return .length }
        if endStream { return .empty }
        return http11 ? .chunked : .untilClose
    }

    /// Renders `HTTP/1.1 status reason`, the block's fields but pseudo-headers and connection-specific ones, the
    /// framing's own field, and `connection: close` or (`keepAliveForHTTP10`) `keep-alive` into `out`.
    static func responseHead(
        _ block: HTTP2HeaderBlock, status: Int, framing: Framing, close: Bool, keepAliveForHTTP10: Bool,
        into out: inout [UInt8]
    ) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: bytes("HTTP/1.1 "))
        out.append(contentsOf: String(status).utf8)
        out.append(0x20)
        if let phrase = HTTPReasonPhrase.phrase(for: status) { out.append(contentsOf: bytes(phrase)) }
        out.append(contentsOf: bytes("\r\n"))
        fields(block, into: &out)
        if framing == .chunked { out.append(contentsOf: bytes("transfer-encoding: chunked\r\n")) }
        if framing == .empty { out.append(contentsOf: bytes("content-length: 0\r\n")) }
        if close {
            out.append(contentsOf: bytes("connection: close\r\n"))
        } else if keepAliveForHTTP10 {
            out.append(contentsOf: bytes("connection: keep-alive\r\n"))
        }
        out.append(contentsOf: bytes("\r\n"))
    }

    /// The chunked trailer section: `0`, the trailers but pseudo-headers and connection-specific fields, the end
    /// (also an HTTP/2 client's request trailers to an HTTP/1.1 upstream, `HTTP2ProxyStream+HTTP1.swift`).
    static func trailers(_ block: HTTP2HeaderBlock, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: bytes("0\r\n"))
        fields(block, into: &out)
        out.append(contentsOf: bytes("\r\n"))
    }

    /// `name: value` lines of the block's fields but pseudo-headers and connection-specific ones.
    private static func fields(_ block: HTTP2HeaderBlock, into out: inout [UInt8]) {
        for i in 0..<block.count {
            let name = block.name(i)
            if name.first == UInt8(ascii: ":") || isConnectionSpecific(name) { continue }
            out.append(contentsOf: name)
            out.append(contentsOf: bytes(": "))
            out.append(contentsOf: block.value(i))
            out.append(contentsOf: bytes("\r\n"))
        }
    }

    /// Fields HTTP/2 forbids (RFC 9113 §8.2.2): never passed to an HTTP/1.1 client from a lax server, nor from an
    /// HTTP/2 stream to an HTTP/1.1 upstream (`HTTP2ProxyStream+HTTP1.swift`).
    static func isConnectionSpecific(_ name: UnsafeRawBufferPointer) -> Bool {
        for n: StaticString in ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]
        where name.count == n.utf8CodeUnitCount && name.elementsEqual(bytes(n)) {
            return true
        }
        return false
    }

    @inline(__always) static func bytes(_ s: StaticString) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
    }
}
