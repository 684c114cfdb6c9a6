/// Response heads: the status line, then the same header rules as requests. Every refusal carries 502, the status
/// the proxy answers a malformed upstream response with.
extension HTTPParser {
    /// Parses a response head.
    ///
    /// - Parameters:
    ///   - bytes: exactly the head, from its first byte through the CRLF CRLF that ends it (as scanned).
    ///   - head: filled in; reset first.
    ///   - headers: filled with the header lines; emptied first.
    ///   - limits: head-size and header-count limits.
    /// - Returns: nil when acceptable, else the refusal (status 502).
    public static func parseResponse(
        _ bytes: UnsafeRawBufferPointer, into head: inout HTTPResponseHead, headers: HTTPHeaderTable,
        limits: HTTPLimits = .default
    ) -> HTTPParseError? {
        head.reset()
        headers.removeAll()
        return parseResponseHead(bytes, &head, headers, limits)?.upstream
    }

    private static func parseResponseHead(
        _ b: UnsafeRawBufferPointer, _ head: inout HTTPResponseHead, _ headers: HTTPHeaderTable, _ limits: HTTPLimits
    ) -> HTTPParseError? {
        let n = b.count
        if n > limits.maxHeaderBytes || n > Int(Int32.max) { return .headTooLarge }
        if !endsWithEmptyLine(b) { return .incompleteHead }
        var i = 0
        while b[i] == ASCII.cr, b[i + 1] == ASCII.lf {
            i += 2
            if i == n { return .invalidStatusLine }
        }
        let lf = firstLineFeed(b, from: i)
        guard lf > i, b[lf - 1] == ASCII.cr else { return .bareLineFeed }
        let lineEnd = lf - 1

        // HTTP-version SP 3DIGIT [SP reason-phrase]; a missing SP before an empty reason is tolerated.
        guard lineEnd - i >= 12, b[i + 8] == ASCII.sp else { return .invalidStatusLine }
        switch parseVersion(b, i, i + 8) {
        case .success(let v): head.version = v
        case .failure(let e): return e
        }
        var code = 0
        for k in i + 9..<i + 12 {
            let d = b[k] &- ASCII.zero
            if d >= 10 { return .invalidStatusCode }
            code = code * 10 + Int(d)
        }
        if code < 100 || code > 599 { return .invalidStatusCode }
        head.statusCode = code
        var r = i + 12
        if r < lineEnd {
            if b[r] != ASCII.sp { return .invalidStatusCode }
            r += 1
            let t = HTTPByteClass.table
            var k = r
            while t[Int(b[k])] & HTTPByteClass.fieldValue != 0 { k &+= 1 }
            if k != lineEnd { return .invalidStatusLine }
        }
        head.reasonRange = HTTPByteRange(start: r, end: lineEnd)

        var f = FieldFacts()
        let maxHeaders = min(limits.maxHeaders, headers.capacity)
        if let e = parseFields(b, from: lf + 1, headers, maxHeaders, isRequest: false, &f) { return e }

        applyConnectionFacts(f, to: &head)
        if let te = f.transferEncodingValue {
            if f.contentLength != nil { return .contentLengthAndTransferEncoding }
            // RFC 9112 §6.3: chunked last frames the body; otherwise the body runs until the upstream closes.
            if transferCoding(b, te) == .notChunked {
                head.transferEncodingWithoutChunked = true
            } else {
                head.isChunked = true
            }
        }
        head.contentLength = f.contentLength
        return nil
    }
}
