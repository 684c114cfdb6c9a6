import SkiffProtocol

/// Reads admin API request heads with the proxy's own HTTP/1 parser (`HTTPHeadScanner`, `HTTPParser.parseRequest`:
/// strict, fuzzed), then applies what the admin server adds: origin-form targets only, a body limit, no chunked
/// bodies. Everything SkiffProtocol refuses is refused here with the same status (bare LF, obs-fold, a bad request
/// line: 400; a long request line: 414; a large head or too many headers: 431; a version other than 1.x: 505).
///
/// One per connection, reused for every request on it; used only by the connection's thread.
///
/// ```swift
/// var parser = AdminRequestParser(limits: HTTPLimits(maxHeaderBytes: 16384), bodyLimit: 65536)
/// switch parser.parse(buffer) {            // the same buffer, grown, until a head is found or refused
/// case .incomplete: // read more
/// case .failure(let status, let message): // answer, close
/// case .complete(let head, let consumed): // body follows at `consumed`; after it, remove both and `reset()`
/// }
/// ```
struct AdminRequestParser {
    /// A request head in the terms route handlers use.
    struct Head: Equatable {
        var method: String
        /// `/path?query`, as sent.
        var target: String
        /// 0 for HTTP/1.0, 1 for HTTP/1.1.
        var minorVersion: Int
        /// Header fields in order, names as sent, values without surrounding whitespace.
        var headers: [Field]
        /// 0 when the request has no `Content-Length`.
        var contentLength: Int
        /// Whether the connection may carry another request after this one.
        var keepAlive: Bool
        /// `Expect: 100-continue`: the client waits for a `100 Continue` before sending its body.
        var expectContinue: Bool
    }

    struct Field: Equatable {
        var name: String
        var value: String
    }

    enum Result: Equatable {
        /// The head is not complete yet; read more.
        case incomplete
        /// A head of `consumed` bytes (leading empty lines included); the body follows.
        case complete(Head, consumed: Int)
        /// Answer `status` with `message` and close.
        case failure(status: Int, message: String)
    }

    let limits: HTTPLimits
    let bodyLimit: Int
    private var scanner: HTTPHeadScanner
    private var head = HTTPRequestHead()
    private let table: HTTPHeaderTable

    init(limits: HTTPLimits, bodyLimit: Int) {
        self.limits = limits
        self.bodyLimit = bodyLimit
        scanner = HTTPHeadScanner(role: .request, limits: limits)
        table = HTTPHeaderTable(capacity: limits.maxHeaders)
    }

    /// Forgets the last head, for the next request; call once it and its body are removed from the buffer.
    mutating func reset() { scanner.reset() }

    /// Looks for a request head at the start of `buffer`, which must keep its earlier bytes between calls.
    mutating func parse(_ buffer: [UInt8]) -> Result {
        buffer.withUnsafeBytes { bytes in
            guard let length = scanner.scan(bytes) else {
                if let error = scanner.error { return refusal(error) }
                return .incomplete
            }
            let source = UnsafeRawBufferPointer(rebasing: bytes[..<length])
            if let error = HTTPParser.parseRequest(source, into: &head, headers: table, limits: limits) {
                return refusal(error)
            }
            return admit(source, length: length)
        }
    }

    /// The admin server's own rules on a head SkiffProtocol accepted.
    private func admit(_ source: UnsafeRawBufferPointer, length: Int) -> Result {
        func text(_ range: HTTPByteRange) -> String { String(decoding: range.bytes(in: source), as: UTF8.self) }
        guard head.targetForm == .origin else {
            return .failure(status: 400, message: "invalid request target: the admin API takes /path?query only")
        }
        if head.isChunked {
            return .failure(status: 411, message: "chunked request bodies are not supported; send Content-Length")
        }
        let contentLength = head.contentLength ?? 0
        if contentLength > bodyLimit {
            return .failure(status: 413, message: "request body over \(bodyLimit) bytes")
        }
        var headers: [Field] = []
        headers.reserveCapacity(table.count)
        for i in 0..<table.count {
            headers.append(Field(name: text(table.nameRange(at: i)), value: text(table.valueRange(at: i))))
        }
        let parsed = Head(
            method: text(head.methodRange), target: text(head.targetRange),
            minorVersion: head.version == .http11 ? 1 : 0, headers: headers, contentLength: contentLength,
            keepAlive: !head.connectionClose, expectContinue: head.expectContinue)
        return .complete(parsed, consumed: length)
    }

    /// SkiffProtocol's verdict as the admin server words it: the codec's reason, and the limit when one was passed.
    private func refusal(_ error: HTTPParseError) -> Result {
        var message = "\(error.reason)"
        if error == .headTooLarge {
            message += " (over \(limits.maxHeaderBytes) bytes)"
        } else if error == .tooManyHeaders {
            message += " (over \(limits.maxHeaders))"
        } else if error == .requestLineTooLong {
            message += " (over \(limits.maxRequestLine) bytes)"
        }
        return .failure(status: error.status, message: message)
    }
}
