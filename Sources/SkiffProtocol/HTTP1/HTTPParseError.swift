/// Why the codec refused a message: the status the proxy should answer with, and a short constant reason.
///
/// `reason` is a `StaticString` so refusing costs no allocation and the proxy can copy its bytes straight into an
/// `x-skiff-reason` header. Request-side errors carry 400/414/431/501/505; the same checks on a response carry 502,
/// because the proxy answers a bad upstream with 502 (`upstream`).
public struct HTTPParseError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status the proxy should answer with.
    public let status: Int
    /// A short, stable, lowercase explanation (used in tests, logs and `x-skiff-reason`).
    public let reason: StaticString

    public init(status: Int, reason: StaticString) {
        self.status = status
        self.reason = reason
    }

    /// The reason's bytes, for rendering without a `String`.
    @inline(__always)
    public var reasonBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: reason.utf8Start, count: reason.utf8CodeUnitCount)
    }

    /// The same refusal found in an upstream's response: the proxy answers 502.
    @inline(__always)
    public var upstream: HTTPParseError { HTTPParseError(status: 502, reason: reason) }

    public var description: String { "\(status) \(reason)" }
}

extension HTTPParseError: Equatable {
    public static func == (a: HTTPParseError, b: HTTPParseError) -> Bool {
        guard a.status == b.status, a.reason.utf8CodeUnitCount == b.reason.utf8CodeUnitCount else { return false }
        let x = a.reasonBytes
        let y = b.reasonBytes
        for i in 0..<x.count where x[i] != y[i] { return false }
        return true
    }
}

// The refusals, one constant each, so tests and the proxy name them instead of repeating strings.
extension HTTPParseError {
    // Head framing and limits.
    public static let bareLineFeed = HTTPParseError(status: 400, reason: "bare LF line ending")
    public static let incompleteHead = HTTPParseError(status: 400, reason: "incomplete head")
    public static let requestLineTooLong = HTTPParseError(status: 414, reason: "request line too long")
    public static let headTooLarge = HTTPParseError(status: 431, reason: "header section too large")
    public static let tooManyHeaders = HTTPParseError(status: 431, reason: "too many headers")

    // Request line.
    public static let emptyRequestLine = HTTPParseError(status: 400, reason: "empty request line")
    public static let invalidMethod = HTTPParseError(status: 400, reason: "invalid method")
    public static let invalidRequestLine = HTTPParseError(status: 400, reason: "invalid request line")
    public static let invalidTarget = HTTPParseError(status: 400, reason: "invalid request target")
    public static let dotSegment = HTTPParseError(status: 400, reason: "dot segment in path")
    public static let invalidVersion = HTTPParseError(status: 400, reason: "invalid http version")
    public static let unsupportedVersion = HTTPParseError(status: 505, reason: "unsupported http version")

    // Header lines.
    public static let obsFold = HTTPParseError(status: 400, reason: "obs-fold")
    public static let invalidHeaderName = HTTPParseError(status: 400, reason: "invalid header name")
    public static let whitespaceBeforeColon = HTTPParseError(status: 400, reason: "whitespace before colon")
    public static let invalidHeaderValue = HTTPParseError(status: 400, reason: "invalid header value")

    // Host.
    public static let missingHost = HTTPParseError(status: 400, reason: "missing host")
    public static let multipleHost = HTTPParseError(status: 400, reason: "multiple host headers")
    public static let invalidHost = HTTPParseError(status: 400, reason: "invalid host")

    // Message framing (request smuggling).
    public static let contentLengthAndTransferEncoding = HTTPParseError(
        status: 400, reason: "both content-length and transfer-encoding")
    public static let duplicateContentLength = HTTPParseError(status: 400, reason: "duplicate content-length")
    public static let invalidContentLength = HTTPParseError(status: 400, reason: "invalid content-length")
    public static let duplicateTransferEncoding = HTTPParseError(status: 400, reason: "duplicate transfer-encoding")
    public static let chunkedNotFinal = HTTPParseError(status: 400, reason: "transfer-encoding must end in chunked")
    public static let unsupportedTransferCoding = HTTPParseError(status: 501, reason: "unsupported transfer-coding")
    public static let transferEncodingInHTTP10 = HTTPParseError(status: 400, reason: "transfer-encoding in http/1.0")

    // Status line (responses only; status 502).
    public static let invalidStatusLine = HTTPParseError(status: 502, reason: "invalid status line")
    public static let invalidStatusCode = HTTPParseError(status: 502, reason: "invalid status code")

    // Chunked bodies. 400 matters only for request bodies: a broken response body can only abort the connection.
    public static let invalidChunkSize = HTTPParseError(status: 400, reason: "invalid chunk size")
    public static let chunkSizeTooLarge = HTTPParseError(status: 400, reason: "chunk size too large")
    public static let invalidChunkExtension = HTTPParseError(status: 400, reason: "invalid chunk extension")
    public static let chunkExtensionTooLong = HTTPParseError(status: 400, reason: "chunk extension too long")
    public static let missingChunkDataCRLF = HTTPParseError(status: 400, reason: "missing CRLF after chunk data")
    public static let invalidTrailer = HTTPParseError(status: 400, reason: "invalid trailer")
    public static let trailerTooLarge = HTTPParseError(status: 400, reason: "trailer section too large")
    public static let truncatedBody = HTTPParseError(status: 400, reason: "body truncated by EOF")
}
