import Testing

@testable import SkiffProtocol

@Suite struct BodyTrackerTests {
    @Test func contentLengthStopsAtTheNextMessage() {
        var t = HTTPBodyTracker(kind: .contentLength(7))
        let a = Bytes("abc")
        defer { withExtendedLifetime(a) {} }
        #expect(t.consume(a.view) == .partial(consumed: 3))
        #expect(!t.isComplete)
        let b = Bytes("defgGET / HTTP/1.1\r\n")
        defer { withExtendedLifetime(b) {} }
        #expect(t.consume(b.view) == .complete(consumed: 4))
        #expect(t.isComplete)
        #expect(t.bodyBytes == 7)
        #expect(t.consume(b.view) == .complete(consumed: 0))
    }

    @Test func emptyBodiesAreCompleteAtOnce() {
        let next = Bytes("GET /")
        defer { withExtendedLifetime(next) {} }
        for kind in [HTTPBodyKind.none, .contentLength(0)] {
            var t = HTTPBodyTracker(kind: kind)
            #expect(t.isComplete)
            #expect(t.consume(next.view) == .complete(consumed: 0))
            #expect(t.finishAtEOF() == .complete(consumed: 0))
        }
    }

    @Test func untilCloseEndsOnlyAtEOF() {
        var t = HTTPBodyTracker(kind: .untilClose)
        let a = Bytes("0\r\n\r\nanything")
        defer { withExtendedLifetime(a) {} }
        #expect(t.consume(a.view) == .partial(consumed: a.count))
        #expect(!t.isComplete)
        #expect(t.finishAtEOF() == .complete(consumed: 0))
        #expect(t.isComplete)
    }

    @Test func eofTruncatesFramedBodies() {
        var cl = HTTPBodyTracker(kind: .contentLength(10))
        let abc = Bytes("abc")
        defer { withExtendedLifetime(abc) {} }
        _ = cl.consume(abc.view)
        #expect(cl.finishAtEOF() == .invalid(.truncatedBody))
        var ch = HTTPBodyTracker(kind: .chunked)
        let partial = Bytes("5\r\nab")
        defer { withExtendedLifetime(partial) {} }
        _ = ch.consume(partial.view)
        #expect(ch.finishAtEOF() == .invalid(.truncatedBody))
    }

    @Test func chunkedIsDelegated() {
        var t = HTTPBodyTracker(kind: .chunked)
        let a = Bytes("3\r\nabc\r\n")
        defer { withExtendedLifetime(a) {} }
        #expect(t.consume(a.view) == .partial(consumed: 8))
        let b = Bytes("0\r\n\r\nPOST")
        defer { withExtendedLifetime(b) {} }
        #expect(t.consume(b.view) == .complete(consumed: 5))
        #expect(t.bodyBytes == 13)
        var bad = HTTPBodyTracker(kind: .chunked)
        let g = Bytes("g")
        defer { withExtendedLifetime(g) {} }
        #expect(bad.consume(g.view) == .invalid(.invalidChunkSize))
    }
}
