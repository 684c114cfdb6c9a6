import SkiffProtocol
import Testing

@testable import SkiffControl

/// The admin server's request heads, read by SkiffProtocol's HTTP/1 parser: what it accepts, and that everything it
/// refuses is refused with SkiffProtocol's status and reason, plus the admin server's own rules (origin-form only,
/// body limit, no chunked bodies).
@Suite struct AdminRequestParserTests {
    static let limits = HTTPLimits(maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100)

    private func parse(_ text: String, limits: HTTPLimits = limits, bodyLimit: Int = 65536)
        -> AdminRequestParser.Result
    {
        var parser = AdminRequestParser(limits: limits, bodyLimit: bodyLimit)
        return parser.parse(Array(text.utf8))
    }

    @Test func parsesAHead() {
        let text =
            "\r\nPOST /api/v1/hosts/c1/h/state?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length:  5 \r\nX-A: b c\r\n\r\nhello"
        guard case .complete(let head, let consumed) = parse(text) else {
            Issue.record("not parsed")
            return
        }
        #expect(head.method == "POST")
        #expect(head.target == "/api/v1/hosts/c1/h/state?x=1")
        #expect(head.minorVersion == 1)
        #expect(head.contentLength == 5)
        #expect(head.keepAlive)
        #expect(!head.expectContinue)
        #expect(
            head.headers == [
                .init(name: "Host", value: "a"), .init(name: "Content-Length", value: "5"),
                .init(name: "X-A", value: "b c"),
            ])
        #expect(consumed == text.utf8.count - 5)
    }

    @Test func keepAliveRules() {
        guard case .complete(let h10, _) = parse("GET / HTTP/1.0\r\n\r\n") else {
            Issue.record("1.0")
            return
        }
        #expect(!h10.keepAlive)
        #expect(h10.minorVersion == 0)
        guard case .complete(let h10ka, _) = parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") else {
            Issue.record("1.0 keep-alive")
            return
        }
        #expect(h10ka.keepAlive)
        guard case .complete(let h11close, _) = parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n")
        else {
            Issue.record("1.1 close")
            return
        }
        #expect(!h11close.keepAlive)
        guard
            case .complete(let expect, _) = parse(
                "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
        else {
            Issue.record("expect")
            return
        }
        #expect(expect.expectContinue)
    }

    @Test(arguments: ["", "\r\n", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HT"])
    func incompleteHeads(text: String) {
        #expect(parse(text) == .incomplete)
    }

    /// A head arriving a byte at a time is found once, at its end, and the same as all at once; after `reset` the
    /// next (pipelined) request in the buffer is read.
    @Test func headsArrivingByteByByteAndPipelined() {
        let first = "GET /api/v1/stats HTTP/1.1\r\nHost: a\r\n\r\n"
        let second = "DELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
        let bytes = Array((first + second).utf8)
        var parser = AdminRequestParser(limits: Self.limits, bodyLimit: 65536)
        var buffer: [UInt8] = []
        var found: (AdminRequestParser.Head, Int)? = nil
        for (i, b) in bytes.enumerated() {
            buffer.append(b)
            switch parser.parse(buffer) {
            case .incomplete: continue
            case .failure(let status, let message): Issue.record("refused at \(i): \(status) \(message)")
            case .complete(let head, let consumed): found = (head, consumed)
            }
            break
        }
        #expect(found?.0.target == "/api/v1/stats")
        #expect(found?.1 == first.utf8.count)
        #expect(buffer.count == first.utf8.count, "found as soon as the head ended")

        buffer = Array(bytes[first.utf8.count...])
        parser.reset()
        guard case .complete(let next, let consumed) = parser.parse(buffer) else {
            Issue.record("pipelined request not read")
            return
        }
        #expect(next.method == "DELETE")
        #expect(consumed == second.utf8.count)
    }

    /// Refused exactly as SkiffProtocol refuses them: its status, its reason.
    @Test(arguments: [
        ("garbage\r\n\r\n", HTTPParseError.invalidRequestLine),
        ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", .invalidRequestLine),
        ("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", .invalidVersion),
        ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", .invalidMethod),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/0.9\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/1.1\r\n\r\n", .missingHost),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .multipleHost),
        ("GET / HTTP/1.1\nHost: a\n\n", .bareLineFeed),
        ("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", .bareLineFeed),
        ("GET / HTTP/1.1\r\nHost: a\r\nA: b\r\n folded\r\n\r\n", .obsFold),
        ("GET / HTTP/1.1\r\nHost: a\r\nNo colon\r\n\r\n", .whitespaceBeforeColon),
        ("GET / HTTP/1.1\r\nHost: a\r\nName : v\r\n\r\n", .whitespaceBeforeColon),
        ("GET / HTTP/1.1\r\nHost: a\r\nA: b\rc\r\n\r\n", .invalidHeaderValue),
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .duplicateContentLength),
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", .duplicateContentLength),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            .contentLengthAndTransferEncoding
        ),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", .chunkedNotFinal),
    ])
    func refusedAsSkiffProtocolRefuses(text: String, error: HTTPParseError) {
        guard case .failure(let status, let message) = parse(text) else {
            Issue.record("accepted: \(text)")
            return
        }
        #expect(status == error.status)
        #expect(message == "\(error.reason)")
    }

    /// What the admin server refuses beyond SkiffProtocol.
    @Test(arguments: [
        ("GET http://x/api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n", 413),
    ])
    func refusedByTheAdminServer(text: String, status: Int) {
        guard case .failure(let got, _) = parse(text) else {
            Issue.record("accepted: \(text)")
            return
        }
        #expect(got == status)
    }

    @Test func limits() {
        let tight = HTTPLimits(maxRequestLine: 64, maxHeaderBytes: 100, maxHeaders: 3)
        let big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "a", count: 200) + "\r\n\r\n"
        #expect(
            parse(big, limits: tight) == .failure(status: 431, message: "header section too large (over 100 bytes)"))
        guard case .failure(431, _) = parse(String(big.prefix(150)), limits: tight) else {
            Issue.record("no 431 before the head ends")
            return
        }
        guard case .complete = parse(big, limits: HTTPLimits(maxHeaderBytes: 300)) else {
            Issue.record("refused within the limit")
            return
        }
        let longLine = "GET /" + String(repeating: "p", count: 100)
        #expect(
            parse(longLine, limits: tight) == .failure(status: 414, message: "request line too long (over 64 bytes)"))
        let many = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
        #expect(parse(many, limits: tight) == .failure(status: 431, message: "too many headers (over 3)"))
    }
}
