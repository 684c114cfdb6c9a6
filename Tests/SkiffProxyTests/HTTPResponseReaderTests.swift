import SkiffNet
import SkiffProtocol
import Testing

@testable import SkiffProxy

/// Upstream response parsing in-process: `HTTPResponseReader` (held by each `HTTPUpstream`) fed bytes the way the
/// exchange feeds it, checking the heads and body framing it reports.
@Suite struct HTTPResponseReaderTests {
    static func buffer(_ text: String, capacity: Int = 4096) -> ByteBuffer {
        let b = ByteBuffer(capacity: capacity)
        b.write(Array(text.utf8).withUnsafeBytes { $0 })
        return b
    }

    static func fed(_ text: String) -> HTTPResponseReader {
        var r = HTTPResponseReader()
        let v1 = r.appendHeadBytes(buffer(text))
        #expect(v1)
        return r
    }

    /// The body bytes `beginBody` hands back, as a string.
    static func text(_ b: ByteBuffer?) -> String {
        guard let b else { return "" }
        defer { b.release() }
        return String(decoding: b.readableView, as: UTF8.self)
    }

    @Test func incompleteHeadNeedsMore() {
        var r = Self.fed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n")
        let v2 = r.nextHead(limits: .default)
        #expect(v2 == .needMore)
        #expect(!r.readingBody)
        r.discardResponse()
    }

    @Test func headSplitAcrossReadsIsFoundOnceComplete() {
        var r = Self.fed("HTTP/1.1 200 OK\r\nContent-")
        let v3 = r.nextHead(limits: .default)
        #expect(v3 == .needMore)
        let v4 = r.appendHeadBytes(Self.buffer("Length: 2\r\n\r\nhi"))
        #expect(v4)
        guard case .head(let len) = r.nextHead(limits: .default) else {
            Issue.record("no head")
            return
        }
        #expect(r.head.statusCode == 200)
        let rest = r.beginBody(afterHead: len, kind: r.head.bodyKind(requestMethod: .get), limits: .default)
        #expect(Self.text(rest) == "hi")
        #expect(r.readingBody)
        #expect(r.body.kind == .contentLength(2))
    }

    @Test func finalHeadWithoutBodyBytesHandsNothingBack() {
        var r = Self.fed("HTTP/1.1 204 No Content\r\n\r\n")
        guard case .head(let len) = r.nextHead(limits: .default) else {
            Issue.record("no head")
            return
        }
        let kind = r.head.bodyKind(requestMethod: .get)
        #expect(kind == .none)
        let v5 = r.beginBody(afterHead: len, kind: kind, limits: .default)
        #expect(v5 == nil)
        #expect(r.body.isComplete)
        #expect(r.inbound == nil)
    }

    @Test func responseToHeadIgnoresItsContentLength() {
        var r = Self.fed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        guard case .head(let len) = r.nextHead(limits: .default) else {
            Issue.record("no head")
            return
        }
        let kind = r.head.bodyKind(requestMethod: .head)
        #expect(kind == .none)
        let v6 = r.beginBody(afterHead: len, kind: kind, limits: .default)
        #expect(v6 == nil)
        #expect(r.body.isComplete)
    }

    @Test func notModifiedHasNoBody() {
        var r = Self.fed("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
        guard case .head = r.nextHead(limits: .default) else {
            Issue.record("no head")
            return
        }
        #expect(r.head.bodyKind(requestMethod: .get) == .none)
        r.discardResponse()
    }

    @Test func interimHeadIsDroppedAndTheFinalOneFollows() {
        var r = Self.fed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
        guard case .head(let first) = r.nextHead(limits: .default) else {
            Issue.record("no interim head")
            return
        }
        #expect(r.head.statusCode == 100)
        r.interimHeadForwarded(length: first)
        #expect(!r.readingBody)
        guard case .head(let second) = r.nextHead(limits: .default) else {
            Issue.record("no final head")
            return
        }
        #expect(r.head.statusCode == 200)
        let body = r.beginBody(afterHead: second, kind: .contentLength(3), limits: .default)
        #expect(Self.text(body) == "abc")
    }

    @Test func interimHeadAloneReleasesItsBytes() {
        var r = Self.fed("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
        guard case .head(let len) = r.nextHead(limits: .default) else {
            Issue.record("no head")
            return
        }
        r.interimHeadForwarded(length: len)
        #expect(r.inbound == nil)
        let v7 = r.nextHead(limits: .default)
        #expect(v7 == .needMore)
    }

    @Test func bareLFInTheHeadIsInvalid() {
        var r = Self.fed("HTTP/1.1 200 OK\nContent-Length: 0\n\n")
        let v8 = r.nextHead(limits: .default)
        #expect(v8 == .invalid)
        r.discardResponse()
    }

    @Test func garbageStatusLineIsInvalid() {
        var r = Self.fed("SMTP ready\r\n\r\n")
        let v9 = r.nextHead(limits: .default)
        #expect(v9 == .invalid)
        r.discardResponse()
    }

    @Test func headOverTheLimitIsTooLargeOrInvalid() {
        var limits = HTTPLimits.default
        limits.maxHeaderBytes = 64
        var r = Self.fed("HTTP/1.1 200 OK\r\nX-Long: " + String(repeating: "a", count: 100))
        let result = r.nextHead(limits: limits)
        #expect(result == .tooLarge || result == .invalid)
        r.discardResponse()
    }

    @Test func headBytesThatDoNotFitAreRefused() {
        var r = HTTPResponseReader()
        let v10 = r.appendHeadBytes(Self.buffer("HTTP/1.1 200 OK\r\n", capacity: 20))
        #expect(v10)
        let v11 = r.appendHeadBytes(Self.buffer("X-Header: a value too long for the buffer\r\n"))
        #expect(!v11)
        r.discardResponse()
    }

    @Test func chunkedResponseIsFramedAsChunked() {
        var r = Self.fed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        guard case .head(let len) = r.nextHead(limits: .default) else {
            Issue.record("no head")
            return
        }
        let kind = r.head.bodyKind(requestMethod: .get)
        #expect(kind == .chunked)
        guard let rest = r.beginBody(afterHead: len, kind: kind, limits: .default) else {
            Issue.record("no body bytes")
            return
        }
        defer { rest.release() }
        let v12 = r.body.consume(rest.readableView) == .complete(consumed: rest.readableBytes)
        #expect(v12)
    }

    @Test func upstreamConnectionCloseIsSeen() {
        var r = Self.fed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        guard case .head = r.nextHead(limits: .default) else {
            Issue.record("no head")
            return
        }
        #expect(r.head.connectionClose)
        r.discardResponse()
    }

    @Test func resetClearsForTheNextResponse() {
        var r = Self.fed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        guard case .head(let len) = r.nextHead(limits: .default) else {
            Issue.record("no head")
            return
        }
        _ = r.beginBody(afterHead: len, kind: .contentLength(0), limits: .default)
        #expect(r.readingBody)
        r.reset()
        #expect(!r.readingBody)
        #expect(r.inbound == nil)
        let v13 = r.appendHeadBytes(Self.buffer("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
        #expect(v13)
        guard case .head = r.nextHead(limits: .default) else {
            Issue.record("no second head")
            return
        }
        #expect(r.head.statusCode == 404)
        r.discardResponse()
    }
}
