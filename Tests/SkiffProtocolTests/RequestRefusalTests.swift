import Testing

@testable import SkiffProtocol

/// One request the parser must refuse, with the exact status and reason.
struct Refusal: Sendable, CustomTestStringConvertible {
    var name: String
    var raw: String
    var status: Int
    var reason: String
    var testDescription: String { name }

    init(_ name: String, _ raw: String, _ error: HTTPParseError) {
        self.name = name
        self.raw = raw
        status = error.status
        reason = error.reason.description
    }
}

private func req(_ lines: String...) -> String { lines.map { $0 + "\r\n" }.joined() + "\r\n" }
private let longLine = "GET /" + String(repeating: "a", count: 8192 - 13) + " HTTP/1.1"  // 8193 bytes

@Suite struct RequestRefusalTests {
    static let refusals: [Refusal] = [
        // Smuggling: framing.
        .init(
            "CL and TE", req("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Transfer-Encoding: chunked"),
            .contentLengthAndTransferEncoding),
        .init(
            "TE and CL", req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Content-Length: 5"),
            .contentLengthAndTransferEncoding),
        .init(
            "CL and non-chunked TE", req("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Transfer-Encoding: gzip"),
            .contentLengthAndTransferEncoding),
        .init(
            "duplicate CL, equal", req("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 5"),
            .duplicateContentLength),
        .init(
            "duplicate CL, different", req("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "content-length: 6"),
            .duplicateContentLength),
        .init("CL list 5, 5", req("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 5"), .invalidContentLength),
        .init("CL letters", req("POST / HTTP/1.1", "Host: a", "Content-Length: abc"), .invalidContentLength),
        .init("CL negative", req("POST / HTTP/1.1", "Host: a", "Content-Length: -1"), .invalidContentLength),
        .init("CL plus sign", req("POST / HTTP/1.1", "Host: a", "Content-Length: +5"), .invalidContentLength),
        .init("CL inner space", req("POST / HTTP/1.1", "Host: a", "Content-Length: 1 2"), .invalidContentLength),
        .init("CL hex", req("POST / HTTP/1.1", "Host: a", "Content-Length: 0x10"), .invalidContentLength),
        .init(
            "CL overflow", req("POST / HTTP/1.1", "Host: a", "Content-Length: 99999999999999999999"),
            .invalidContentLength),
        .init("CL empty", req("POST / HTTP/1.1", "Host: a", "Content-Length: "), .invalidContentLength),
        .init(
            "TE gzip, chunked", req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip, chunked"),
            .unsupportedTransferCoding),
        .init(
            "TE chunked, chunked", req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, chunked"),
            .unsupportedTransferCoding),
        .init("TE gzip alone", req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip"), .chunkedNotFinal),
        .init(
            "TE chunked then gzip", req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, gzip"),
            .chunkedNotFinal),
        .init("TE identity", req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: identity"), .chunkedNotFinal),
        .init(
            "TE with parameter", req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked;q=1"),
            .chunkedNotFinal),
        .init("TE misspelt", req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunk"), .chunkedNotFinal),
        .init("TE empty", req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: "), .chunkedNotFinal),
        .init(
            "TE twice", req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
            .duplicateTransferEncoding),
        .init("TE in HTTP/1.0", req("POST / HTTP/1.0", "Transfer-Encoding: chunked"), .transferEncodingInHTTP10),
        // Line syntax.
        .init("obs-fold", req("GET / HTTP/1.1", "Host: a", "X-A: 1", " continued"), .obsFold),
        .init("obs-fold with tab", req("GET / HTTP/1.1", "Host: a", "X-A: 1", "\tcontinued"), .obsFold),
        .init("whitespace before first header", req("GET / HTTP/1.1", " Host: a"), .obsFold),
        .init("space before colon", req("GET / HTTP/1.1", "Host : a"), .whitespaceBeforeColon),
        .init("tab before colon", req("GET / HTTP/1.1", "Host: a", "Content-Length\t: 5"), .whitespaceBeforeColon),
        .init("space inside name", req("GET / HTTP/1.1", "Host: a", "X Y: 5"), .whitespaceBeforeColon),
        .init("non-tchar in name", req("GET / HTTP/1.1", "Host: a", "X(Y): 5"), .invalidHeaderName),
        .init("empty name", req("GET / HTTP/1.1", "Host: a", ": 5"), .invalidHeaderName),
        .init("no colon", req("GET / HTTP/1.1", "Host: a", "Nonsense"), .invalidHeaderName),
        .init("NUL in name", req("GET / HTTP/1.1", "Host: a", "X\u{0}Y: 1"), .invalidHeaderName),
        .init("NUL in value", req("GET / HTTP/1.1", "Host: a", "X: a\u{0}b"), .invalidHeaderValue),
        .init("bare CR in value", req("GET / HTTP/1.1", "Host: a", "X: a\rb"), .invalidHeaderValue),
        .init("DEL in value", req("GET / HTTP/1.1", "Host: a", "X: a\u{7f}"), .invalidHeaderValue),
        .init("CTL in value", req("GET / HTTP/1.1", "Host: a", "X: \u{1}"), .invalidHeaderValue),
        .init("ESC in value", req("GET / HTTP/1.1", "Host: a", "X: \u{1b}[31m"), .invalidHeaderValue),
        .init("bare LF between headers", "GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n", .bareLineFeed),
        .init("bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", .bareLineFeed),
        .init("bare CR starting a line", "GET / HTTP/1.1\r\nHost: a\r\n\rX: 1\r\n\r\n", .invalidHeaderName),
        .init("no end of head", "GET / HTTP/1.1\r\nHost: a\r\n", .incompleteHead),
        .init("only empty lines", "\r\n\r\n", .emptyRequestLine),
        // Request line.
        .init("invalid method char", req("GE(T / HTTP/1.1", "Host: a"), .invalidMethod),
        .init("method with @", req("G@T / HTTP/1.1", "Host: a"), .invalidMethod),
        .init("empty method", req(" / HTTP/1.1", "Host: a"), .invalidMethod),
        .init("tab after method", req("GET\t/ HTTP/1.1", "Host: a"), .invalidMethod),
        .init("double space", req("GET  / HTTP/1.1", "Host: a"), .invalidRequestLine),
        .init("no version", req("GET /", "Host: a"), .invalidRequestLine),
        .init("method only", req("GET", "Host: a"), .invalidRequestLine),
        .init("space inside target", req("GET /a b HTTP/1.1", "Host: a"), .invalidVersion),
        .init("CTL in target", req("GET /a\u{1}b HTTP/1.1", "Host: a"), .invalidTarget),
        .init("DEL in target", req("GET /a\u{7f} HTTP/1.1", "Host: a"), .invalidTarget),
        .init("tab in target", req("GET /a\tb HTTP/1.1", "Host: a"), .invalidTarget),
        .init("fragment in target", req("GET /a#b HTTP/1.1", "Host: a"), .invalidTarget),
        .init("relative target", req("GET a/b HTTP/1.1", "Host: a"), .invalidTarget),
        .init("asterisk without OPTIONS", req("GET * HTTP/1.1", "Host: a"), .invalidTarget),
        .init("other scheme", req("GET ftp://a/b HTTP/1.1", "Host: a"), .invalidTarget),
        .init("empty authority", req("GET http:///b HTTP/1.1", "Host: a"), .invalidTarget),
        .init("userinfo", req("GET http://u:p@a/b HTTP/1.1", "Host: a"), .invalidTarget),
        .init("CONNECT with a path", req("CONNECT /a HTTP/1.1", "Host: a"), .invalidTarget),
        .init("CONNECT without port", req("CONNECT a.example HTTP/1.1", "Host: a"), .invalidTarget),
        // Dot segments (routes would match the path unresolved; a backend resolves it: RFC 3986 §5.2.4).
        .init("dot-dot segment", req("GET /api/../admin HTTP/1.1", "Host: a"), .dotSegment),
        .init("leading dot-dot", req("GET /../etc/passwd HTTP/1.1", "Host: a"), .dotSegment),
        .init("trailing dot-dot", req("GET /api/.. HTTP/1.1", "Host: a"), .dotSegment),
        .init("dot segment", req("GET /api/./x HTTP/1.1", "Host: a"), .dotSegment),
        .init("trailing dot", req("GET /api/. HTTP/1.1", "Host: a"), .dotSegment),
        .init("encoded dot-dot", req("GET /api/%2e%2e/admin HTTP/1.1", "Host: a"), .dotSegment),
        .init("encoded dot-dot, upper case", req("GET /api/%2E%2E/admin HTTP/1.1", "Host: a"), .dotSegment),
        .init("half-encoded dot-dot", req("GET /api/.%2e/admin HTTP/1.1", "Host: a"), .dotSegment),
        .init("dot-dot before a query", req("GET /a/..?x=1 HTTP/1.1", "Host: a"), .dotSegment),
        .init("dot-dot in an absolute-form path", req("GET http://b.example/a/../c HTTP/1.1", "Host: a"), .dotSegment),
        .init("trailing space after version", req("GET / HTTP/1.1 ", "Host: a"), .invalidVersion),
        .init("lowercase version", req("GET / http/1.1", "Host: a"), .invalidVersion),
        .init("short version", req("GET / HTTP/1", "Host: a"), .invalidVersion),
        .init("two-digit minor", req("GET / HTTP/1.10", "Host: a"), .invalidVersion),
        .init("HTTP/2.0", req("GET / HTTP/2.0", "Host: a"), .unsupportedVersion),
        .init("HTTP/1.2", req("GET / HTTP/1.2", "Host: a"), .unsupportedVersion),
        .init("HTTP/0.9", req("GET / HTTP/0.9", "Host: a"), .unsupportedVersion),
        // Limits.
        .init("request line over 8192", req(longLine, "Host: a"), .requestLineTooLong),
        .init(
            "head over 65536", req("GET / HTTP/1.1", "Host: a", "X: " + String(repeating: "v", count: 65536)),
            .headTooLarge),
        .init("101 headers", req(["GET / HTTP/1.1", "Host: a"] + (0..<100).map { "X-\($0): v" }), .tooManyHeaders),
        // Host.
        .init("missing Host", req("GET / HTTP/1.1", "Accept: */*"), .missingHost),
        .init("two Host headers", req("GET / HTTP/1.1", "Host: a", "Host: a"), .multipleHost),
        .init("two Host headers, any case", req("GET / HTTP/1.1", "Host: a", "hOST: b"), .multipleHost),
        .init("Host with a slash", req("GET / HTTP/1.1", "Host: a/b"), .invalidHost),
        .init("Host with a space", req("GET / HTTP/1.1", "Host: a b"), .invalidHost),
        .init("Host with userinfo", req("GET / HTTP/1.1", "Host: u@a"), .invalidHost),
    ]

    @Test(arguments: refusals)
    func refuses(_ c: Refusal) {
        let r = parseRequest(c.raw)
        #expect(r.error?.status == c.status)
        #expect(r.error?.reason.description == c.reason)
    }

    /// Dots that are not whole segments, and dot segments in the query, are ordinary.
    @Test func dotsInsideSegmentsAndQueriesAreAccepted() {
        for target in [
            "/logo.png", "/a/...", "/a/.b/c", "/a/b.", "/..a", "/a..b/", "/%2e%2e%2e", "/a/%2ex", "/a//b", "/?x=/../y",
            "/v1.2/x", "/.well-known/acme", "/%252e%252e/",
        ] {
            let r = parseRequest("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(r.error == nil, "\(target): \(String(describing: r.error))")
        }
    }

    @Test func safeMethodsAreTheRFCs() {
        let safe: [HTTPMethod] = [.get, .head, .options, .trace]
        let unsafe: [HTTPMethod] = [.post, .put, .delete, .patch, .connect, .other]
        #expect(safe.filter { !$0.isSafe }.isEmpty)
        #expect(unsafe.filter { $0.isSafe }.isEmpty)
    }

    @Test func refusalStatusesAreTheDocumentedOnes() {
        let statuses = Set(Self.refusals.map(\.status))
        #expect(statuses == [400, 414, 431, 501, 505])
    }

    @Test func requestLineLimitIsCheckedBeforeTheHeadIsComplete() {
        let limits = HTTPLimits(maxRequestLine: 16)
        func check(_ s: String) -> HTTPParseError? {
            let b = Bytes(s)
            defer { withExtendedLifetime(b) {} }
            return HTTPParser.checkRequestLineLength(b.view, limits: limits)
        }
        #expect(check("GET /0123456789") == nil)  // 15 bytes so far
        #expect(check("GET /01234567890") == nil)  // exactly 16
        #expect(check("GET /01234567890\r") == nil)  // 16 and the CR
        #expect(check("GET /012345678901") == .requestLineTooLong)  // 17, no CR
        #expect(check("GET /01234567890\r\nHost: a") == nil)
        #expect(check("GET /012345678901\r\nHost: a") == .requestLineTooLong)
        #expect(check("\r\n\r\nGET /01234567890\r") == nil)
        #expect(check("") == nil)
    }
}

private func req(_ lines: [String]) -> String { lines.map { $0 + "\r\n" }.joined() + "\r\n" }
