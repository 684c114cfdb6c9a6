/// Follows chunked framing (RFC 9112 §7.1) over a body that is forwarded unchanged, to find where the message ends.
///
/// A state machine fed arbitrary slices: a size line, CRLF or trailer line may be split anywhere across calls.
/// Chunk data is skipped in bulk; only size lines, CRLFs and trailers are looked at byte by byte. Trailers are
/// checked for shape and size and passed through with the rest.
///
/// Strict where parsers are known to disagree: the size is 1 to 16 hex digits, optionally followed by whitespace
/// only if a `;` extension follows (no `5 \r\n`), every line ends in CRLF (no bare LF), chunk data is followed by
/// exactly CRLF.
///
/// Ownership: a plain value inside one connection's body tracker.
public struct HTTPChunkedDecoder: Sendable {
    private enum State: UInt8 {
        case size, sizeWhitespace, chunkExtension, sizeLF, data, dataCR, dataLF
        case trailerLineStart, trailerLine, trailerLF, finalLF, done
    }

    private var state = State.size
    /// The size being read, then the data bytes left in the current chunk.
    private var size = 0
    private var digits = 0
    private var extensionLength = 0
    private var trailerBytes = 0
    private var failure: HTTPParseError?
    private let maxChunkSize: Int
    private let maxChunkExtension: Int
    private let maxTrailerBytes: Int

    public init(limits: HTTPLimits = .default) {
        maxChunkSize = limits.maxChunkSize
        maxChunkExtension = limits.maxChunkExtension
        maxTrailerBytes = limits.maxTrailerBytes
    }

    /// The last chunk and the trailer section have been consumed.
    public var isComplete: Bool { state == .done }

    /// Consumes the next bytes of the stream.
    ///
    /// - Returns: `.partial` when all of `bytes` belong to the body, `.complete(consumed:)` when the message ends
    ///   inside `bytes` (the rest is the next message), `.invalid` on broken framing (then always `.invalid`).
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) -> HTTPBodyResult { consume(bytes) { _ in } }

    /// The same, handing each run of chunk data (the payload, without the framing) to `payload` as it passes: what
    /// a proxy that re-frames the body (HTTP/1.1 to HTTP/2) forwards.
    @inline(__always)
    public mutating func consume(_ bytes: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void)
        -> HTTPBodyResult
    {
        if let e = failure { return .invalid(e) }
        if state == .done { return .complete(consumed: 0) }
        let n = bytes.count
        let t = HTTPByteClass.table
        var i = 0
        while i < n {
            if state == .data {
                let take = min(size, n &- i)
                if take > 0 { payload(UnsafeRawBufferPointer(rebasing: bytes[i..<(i &+ take)])) }
                i &+= take
                size &-= take
                if size == 0 { state = .dataCR }
                continue
            }
            let c = bytes[i]
            i &+= 1
            switch state {
            case .size:
                if let h = HTTPByteClass.hexValue(c) {
                    // Floor division (a shift), so a limit below 15 still refuses `size * 16 + h > limit`.
                    if digits == 16 || size > (maxChunkSize &- h) >> 4 { return fail(.chunkSizeTooLarge) }
                    size = size &* 16 &+ h
                    digits &+= 1
                } else if digits == 0 {
                    return fail(.invalidChunkSize)
                } else if c == ASCII.cr {
                    state = .sizeLF
                } else if c == ASCII.semicolon {
                    state = .chunkExtension
                    extensionLength = 1
                } else if c == ASCII.sp || c == ASCII.ht {
                    state = .sizeWhitespace
                } else {
                    return fail(.invalidChunkSize)
                }
            case .sizeWhitespace:
                if c == ASCII.semicolon {
                    state = .chunkExtension
                    extensionLength = 1
                } else if c != ASCII.sp && c != ASCII.ht {
                    return fail(.invalidChunkSize)
                }
            case .chunkExtension:
                if c == ASCII.cr {
                    state = .sizeLF
                } else if t[Int(c)] & HTTPByteClass.fieldValue == 0 {
                    return fail(.invalidChunkExtension)
                } else {
                    extensionLength &+= 1
                    if extensionLength > maxChunkExtension { return fail(.chunkExtensionTooLong) }
                }
            case .sizeLF:
                if c != ASCII.lf { return fail(.invalidChunkSize) }
                if size == 0 {
                    state = .trailerLineStart
                } else {
                    state = .data
                }
            case .dataCR:
                if c != ASCII.cr { return fail(.missingChunkDataCRLF) }
                state = .dataLF
            case .dataLF:
                if c != ASCII.lf { return fail(.missingChunkDataCRLF) }
                state = .size
                digits = 0
                extensionLength = 0
            case .trailerLineStart:
                trailerBytes &+= 1
                if trailerBytes > maxTrailerBytes { return fail(.trailerTooLarge) }
                if c == ASCII.cr {
                    state = .finalLF
                } else if t[Int(c)] & HTTPByteClass.token != 0 {
                    state = .trailerLine
                } else {
                    return fail(.invalidTrailer)
                }
            case .trailerLine:
                trailerBytes &+= 1
                if trailerBytes > maxTrailerBytes { return fail(.trailerTooLarge) }
                if c == ASCII.cr {
                    state = .trailerLF
                } else if t[Int(c)] & HTTPByteClass.fieldValue == 0 {
                    return fail(.invalidTrailer)
                }
            case .trailerLF:
                trailerBytes &+= 1
                if c != ASCII.lf { return fail(.invalidTrailer) }
                state = .trailerLineStart
            case .finalLF:
                trailerBytes &+= 1
                if trailerBytes > maxTrailerBytes { return fail(.trailerTooLarge) }
                if c != ASCII.lf { return fail(.invalidTrailer) }
                state = .done
                return .complete(consumed: i)
            case .data, .done:
                break
            }
        }
        return .partial(consumed: n)
    }

    private mutating func fail(_ e: HTTPParseError) -> HTTPBodyResult {
        failure = e
        return .invalid(e)
    }
}
