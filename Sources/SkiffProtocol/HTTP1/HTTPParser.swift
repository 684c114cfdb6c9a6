/// Parses complete HTTP/1.1 heads in place into offsets, refusing everything that could make the proxy and an
/// upstream disagree about where a message ends (request smuggling) or what it targets.
///
/// Stateless: the caller passes a whole head (`HTTPHeadScanner` says when it has one), a reused `HTTPRequestHead` or
/// `HTTPResponseHead` and a reused `HTTPHeaderTable`; nothing is allocated. Loops index `UnsafeRawBufferPointer`s and
/// test bytes against `HTTPByteClass.table`. Because a head ends in CRLF CRLF (checked first), every byte-class loop
/// stops at a CR or LF before the end of the buffer.
///
/// Strict by design (a proxy must be): single SP separators, no obs-fold, no whitespace before a colon, no bare CR or
/// LF, one Host, one Content-Length (a second one is refused even when equal, as nginx does, so an upstream can
/// never see `5, 5` it might misread), Transfer-Encoding on requests only as exactly `chunked`.
public enum HTTPParser {
    /// Parses a request head.
    ///
    /// - Parameters:
    ///   - bytes: exactly the head, from its first byte through the CRLF CRLF that ends it (the length
    ///     `HTTPHeadScanner` returned); a buffer not ending in CRLF CRLF is refused as `incompleteHead`.
    ///   - head: filled in; reset first.
    ///   - headers: filled with the header lines; emptied first. Its capacity also bounds the header count.
    ///   - limits: request-line, head-size and header-count limits.
    /// - Returns: nil when the request is acceptable, else the refusal (status 400, 414, 431, 501 or 505).
    public static func parseRequest(
        _ bytes: UnsafeRawBufferPointer, into head: inout HTTPRequestHead, headers: HTTPHeaderTable,
        limits: HTTPLimits = .default
    ) -> HTTPParseError? {
        head.reset()
        headers.removeAll()
        let n = bytes.count
        // The header table stores Int32 offsets.
        if n > limits.maxHeaderBytes || n > Int(Int32.max) { return .headTooLarge }
        if !endsWithEmptyLine(bytes) { return .incompleteHead }

        var i = 0
        while bytes[i] == ASCII.cr, bytes[i + 1] == ASCII.lf {
            i += 2
            if i == n { return .emptyRequestLine }
        }
        let lineStart = i
        let lf = firstLineFeed(bytes, from: i)
        let hasCR = lf > lineStart && bytes[lf - 1] == ASCII.cr
        let lineEnd = hasCR ? lf - 1 : lf
        if lineEnd - lineStart > limits.maxRequestLine { return .requestLineTooLong }
        if !hasCR { return .bareLineFeed }
        if let e = parseRequestLine(bytes, lineStart, lineEnd, &head) { return e }

        var facts = FieldFacts()
        let maxHeaders = min(limits.maxHeaders, headers.capacity)
        if let e = parseFields(bytes, from: lf + 1, headers, maxHeaders, isRequest: true, &facts) { return e }
        return applyRequestFacts(bytes, facts, &head)
    }

    /// Refuses a request line that is already too long before its head is complete (414), so the proxy does not
    /// wait for the rest. Returns nil when the line is within the limit or cannot be judged yet.
    ///
    /// - Parameter partial: the bytes received so far, from the message's first byte.
    public static func checkRequestLineLength(_ partial: UnsafeRawBufferPointer, limits: HTTPLimits = .default)
        -> HTTPParseError?
    {
        let n = partial.count
        var i = 0
        while i + 1 < n, partial[i] == ASCII.cr, partial[i + 1] == ASCII.lf { i += 2 }
        let start = i
        let max = limits.maxRequestLine
        while i < n, i - start <= max + 1 {
            if partial[i] == ASCII.lf {
                let length = i > start && partial[i - 1] == ASCII.cr ? i - 1 - start : i - start
                return length > max ? .requestLineTooLong : nil
            }
            i += 1
        }
        let line = i - start
        if line > max + 1 || (line == max + 1 && partial[i - 1] != ASCII.cr) { return .requestLineTooLong }
        return nil
    }

    // MARK: Request line

    /// `method SP request-target SP HTTP-version`, with `lineEnd` at its CR.
    private static func parseRequestLine(
        _ b: UnsafeRawBufferPointer, _ lineStart: Int, _ lineEnd: Int, _ head: inout HTTPRequestHead
    ) -> HTTPParseError? {
        let t = HTTPByteClass.table
        var j = lineStart
        while t[Int(b[j])] & HTTPByteClass.token != 0 { j &+= 1 }
        if j == lineStart { return .invalidMethod }
        if b[j] != ASCII.sp { return j == lineEnd ? .invalidRequestLine : .invalidMethod }
        head.methodRange = HTTPByteRange(start: lineStart, end: j)
        head.method = HTTPMethod(b, start: lineStart, count: j - lineStart)

        let ts = j + 1
        var k = ts
        // A word at a time up to the first SP, CTL, DEL or `#`, then byte by byte.
        while k &+ 8 <= lineEnd {
            let x = HTTPWordScan.load(b, k)
            let m =
                HTTPWordScan.bytesBelow(x, 0x21) | HTTPWordScan.bytesEqual(x, 0x7F) | HTTPWordScan.bytesEqual(x, 0x23)
            if m != 0 {
                k &+= HTTPWordScan.firstFlagged(m)
                break
            }
            k &+= 8
        }
        while t[Int(b[k])] & HTTPByteClass.target != 0 { k &+= 1 }
        if k == ts { return b[k] == ASCII.sp ? .invalidRequestLine : .invalidTarget }
        if b[k] != ASCII.sp { return k == lineEnd ? .invalidRequestLine : .invalidTarget }
        head.targetRange = HTTPByteRange(start: ts, end: k)

        switch parseVersion(b, k + 1, lineEnd) {
        case .success(let v): head.version = v
        case .failure(let e): return e
        }
        return parseTarget(b, ts, k, &head)
    }

    /// Exactly `HTTP/d.d` up to `end`; 1.0 and 1.1 are accepted, other well-formed versions are a 505.
    static func parseVersion(_ b: UnsafeRawBufferPointer, _ s: Int, _ end: Int) -> Result<HTTPVersion, HTTPParseError> {
        guard end - s == 8, b[s] == 0x48, b[s + 1] == 0x54, b[s + 2] == 0x54, b[s + 3] == 0x50, b[s + 4] == ASCII.slash,
            b[s + 6] == 0x2E, b[s + 5] &- ASCII.zero < 10, b[s + 7] &- ASCII.zero < 10
        else { return .failure(.invalidVersion) }
        if b[s + 5] == 0x31 {
            if b[s + 7] == 0x31 { return .success(.http11) }
            if b[s + 7] == 0x30 { return .success(.http10) }
        }
        return .failure(.unsupportedVersion)
    }

    /// Classifies `b[s..<e]` into one of the four forms and finds path, query and authority.
    private static func parseTarget(_ b: UnsafeRawBufferPointer, _ s: Int, _ e: Int, _ head: inout HTTPRequestHead)
        -> HTTPParseError?
    {
        if head.method == .connect {
            // authority-form = uri-host ":" port, nothing else.
            guard b[s] != ASCII.slash, HTTPByteClass.isValidHost(b, start: s, count: e - s),
                contains(b, s, e, ASCII.colon)
            else { return .invalidTarget }
            head.targetForm = .authority
            head.authorityRange = HTTPByteRange(start: s, end: e)
            head.pathRange = HTTPByteRange(start: s, count: 0)
            return nil
        }
        if b[s] == ASCII.slash {
            head.targetForm = .origin
            splitPathAndQuery(b, s, e, &head)
            return hasDotSegment(b, head.pathRange.start, head.pathRange.end) ? .dotSegment : nil
        }
        if b[s] == ASCII.star, e - s == 1 {
            guard head.method == .options else { return .invalidTarget }
            head.targetForm = .asterisk
            head.pathRange = HTTPByteRange(start: s, count: 1)
            return nil
        }
        // absolute-form: "http://" or "https://" (scheme is case-insensitive), a non-empty authority without userinfo.
        var a = s
        if e - s >= 7, HTTPHeaderName.matches(b, s, "http://") {
            a = s + 7
        } else if e - s >= 8, HTTPHeaderName.matches(b, s, "https://") {
            a = s + 8
        } else {
            return .invalidTarget
        }
        var p = a
        while p < e, b[p] != ASCII.slash, b[p] != ASCII.question { p &+= 1 }
        guard p > a, HTTPByteClass.isValidHost(b, start: a, count: p - a) else { return .invalidTarget }
        head.targetForm = .absolute
        head.authorityRange = HTTPByteRange(start: a, end: p)
        splitPathAndQuery(b, p, e, &head)
        return hasDotSegment(b, head.pathRange.start, head.pathRange.end) ? .dotSegment : nil
    }

    /// True when the path `b[s..<e]` has a `.` or `..` segment, written plainly or percent-encoded (`%2e`, any
    /// case). Routes match the path as sent, so `/api/../admin` would match a `/api/` prefix and reach a backend
    /// that resolves it to `/admin` (RFC 3986 §5.2.4): such paths are refused rather than routed. Clients remove dot
    /// segments before sending (RFC 3986 §5.2.4, as browsers and curl do), so this refuses only crafted requests.
    /// Paths without a `.` or `%` (most) are passed over a word at a time.
    static func hasDotSegment(_ b: UnsafeRawBufferPointer, _ s: Int, _ e: Int) -> Bool {
        var i = s
        var suspect = false
        while i &+ 8 <= e {
            let x = HTTPWordScan.load(b, i)
            if HTTPWordScan.bytesEqual(x, ASCII.dot) | HTTPWordScan.bytesEqual(x, ASCII.percent) != 0 {
                suspect = true
                break
            }
            i &+= 8
        }
        if !suspect {
            while i < e, b[i] != ASCII.dot, b[i] != ASCII.percent { i &+= 1 }
            if i == e { return false }
        }
        // Segment by segment: one made only of one or two dots (plain or %2e) is a dot segment.
        var j = s
        while j < e {
            if b[j] == ASCII.slash { j &+= 1 }
            var dots = 0
            var other = false
            while j < e, b[j] != ASCII.slash {
                if b[j] == ASCII.dot {
                    dots &+= 1
                } else if b[j] == ASCII.percent, j &+ 2 < e, b[j &+ 1] == 0x32, b[j &+ 2] | 0x20 == 0x65 {
                    dots &+= 1
                    j &+= 2
                } else {
                    other = true
                }
                j &+= 1
            }
            if !other && (dots == 1 || dots == 2) { return true }
        }
        return false
    }

    @inline(__always)
    private static func splitPathAndQuery(
        _ b: UnsafeRawBufferPointer, _ s: Int, _ e: Int, _ head: inout HTTPRequestHead
    ) {
        var q = s
        while q < e, b[q] != ASCII.question { q &+= 1 }
        head.pathRange = HTTPByteRange(start: s, end: q)
        head.queryRange = q < e ? HTTPByteRange(start: q + 1, end: e) : nil
    }

    /// The offset of the first LF at or after `i`; the head's final LF guarantees there is one.
    @inline(__always)
    static func firstLineFeed(_ b: UnsafeRawBufferPointer, from start: Int) -> Int {
        var i = start
        while i &+ 8 <= b.count {
            let m = HTTPWordScan.bytesEqual(HTTPWordScan.load(b, i), ASCII.lf)
            if m != 0 { return i &+ HTTPWordScan.firstFlagged(m) }
            i &+= 8
        }
        while b[i] != ASCII.lf { i &+= 1 }
        return i
    }

    @inline(__always)
    static func contains(_ b: UnsafeRawBufferPointer, _ s: Int, _ e: Int, _ byte: UInt8) -> Bool {
        var i = s
        while i < e {
            if b[i] == byte { return true }
            i &+= 1
        }
        return false
    }

    /// The head ends with CR LF CR LF; every parsing loop relies on it to stop inside the buffer.
    @inline(__always)
    static func endsWithEmptyLine(_ b: UnsafeRawBufferPointer) -> Bool {
        let n = b.count
        return n >= 4 && b[n - 4] == ASCII.cr && b[n - 3] == ASCII.lf && b[n - 2] == ASCII.cr && b[n - 1] == ASCII.lf
    }

    // MARK: Head facts

    /// What requests and responses take alike from the header pass: where the head ends, the hop-by-hop count, and
    /// whether the connection goes on (HTTP/1.1 unless `close`; HTTP/1.0 only with `keep-alive`). Needs `version`.
    @inline(__always)
    static func applyConnectionFacts<Head: HTTPMessageHead>(_ f: FieldFacts, to head: inout Head) {
        head.headersEnd = f.headersEnd
        head.headLength = f.headersEnd + 2
        head.hopByHopCount = f.hopByHopCount
        head.upgrade = f.upgrade
        head.keepAlive = f.keepAlive
        head.connectionClose = head.version == .http11 ? f.close : (f.close || !f.keepAlive)
    }

    // MARK: Request semantics

    /// Host, framing and connection rules that need the whole header section.
    private static func applyRequestFacts(_ b: UnsafeRawBufferPointer, _ f: FieldFacts, _ head: inout HTTPRequestHead)
        -> HTTPParseError?
    {
        applyConnectionFacts(f, to: &head)
        head.expectContinue = f.expectContinue
        head.xForwardedForIndex = f.xForwardedForIndex

        if let h = f.hostIndex {
            head.hostIndex = h
            head.hostRange = f.hostValue
            if !HTTPByteClass.isValidHost(b, start: f.hostValue.start, count: f.hostValue.count) { return .invalidHost }
        } else if head.version == .http11 {
            return .missingHost
        }
        if head.targetForm == .absolute { head.hostRange = head.authorityRange }

        if let te = f.transferEncodingValue {
            if f.contentLength != nil { return .contentLengthAndTransferEncoding }
            if head.version == .http10 { return .transferEncodingInHTTP10 }
            switch transferCoding(b, te) {
            case .chunkedOnly: head.isChunked = true
            case .chunkedAfterOthers: return .unsupportedTransferCoding
            case .notChunked: return .chunkedNotFinal
            }
        }
        head.contentLength = f.contentLength
        return nil
    }
}
