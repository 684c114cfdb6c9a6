/// Finds where a message head ends (`CRLF CRLF`) in a buffer that grows as bytes arrive, and refuses early what can
/// be refused before the head is complete.
///
/// Each call examines only the bytes added since the previous call (the buffer must keep its earlier bytes at the
/// same offsets), so feeding a head one byte at a time costs O(n) overall, not O(n²). LFs are searched for eight
/// bytes at a time (`HTTPWordScan`). Empty lines before the start line are skipped (RFC 9112 §2.2).
///
/// Refused early: an LF not preceded by CR (a bare `\n\n` is never an end: 400), a request line over
/// `limits.maxRequestLine` with no CRLF yet (414), more than `limits.maxHeaderBytes` without an end (431). For the
/// `.response` role the same refusals carry 502 and the request-line limit does not apply.
///
/// Ownership: a plain value owned by one connection's reader; not shared.
///
/// ```swift
/// if let n = scanner.scan(buffer) {
///     error = HTTPParser.parseRequest(UnsafeRawBufferPointer(rebasing: buffer[..<n]), into: &head, headers: table,
///                                     limits: limits)
/// } else if let e = scanner.error {
///     // answer e.status with e.reason, then close
/// } // else: read more
/// ```
public struct HTTPHeadScanner: Sendable {
    /// Which side's head is scanned; decides the statuses of refusals and whether the request-line limit applies.
    public enum Role: Sendable {
        case request, response
    }

    public let role: Role
    public let limits: HTTPLimits
    /// Why scanning stopped without a head; `scan` returns nil from then on until `reset()`.
    public private(set) var error: HTTPParseError?
    /// The head's length once found; repeated calls return it again.
    public private(set) var headLength: Int?
    /// First offset not yet examined.
    private var position = 0
    /// Where the start line begins, after skipped empty lines.
    private var lineStart = 0
    private var skippingEmptyLines = true
    private var sawFirstLine = false

    public init(role: Role = .request, limits: HTTPLimits = .default) {
        self.role = role
        self.limits = limits
    }

    /// Forgets everything, for the next message on the connection.
    public mutating func reset() {
        error = nil
        headLength = nil
        position = 0
        lineStart = 0
        skippingEmptyLines = true
        sawFirstLine = false
    }

    /// The head's length including its final CRLFCRLF, or nil when incomplete or refused (then `error` is set).
    ///
    /// - Parameter bytes: the message's bytes from its first byte; each call passes the same buffer, grown.
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Int? {
        if let found = headLength { return found }
        if error != nil { return nil }
        let n = bytes.count
        if n < position {
            // The caller restarted the buffer without `reset()`; start over rather than read stale offsets.
            let keep = (role, limits)
            self = HTTPHeadScanner(role: keep.0, limits: keep.1)
        }
        var i = position
        if skippingEmptyLines {
            while i + 1 < n, bytes[i] == ASCII.cr, bytes[i + 1] == ASCII.lf { i += 2 }
            if i == n || (i + 1 == n && bytes[i] == ASCII.cr) {
                position = i
                return checkTooLarge(n)
            }
            skippingEmptyLines = false
            lineStart = i
        }
        while i < n {
            // The next LF: a word at a time, then byte by byte for the last few bytes.
            var lf = -1
            while i &+ 8 <= n {
                let m = HTTPWordScan.bytesEqual(HTTPWordScan.load(bytes, i), ASCII.lf)
                if m != 0 {
                    lf = i &+ HTTPWordScan.firstFlagged(m)
                    break
                }
                i &+= 8
            }
            if lf < 0 {
                while i < n, bytes[i] != ASCII.lf { i &+= 1 }
                if i == n { break }
                lf = i
            }
            i = lf
            if i == 0 || bytes[i - 1] != ASCII.cr { return fail(.bareLineFeed) }
            if !sawFirstLine {
                sawFirstLine = true
                if role == .request, i - 1 - lineStart > limits.maxRequestLine { return fail(.requestLineTooLong) }
            }
            if i - 3 >= lineStart, bytes[i - 2] == ASCII.lf, bytes[i - 3] == ASCII.cr {
                let length = i + 1
                if length > limits.maxHeaderBytes { return fail(.headTooLarge) }
                headLength = length
                return length
            }
            i &+= 1
        }
        position = n
        if !sawFirstLine, role == .request {
            let line = n - lineStart
            if line > limits.maxRequestLine + 1 || (line == limits.maxRequestLine + 1 && bytes[n - 1] != ASCII.cr) {
                return fail(.requestLineTooLong)
            }
        }
        return checkTooLarge(n)
    }

    private mutating func checkTooLarge(_ n: Int) -> Int? {
        if n > limits.maxHeaderBytes { return fail(.headTooLarge) }
        return nil
    }

    private mutating func fail(_ e: HTTPParseError) -> Int? {
        error = role == .request ? e : e.upstream
        return nil
    }
}
