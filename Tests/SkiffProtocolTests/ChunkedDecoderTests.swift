import Testing

@testable import SkiffProtocol

/// Feeds `bytes` to a fresh decoder in the given pieces; returns how many bytes the message took (nil if it never
/// completed) or the error.
private func decode(_ bytes: Bytes, cuts: [Int], limits: HTTPLimits = .default) -> Result<Int?, HTTPParseError> {
    var d = HTTPChunkedDecoder(limits: limits)
    var start = 0
    var taken = 0
    for end in cuts + [bytes.count] where end >= start {
        let piece = UnsafeRawBufferPointer(rebasing: bytes.view[start..<end])
        switch d.consume(piece) {
        case .partial(let n):
            #expect(n == piece.count)
            taken += n
        case .complete(let n):
            #expect(d.isComplete)
            return .success(taken + n)
        case .invalid(let e):
            return .failure(e)
        }
        start = end
    }
    return .success(nil)
}

@Suite struct ChunkedDecoderTests {
    static let valid: [Sample] = [
        "5\r\nhello\r\n0\r\n\r\n",
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        "A\r\n0123456789\r\n0\r\n\r\n",
        "a\r\n0123456789\r\n000\r\n\r\n",
        "0005\r\nhello\r\n0\r\n\r\n",
        "5;name=value\r\nhello\r\n0;last\r\n\r\n",
        "5 ;quoted=\"a b\"\r\nhello\r\n0\r\n\r\n",
        "5\t; x\r\nhello\r\n0\r\n\r\n",
        "0\r\n\r\n",
        "0\r\nX-Checksum: abc\r\nX-Other: 1 2\r\n\r\n",
        "3\r\n\r\n\r\r\n0\r\nT:\r\n\r\n",
        "1\r\n\u{0}\r\n0\r\n\r\n",
    ]

    /// Whole, byte by byte, and at every two-way split, the message ends at the same byte; a pipelined request after
    /// it is never consumed.
    @Test(arguments: valid)
    func everySplitGivesTheSameEnd(_ sample: Sample) {
        let body = sample.text
        let length = body.utf8.count
        let b = Bytes(body + "GET / HTTP/1.1\r\n\r\n")
        defer { withExtendedLifetime(b) {} }
        #expect(decode(b, cuts: []) == .success(length))
        #expect(decode(b, cuts: Array(1..<b.count)) == .success(length))
        for cut in 0...b.count {
            #expect(decode(b, cuts: [cut]) == .success(length), "cut at \(cut)")
        }
        let alone = Bytes(body)
        defer { withExtendedLifetime(alone) {} }
        #expect(decode(alone, cuts: Array(1..<alone.count)) == .success(length))
        #expect(decode(alone, cuts: [max(0, length - 1)]) == .success(length))
    }

    @Test func incompleteStreamsWaitForMore() {
        for s in [
            "", "5", "5\r", "5\r\nhel", "5\r\nhello", "5\r\nhello\r\n", "5\r\nhello\r\n0\r\n", "0\r\nX: 1\r\n",
            "0\r\n\r",
        ] {
            #expect(decode(Bytes(s), cuts: []) == .success(nil), "\(s.debugDescription)")
        }
    }

    static let malformed: [(Sample, HTTPParseError)] = [
        (Sample("x\r\n"), .invalidChunkSize),
        (Sample("\r\n"), .invalidChunkSize),
        (Sample("-5\r\n"), .invalidChunkSize),
        (Sample("0x5\r\nhello\r\n"), .invalidChunkSize),
        (Sample("5\nhello\r\n0\r\n\r\n"), .invalidChunkSize),
        (Sample("5\r\rhello"), .invalidChunkSize),
        (Sample("5 \r\nhello\r\n0\r\n\r\n"), .invalidChunkSize),
        (Sample("5 x\r\n"), .invalidChunkSize),
        (Sample("5\r\nhelloX\r\n0\r\n\r\n"), .missingChunkDataCRLF),
        (Sample("5\r\nhello\r0\r\n\r\n"), .missingChunkDataCRLF),
        (Sample("5\r\nhello\n0\r\n\r\n"), .missingChunkDataCRLF),
        (Sample("5\r\nhelloo\r\n0\r\n\r\n"), .missingChunkDataCRLF),
        (Sample("11111111111111111\r\n"), .chunkSizeTooLarge),
        (Sample("8000000000000000\r\n"), .chunkSizeTooLarge),
        (Sample("FFFFFFFFFFFFFFFF\r\n"), .chunkSizeTooLarge),
        (
            Sample("5;" + String(repeating: "e", count: 4096) + "\r\nhello\r\n0\r\n\r\n"),
            .chunkExtensionTooLong
        ),
        (Sample("5;a\u{0}\r\nhello\r\n"), .invalidChunkExtension),
        (Sample("5;a\nhello\r\n"), .invalidChunkExtension),
        (Sample("0\r\n X: folded\r\n\r\n"), .invalidTrailer),
        (Sample("0\r\n:x\r\n\r\n"), .invalidTrailer),
        (Sample("0\r\nX: 1\n\r\n"), .invalidTrailer),
        (Sample("0\r\nX: a\u{1}\r\n\r\n"), .invalidTrailer),
        (Sample("0\r\n\rX"), .invalidTrailer),
        (Sample("0\r\n\n"), .invalidTrailer),
        (
            Sample("0\r\nX: " + String(repeating: "t", count: 16384) + "\r\n\r\n"),
            .trailerTooLarge
        ),
    ]

    @Test(arguments: malformed)
    func malformedStreamsFailAtEverySplit(_ body: Sample, _ error: HTTPParseError) {
        let b = Bytes(body.text)
        defer { withExtendedLifetime(b) {} }
        #expect(decode(b, cuts: []) == .failure(error))
        #expect(decode(b, cuts: Array(1..<max(1, b.count))) == .failure(error))
        for cut in stride(from: 0, through: b.count, by: max(1, b.count / 64)) {
            #expect(decode(b, cuts: [cut]) == .failure(error), "cut at \(cut)")
        }
    }

    @Test func limitsAreConfigurable() {
        let limits = HTTPLimits(maxChunkExtension: 8, maxTrailerBytes: 12, maxChunkSize: 10)
        #expect(decode(Bytes("a\r\n0123456789\r\n0\r\n\r\n"), cuts: [], limits: limits) == .success(20))
        #expect(decode(Bytes("b\r\n"), cuts: [], limits: limits) == .failure(.chunkSizeTooLarge))
        #expect(decode(Bytes("10\r\n"), cuts: [], limits: limits) == .failure(.chunkSizeTooLarge))
        #expect(decode(Bytes("1;1234567\r\nx\r\n0\r\n\r\n"), cuts: [], limits: limits) == .success(19))
        #expect(decode(Bytes("1;12345678\r\n"), cuts: [], limits: limits) == .failure(.chunkExtensionTooLong))
        // The trailer section "X: 12345\r\n\r\n" is exactly 12 bytes.
        #expect(decode(Bytes("0\r\nX: 12345\r\n\r\n"), cuts: [], limits: limits) == .success(15))
        #expect(decode(Bytes("0\r\nX: 123456\r\n\r\n"), cuts: [], limits: limits) == .failure(.trailerTooLarge))
    }

    @Test func staysFailedAndStaysComplete() {
        var d = HTTPChunkedDecoder()
        let bad = Bytes("z")
        defer { withExtendedLifetime(bad) {} }
        #expect(d.consume(bad.view) == .invalid(.invalidChunkSize))
        let good = Bytes("0\r\n\r\n")
        defer { withExtendedLifetime(good) {} }
        #expect(d.consume(good.view) == .invalid(.invalidChunkSize))

        var e = HTTPChunkedDecoder()
        #expect(e.consume(good.view) == .complete(consumed: 5))
        #expect(e.consume(good.view) == .complete(consumed: 0))
    }
}
