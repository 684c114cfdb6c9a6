/// Header-section parsing shared by requests and responses: one pass over the lines that validates, fills the
/// header table, and records the few facts framing and routing depend on.
extension HTTPParser {
    /// What the header pass learned; turned into `HTTPRequestHead`/`HTTPResponseHead` fields afterwards.
    struct FieldFacts {
        var headersEnd = 0
        var hostIndex: Int?
        var hostValue = HTTPByteRange.empty
        var contentLength: Int?
        var transferEncodingValue: HTTPByteRange?
        var xForwardedForIndex: Int?
        var close = false
        var keepAlive = false
        /// A Connection token other than close/keep-alive: a second pass marks the headers it names.
        var connectionNamesHeaders = false
        var expectContinue = false
        var upgrade = false
        var hopByHopCount = 0
        /// Bit `min(length, 63)` is set for every header name length seen, so most Connection tokens are dismissed
        /// without comparing names.
        var nameLengths: UInt64 = 0
    }

    /// How a Transfer-Encoding value frames the body.
    enum TransferCoding {
        /// Exactly `chunked`.
        case chunkedOnly
        /// Other codings (or empty list elements) and then `chunked`.
        case chunkedAfterOthers
        /// `chunked` is not the final coding.
        case notChunked
    }

    /// Parses header lines from `start` up to and including the empty line.
    static func parseFields(
        _ b: UnsafeRawBufferPointer, from start: Int, _ table: HTTPHeaderTable, _ maxHeaders: Int, isRequest: Bool,
        _ f: inout FieldFacts
    ) -> HTTPParseError? {
        let t = HTTPByteClass.table
        let n = b.count
        var i = start
        while true {
            let c = b[i]
            if c == ASCII.cr {
                if b[i + 1] != ASCII.lf { return .invalidHeaderName }
                f.headersEnd = i
                break
            }
            if c == ASCII.lf { return .bareLineFeed }
            if c == ASCII.sp || c == ASCII.ht { return .obsFold }

            let nameStart = i
            while t[Int(b[i])] & HTTPByteClass.token != 0 { i &+= 1 }
            if b[i] != ASCII.colon {
                return i > nameStart && (b[i] == ASCII.sp || b[i] == ASCII.ht)
                    ? .whitespaceBeforeColon : .invalidHeaderName
            }
            if i == nameStart { return .invalidHeaderName }
            let nameLength = i - nameStart
            i &+= 1
            while b[i] == ASCII.sp || b[i] == ASCII.ht { i &+= 1 }
            let valueStart = i
            // A word at a time up to the first CTL or DEL (HT is allowed: step over it), then byte by byte.
            while i &+ 8 <= n {
                let x = HTTPWordScan.load(b, i)
                let m = HTTPWordScan.bytesBelow(x, 0x20) | HTTPWordScan.bytesEqual(x, 0x7F)
                if m == 0 {
                    i &+= 8
                    continue
                }
                i &+= HTTPWordScan.firstFlagged(m)
                if b[i] != ASCII.ht { break }
                i &+= 1
            }
            while t[Int(b[i])] & HTTPByteClass.fieldValue != 0 { i &+= 1 }
            if b[i] != ASCII.cr { return b[i] == ASCII.lf ? .bareLineFeed : .invalidHeaderValue }
            if b[i + 1] != ASCII.lf { return .invalidHeaderValue }
            var valueEnd = i
            while valueEnd > valueStart, b[valueEnd - 1] == ASCII.sp || b[valueEnd - 1] == ASCII.ht { valueEnd &-= 1 }
            i &+= 2

            let index = table.count
            if index >= maxHeaders { return .tooManyHeaders }
            let name = HTTPHeaderName.classify(b, start: nameStart, count: nameLength)
            _ = table.append(
                nameStart: nameStart, nameLength: nameLength, valueStart: valueStart,
                valueLength: valueEnd - valueStart,
                name: name)
            f.nameLengths |= 1 &<< UInt64(min(nameLength, 63))
            if name != .other {
                let value = HTTPByteRange(start: valueStart, end: valueEnd)
                if let e = note(name, index, value, b, isRequest, &f) { return e }
                if name.isHopByHop {
                    table.markHopByHop(at: index)
                    f.hopByHopCount &+= 1
                }
            }
        }
        if f.connectionNamesHeaders { markConnectionTokens(b, table, &f) }
        return nil
    }

    /// Records a recognised header; refuses duplicates that make framing or routing ambiguous.
    @inline(__always)
    private static func note(
        _ name: HTTPHeaderName, _ index: Int, _ value: HTTPByteRange, _ b: UnsafeRawBufferPointer, _ isRequest: Bool,
        _ f: inout FieldFacts
    ) -> HTTPParseError? {
        switch name {
        case .host:
            guard isRequest else { return nil }
            if f.hostIndex != nil { return .multipleHost }
            f.hostIndex = index
            f.hostValue = value
        case .contentLength:
            if f.contentLength != nil { return .duplicateContentLength }
            guard let n = parseContentLength(b, value) else { return .invalidContentLength }
            f.contentLength = n
        case .transferEncoding:
            if f.transferEncodingValue != nil { return .duplicateTransferEncoding }
            f.transferEncodingValue = value
        case .connection:
            var list = CommaList(value)
            while let token = list.next(b) {
                if tokenIs(b, token, "close") {
                    f.close = true
                } else if tokenIs(b, token, "keep-alive") {
                    f.keepAlive = true
                } else {
                    f.connectionNamesHeaders = true
                }
            }
        case .expect:
            if isRequest, tokenIs(b, value, "100-continue") { f.expectContinue = true }
        case .upgrade:
            f.upgrade = true
        case .xForwardedFor:
            f.xForwardedForIndex = index
        case .other, .keepAlive, .proxyConnection, .te, .trailer:
            break
        }
        return nil
    }

    /// Marks the headers named by Connection tokens hop-by-hop (RFC 9110 §7.6.1), except framing headers and Host.
    private static func markConnectionTokens(
        _ b: UnsafeRawBufferPointer, _ table: HTTPHeaderTable, _ f: inout FieldFacts
    ) {
        for ci in 0..<table.count where table.knownName(at: ci) == .connection {
            var list = CommaList(table.valueRange(at: ci))
            while let token = list.next(b) {
                if tokenIs(b, token, "close") || tokenIs(b, token, "keep-alive") { continue }
                let length = token.count
                if f.nameLengths & (1 &<< UInt64(min(length, 63))) == 0 { continue }
                for j in 0..<table.count {
                    if table.isHopByHop(at: j) || table.knownName(at: j).isProtectedFromConnectionTokens { continue }
                    let r = table.nameRange(at: j)
                    if r.count == length, equalsFoldingCase(b, r.start, token.start, length) {
                        table.markHopByHop(at: j)
                        f.hopByHopCount &+= 1
                    }
                }
            }
        }
    }

    /// `1*DIGIT` without overflow; nil otherwise (a comma list like `5, 5` included).
    @inline(__always)
    static func parseContentLength(_ b: UnsafeRawBufferPointer, _ r: HTTPByteRange) -> Int? {
        if r.count == 0 { return nil }
        var v = 0
        var k = r.start
        while k < r.end {
            let d = b[k] &- ASCII.zero
            if d >= 10 { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(d))
            if o1 || o2 { return nil }
            v = s
            k &+= 1
        }
        return v
    }

    /// Whether `chunked` is the only, a later, or not the final transfer coding.
    static func transferCoding(_ b: UnsafeRawBufferPointer, _ value: HTTPByteRange) -> TransferCoding {
        if tokenIs(b, value, "chunked") { return .chunkedOnly }
        var list = CommaList(value)
        var last: HTTPByteRange?
        while let token = list.next(b) { last = token }
        if let l = last, tokenIs(b, l, "chunked") { return .chunkedAfterOthers }
        return .notChunked
    }

    /// `b[r]` equals the lowercase literal, ignoring ASCII case.
    @inline(__always)
    static func tokenIs(_ b: UnsafeRawBufferPointer, _ r: HTTPByteRange, _ lower: StaticString) -> Bool {
        guard r.count == lower.utf8CodeUnitCount else { return false }
        let l = UnsafeRawBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount)
        return HTTPHeaderTable.equalsIgnoringCase(b, r.start, l)
    }

    /// Two spans of `b` are equal ignoring ASCII case.
    @inline(__always)
    static func equalsFoldingCase(_ b: UnsafeRawBufferPointer, _ x: Int, _ y: Int, _ count: Int) -> Bool {
        for k in 0..<count {
            var c = b[x &+ k]
            var d = b[y &+ k]
            if c &- 0x41 < 26 { c |= 0x20 }
            if d &- 0x41 < 26 { d |= 0x20 }
            if c != d { return false }
        }
        return true
    }
}

/// Iterates the elements of a comma-separated list value (`#element`, RFC 9110 §5.6.1), trimmed of OWS, skipping
/// empty elements. A value type instead of a closure, so walking a list costs no allocation.
struct CommaList {
    private var i: Int
    private let end: Int

    @inline(__always)
    init(_ r: HTTPByteRange) {
        i = r.start
        end = r.end
    }

    @inline(__always)
    mutating func next(_ b: UnsafeRawBufferPointer) -> HTTPByteRange? {
        while i < end, b[i] == ASCII.comma || b[i] == ASCII.sp || b[i] == ASCII.ht { i &+= 1 }
        if i == end { return nil }
        let s = i
        while i < end, b[i] != ASCII.comma { i &+= 1 }
        var e = i
        while e > s, b[e - 1] == ASCII.sp || b[e - 1] == ASCII.ht { e &-= 1 }
        return HTTPByteRange(start: s, end: e)
    }
}
