import SkiffNet
import SkiffProtocol

/// One upstream response as it is read: the head bytes kept until the head is complete, scanned and parsed in place
/// (no Strings, no allocation), then the body's framing. Held by an `HTTPUpstream` for the exchange using it and
/// reset for the next; confined to that upstream's executor. Interim (1xx) heads are dropped one by one until the
/// final head, after which `readingBody` is set and body bytes go to `body`.
struct HTTPResponseReader {
    /// Head bytes read so far (owned), or nil.
    var inbound: ByteBuffer?
    var scanner = HTTPHeadScanner(role: .response)
    /// The head found last, its offsets into `inbound`.
    var head = HTTPResponseHead()
    let headers = HTTPHeaderTable()
    var body = HTTPBodyTracker(kind: .none)
    /// The final head is through; the bytes that follow are body.
    var readingBody = false

    /// Clears everything for the next response.
    mutating func reset() {
        readingBody = false
        scanner.reset()
        discardResponse()
    }

    /// What the bytes kept for the response head hold so far.
    enum HeadResult: Equatable {
        case needMore
        /// A bare LF, or a head the parser refused.
        case invalid
        /// No end of head within the header limit.
        case tooLarge
        /// A head of `length` bytes at the front of `inbound`, parsed into `head` and `headers`.
        case head(length: Int)
    }

    /// Keeps `b` (taking it) with the response-head bytes read so far; false (and `b` released) when they do not fit.
    mutating func appendHeadBytes(_ b: ByteBuffer) -> Bool {
        guard let ib = inbound else {
            inbound = b
            return true
        }
        defer { b.release() }
        if ib.writableBytes < b.readableBytes { return false }
        ib.write(b.readableView)
        return true
    }

    /// Scans for the end of the next response head in `inbound` and parses it in place.
    mutating func nextHead(limits: HTTPLimits) -> HeadResult {
        guard let ib = inbound else { return .needMore }
        guard let len = scanner.scan(ib.readableView) else {
            // A bare LF in the head, or a head over the limit: the scanner gives up at once.
            if scanner.error != nil { return .invalid }
            return ib.readableBytes >= limits.maxHeaderBytes ? .tooLarge : .needMore
        }
        let source = UnsafeRawBufferPointer(rebasing: ib.readableView[0..<len])
        if HTTPParser.parseResponse(source, into: &head, headers: headers, limits: limits) != nil { return .invalid }
        return .head(length: len)
    }

    /// An interim (1xx) head of `length` bytes went downstream: drop it and look for the next head.
    mutating func interimHeadForwarded(length: Int) {
        guard let ib = inbound else { return }
        ib.readerIndex += length
        scanner.reset()
        if ib.readableBytes == 0 {
            ib.release()
            inbound = nil
        }
    }

    /// The final head of `length` bytes went downstream: the body follows, framed as `kind`. Returns the body bytes
    /// already read (the caller takes them), or nil.
    mutating func beginBody(afterHead length: Int, kind: HTTPBodyKind, limits: HTTPLimits) -> ByteBuffer? {
        body = HTTPBodyTracker(kind: kind, limits: limits)
        readingBody = true
        guard let ib = inbound else { return nil }
        inbound = nil
        ib.readerIndex += length
        if ib.readableBytes == 0 {
            ib.release()
            return nil
        }
        return ib
    }

    /// The response will not be used (its request is retried): drop what was read of it.
    mutating func discardResponse() {
        inbound?.release()
        inbound = nil
    }
}
