/// Writes rewritten heads into caller-provided memory: requests going upstream, responses going back downstream.
///
/// Header lines that pass through unchanged are copied as runs of whole lines straight from the source buffer (one
/// copy for every stretch of consecutive kept lines), which works because the parser accepts exactly one line per
/// header entry. Hop-by-hop headers are dropped, except Transfer-Encoding: bodies are forwarded as received, so
/// their framing header must go with them. Nothing is allocated; when the head does not fit in `capacity`, the
/// result is nil and the buffer's content is unspecified.
public enum HTTPRenderer {
    /// How a request is rewritten on its way upstream.
    public struct RequestOptions {
        /// The client's address, appended to the last X-Forwarded-For as `, ip`, or sent as a new header.
        /// Like every option value, written unchecked: it must hold no CR, LF or NUL.
        public var xForwardedFor: UnsafeRawBufferPointer?
        /// Replaces the Host value (and is sent as Host when the request had none).
        public var hostRewrite: UnsafeRawBufferPointer?
        /// Replaces the first `matchedPrefixLength` bytes of the path (the route's matched prefix).
        public var prefixRewrite: (matchedPrefixLength: Int, replacement: UnsafeRawBufferPointer)?
        /// Adds `Connection: close`; otherwise nothing is added (HTTP/1.1 upstream keep-alive is the default).
        public var forceConnectionClose: Bool
        public var extraHeaders: HTTPExtraHeaders

        public init(
            xForwardedFor: UnsafeRawBufferPointer? = nil, hostRewrite: UnsafeRawBufferPointer? = nil,
            prefixRewrite: (matchedPrefixLength: Int, replacement: UnsafeRawBufferPointer)? = nil,
            forceConnectionClose: Bool = false, extraHeaders: HTTPExtraHeaders = HTTPExtraHeaders()
        ) {
            self.xForwardedFor = xForwardedFor
            self.hostRewrite = hostRewrite
            self.prefixRewrite = prefixRewrite
            self.forceConnectionClose = forceConnectionClose
            self.extraHeaders = extraHeaders
        }
    }

    /// How a response is rewritten on its way back to the client.
    public struct ResponseOptions {
        /// Adds `Connection: close` (the proxy will close the client connection after this response).
        public var connectionClose: Bool
        /// Adds `Connection: keep-alive`, for an HTTP/1.0 client that asked to keep its connection.
        public var keepAliveForHTTP10: Bool
        public var extraHeaders: HTTPExtraHeaders

        public init(
            connectionClose: Bool = false, keepAliveForHTTP10: Bool = false,
            extraHeaders: HTTPExtraHeaders = HTTPExtraHeaders()
        ) {
            self.connectionClose = connectionClose
            self.keepAliveForHTTP10 = keepAliveForHTTP10
            self.extraHeaders = extraHeaders
        }
    }

    /// Renders `METHOD SP target SP HTTP/1.1`, the forwarded headers and the options' changes.
    ///
    /// The target goes upstream in origin-form (an absolute-form target loses its scheme and authority, which
    /// become the Host value unless `hostRewrite` is set); asterisk- and authority-form go as received.
    ///
    /// - Parameters:
    ///   - head, headers, source: a request parsed from `source` by `HTTPParser.parseRequest`.
    ///   - out, capacity: where to write.
    /// - Returns: bytes written, or nil if the head does not fit.
    public static func renderRequest(
        head: HTTPRequestHead, headers: HTTPHeaderTable, source: UnsafeRawBufferPointer,
        into out: UnsafeMutableRawPointer, capacity: Int, options: RequestOptions = RequestOptions()
    ) -> Int? {
        var w = HTTPOutputWriter(out, capacity: capacity)
        w.write(head.methodRange.bytes(in: source))
        w.write(byte: ASCII.sp)
        writeTarget(&w, head, source, options.prefixRewrite)
        w.write(" HTTP/1.1\r\n")

        var hostValue = options.hostRewrite
        if hostValue == nil, head.targetForm == .absolute, let a = head.authorityRange {
            hostValue = a.bytes(in: source)
        }
        let hostIndex = hostValue != nil ? head.hostIndex ?? -1 : -1
        var xffIndex = -1
        if options.xForwardedFor != nil, let x = head.xForwardedForIndex, !headers.isHopByHop(at: x) { xffIndex = x }

        var run = -1
        for i in 0..<headers.count {
            let hop = headers.isHopByHop(at: i)
            if !hop, i != hostIndex, i != xffIndex {
                if run < 0 { run = headers.nameRange(at: i).start }
                continue
            }
            flush(&w, source, &run, upTo: headers.nameRange(at: i).start)
            if hop { continue }
            let name = headers.name(at: i, in: source)
            if i == hostIndex, let h = hostValue {
                w.writeHeader(name, h)
            } else if let ip = options.xForwardedFor {
                let value = headers.value(at: i, in: source)
                w.write(name)
                w.write(": ")
                if value.count > 0 {
                    w.write(value)
                    w.write(", ")
                }
                w.write(ip)
                w.write("\r\n")
            }
        }
        flush(&w, source, &run, upTo: head.headersEnd)

        if head.hostIndex == nil, let h = hostValue { w.writeHeader(staticBytes("Host"), h) }
        if xffIndex < 0, let ip = options.xForwardedFor { w.writeHeader(staticBytes("X-Forwarded-For"), ip) }
        if options.forceConnectionClose { w.write("Connection: close\r\n") }
        writeExtra(&w, options.extraHeaders)
        w.write("\r\n")
        return w.result
    }

    /// Renders `HTTP/1.1 code reason`, the forwarded headers and the options' Connection header.
    ///
    /// An empty reason phrase is replaced by the standard one. With both options set, `connectionClose` wins.
    public static func renderResponse(
        head: HTTPResponseHead, headers: HTTPHeaderTable, source: UnsafeRawBufferPointer,
        into out: UnsafeMutableRawPointer, capacity: Int, options: ResponseOptions = ResponseOptions()
    ) -> Int? {
        var w = HTTPOutputWriter(out, capacity: capacity)
        w.write("HTTP/1.1 ")
        w.writeDecimal(head.statusCode)
        w.write(byte: ASCII.sp)
        if head.reasonRange.count > 0 {
            w.write(head.reasonRange.bytes(in: source))
        } else if let phrase = HTTPReasonPhrase.phrase(for: head.statusCode) {
            w.write(phrase)
        }
        w.write("\r\n")

        var run = -1
        for i in 0..<headers.count {
            if !headers.isHopByHop(at: i) {
                if run < 0 { run = headers.nameRange(at: i).start }
                continue
            }
            flush(&w, source, &run, upTo: headers.nameRange(at: i).start)
        }
        flush(&w, source, &run, upTo: head.headersEnd)

        if options.connectionClose {
            w.write("Connection: close\r\n")
        } else if options.keepAliveForHTTP10 {
            w.write("Connection: keep-alive\r\n")
        }
        writeExtra(&w, options.extraHeaders)
        w.write("\r\n")
        return w.result
    }

    // MARK: Pieces

    /// Origin-form path (rewritten) and query; other forms as received.
    private static func writeTarget(
        _ w: inout HTTPOutputWriter, _ head: HTTPRequestHead, _ source: UnsafeRawBufferPointer,
        _ rewrite: (matchedPrefixLength: Int, replacement: UnsafeRawBufferPointer)?
    ) {
        switch head.targetForm {
        case .asterisk, .authority:
            w.write(head.targetRange.bytes(in: source))
            return
        case .origin, .absolute:
            break
        }
        let path = head.pathRange
        var written = 0
        if let r = rewrite {
            let matched = min(max(0, r.matchedPrefixLength), path.count)
            w.write(r.replacement)
            let rest = HTTPByteRange(start: path.start + matched, end: path.end)
            w.write(rest.bytes(in: source))
            written = r.replacement.count + rest.count
        } else {
            w.write(path.bytes(in: source))
            written = path.count
        }
        if written == 0 { w.write(byte: ASCII.slash) }
        if let q = head.queryRange {
            w.write(byte: ASCII.question)
            w.write(q.bytes(in: source))
        }
    }

    /// Copies the pending run of kept header lines, `source[run..<end]`.
    @inline(__always)
    private static func flush(
        _ w: inout HTTPOutputWriter, _ source: UnsafeRawBufferPointer, _ run: inout Int, upTo end: Int
    ) {
        if run < 0 { return }
        w.write(HTTPByteRange(start: run, end: end).bytes(in: source))
        run = -1
    }

    static func writeExtra(_ w: inout HTTPOutputWriter, _ extra: HTTPExtraHeaders) {
        for i in 0..<extra.count { w.writeHeader(extra.name(at: i), extra.value(at: i)) }
    }

    @inline(__always)
    static func staticBytes(_ s: StaticString) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
    }
}
