import Testing

@testable import SkiffProtocol

/// One acceptable request and every field the parser must report for it.
struct ValidRequest: Sendable, CustomTestStringConvertible {
    var name: String
    var raw: String
    var method: HTTPMethod = .get
    var methodText = "GET"
    var target = "/"
    var path = "/"
    var query: String? = nil
    var form: HTTPRequestHead.TargetForm = .origin
    var host: String? = "a.example"
    var version: HTTPVersion = .http11
    var contentLength: Int? = nil
    var chunked = false
    var close = false
    var keepAlive = false
    var expectContinue = false
    var upgrade = false
    var hopByHop: [String] = []
    var headerCount: Int? = nil
    var testDescription: String { name }
}

private func req(_ lines: String...) -> String { lines.map { $0 + "\r\n" }.joined() + "\r\n" }

private let manyHeaders = (0..<98).map { "X-H\($0): v\($0)" }

@Suite struct RequestParserTests {
    static let valid: [ValidRequest] = [
        .init(name: "simple GET", raw: req("GET / HTTP/1.1", "Host: a.example"), headerCount: 1),
        .init(
            name: "HEAD", raw: req("HEAD /x HTTP/1.1", "Host: a.example"), method: .head, methodText: "HEAD",
            target: "/x", path: "/x"),
        .init(
            name: "POST with content-length", raw: req("POST /f HTTP/1.1", "Host: a.example", "Content-Length: 12"),
            method: .post, methodText: "POST", target: "/f", path: "/f", contentLength: 12),
        .init(
            name: "PUT chunked", raw: req("PUT /u HTTP/1.1", "Host: a.example", "Transfer-Encoding: chunked"),
            method: .put, methodText: "PUT", target: "/u", path: "/u", chunked: true),
        .init(
            name: "DELETE", raw: req("DELETE /d/1 HTTP/1.1", "Host: a.example"), method: .delete,
            methodText: "DELETE", target: "/d/1", path: "/d/1"),
        .init(
            name: "OPTIONS asterisk", raw: req("OPTIONS * HTTP/1.1", "Host: a.example"), method: .options,
            methodText: "OPTIONS", target: "*", path: "*", form: .asterisk),
        .init(
            name: "PATCH", raw: req("PATCH /p HTTP/1.1", "Host: a.example", "Content-Length: 0"), method: .patch,
            methodText: "PATCH", target: "/p", path: "/p", contentLength: 0),
        .init(name: "TRACE", raw: req("TRACE / HTTP/1.1", "Host: a.example"), method: .trace, methodText: "TRACE"),
        .init(
            name: "CONNECT authority-form", raw: req("CONNECT a.example:443 HTTP/1.1", "Host: a.example:443"),
            method: .connect, methodText: "CONNECT", target: "a.example:443", path: "", form: .authority,
            host: "a.example:443"),
        .init(
            name: "extension method", raw: req("PURGE /c HTTP/1.1", "Host: a.example"), method: .other,
            methodText: "PURGE", target: "/c", path: "/c"),
        .init(
            name: "lowercase method is another method", raw: req("get / HTTP/1.1", "Host: a.example"),
            method: .other, methodText: "get"),
        .init(
            name: "absolute-form overrides Host", raw: req("GET http://b.example/a?b=1 HTTP/1.1", "Host: a.example"),
            target: "http://b.example/a?b=1", path: "/a", query: "b=1", form: .absolute, host: "b.example"),
        .init(
            name: "absolute-form https no path", raw: req("GET HTTPS://B.example:8443 HTTP/1.1", "Host: x"),
            target: "HTTPS://B.example:8443", path: "", form: .absolute, host: "B.example:8443"),
        .init(
            name: "absolute-form query without path", raw: req("GET http://b.example?x=1 HTTP/1.1", "Host: x"),
            target: "http://b.example?x=1", path: "", query: "x=1", form: .absolute, host: "b.example"),
        .init(
            name: "query", raw: req("GET /s?q=swift&page=2 HTTP/1.1", "Host: a.example"),
            target: "/s?q=swift&page=2", path: "/s", query: "q=swift&page=2"),
        .init(
            name: "empty query", raw: req("GET /a? HTTP/1.1", "Host: a.example"), target: "/a?", path: "/a",
            query: ""),
        .init(
            name: "question mark inside query", raw: req("GET /a?b?c=/d HTTP/1.1", "Host: a.example"),
            target: "/a?b?c=/d", path: "/a", query: "b?c=/d"),
        .init(
            name: "percent-encoding and obs-text in target",
            raw: req("GET /%7Euser/caf\u{e9} HTTP/1.1", "Host: a.example"),
            target: "/%7Euser/caf\u{e9}", path: "/%7Euser/caf\u{e9}"),
        .init(
            name: "many headers", raw: req(["GET / HTTP/1.1", "Host: a.example", "Accept: */*"] + manyHeaders),
            headerCount: 100),
        .init(
            name: "OWS trimmed", raw: req("GET / HTTP/1.1", "Host: \t a.example \t ", "Content-Length:   3  "),
            contentLength: 3),
        .init(
            name: "empty header value", raw: req("GET / HTTP/1.1", "Host: a.example", "X-Empty:", "X-Blank:   "),
            headerCount: 3),
        .init(
            name: "HTTP/1.0 without Host closes", raw: req("GET / HTTP/1.0"), host: nil, version: .http10,
            close: true, headerCount: 0),
        .init(
            name: "HTTP/1.0 keep-alive", raw: req("GET / HTTP/1.0", "Connection: keep-alive"), host: nil,
            version: .http10, keepAlive: true, hopByHop: ["Connection"]),
        .init(
            name: "HTTP/1.0 keep-alive and close", raw: req("GET / HTTP/1.0", "Connection: Keep-Alive, close"),
            host: nil, version: .http10, close: true, keepAlive: true, hopByHop: ["Connection"]),
        .init(
            name: "HTTP/1.1 Connection: close", raw: req("GET / HTTP/1.1", "Host: a.example", "Connection: CLOSE"),
            close: true, hopByHop: ["Connection"]),
        .init(
            name: "upgrade",
            raw: req(
                "GET /ws HTTP/1.1", "Host: a.example", "Connection: Upgrade",
                "Upgrade: websocket"),
            target: "/ws", path: "/ws", upgrade: true, hopByHop: ["Connection", "Upgrade"]),
        .init(
            name: "Connection token marks a later header",
            raw: req(
                "GET / HTTP/1.1", "Connection: x-foo, close",
                "Host: a.example", "X-Foo: 1", "X-Bar: 2"),
            close: true, hopByHop: ["Connection", "X-Foo"]),
        .init(
            name: "Connection token marks earlier headers, any case",
            raw: req("GET / HTTP/1.1", "x-secret: 1", "Host: a.example", "X-SECRET: 2", "connection: X-Secret"),
            hopByHop: ["x-secret", "X-SECRET", "connection"]),
        .init(
            name: "Connection cannot strip framing or Host",
            raw: req(
                "POST / HTTP/1.1", "Host: a.example", "Content-Length: 2",
                "Connection: content-length, host, transfer-encoding"),
            method: .post, methodText: "POST", contentLength: 2, hopByHop: ["Connection"]),
        .init(
            name: "Expect 100-continue",
            raw: req(
                "PUT /up HTTP/1.1", "Host: a.example", "Content-Length: 10",
                "Expect: 100-continue"),
            method: .put, methodText: "PUT", target: "/up", path: "/up", contentLength: 10, expectContinue: true),
        .init(
            name: "Expect is case-insensitive",
            raw: req(
                "POST / HTTP/1.1", "Host: a.example", "expect: 100-Continue",
                "Content-Length: 1"),
            method: .post, methodText: "POST", contentLength: 1, expectContinue: true),
        .init(
            name: "chunked is case-insensitive",
            raw: req(
                "POST / HTTP/1.1", "Host: a.example",
                "transfer-encoding:  Chunked "),
            method: .post, methodText: "POST", chunked: true),
        .init(
            name: "content-length 0", raw: req("POST / HTTP/1.1", "Host: a.example", "Content-Length: 0"),
            method: .post, methodText: "POST", contentLength: 0),
        .init(
            name: "content-length leading zeros", raw: req("POST / HTTP/1.1", "Host: a.example", "Content-Length: 007"),
            method: .post, methodText: "POST", contentLength: 7),
        .init(
            name: "all hop-by-hop names",
            raw: req(
                "GET / HTTP/1.1", "Host: a.example", "Keep-Alive: timeout=5",
                "Proxy-Connection: keep-alive", "TE: trailers", "Trailer: X-T",
                "Accept: */*"),
            hopByHop: ["Keep-Alive", "Proxy-Connection", "TE", "Trailer"]),
        .init(name: "leading empty lines are skipped", raw: "\r\n\r\n" + req("GET / HTTP/1.1", "Host: a.example")),
        .init(name: "IPv6 host with port", raw: req("GET / HTTP/1.1", "Host: [::1]:8080"), host: "[::1]:8080"),
        .init(name: "empty Host", raw: req("GET / HTTP/1.1", "Host:"), host: ""),
        .init(
            name: "obs-text in a value",
            raw: req("GET / HTTP/1.1", "Host: a.example", "X-Name: J\u{fc}rgen \u{1F600}")),
        .init(
            name: "tchar specials in a name", raw: req("GET / HTTP/1.1", "Host: a.example", "X-!#$%&'*+-.^_`|~: v"),
            headerCount: 2),
        .init(
            name: "several X-Forwarded-For",
            raw: req(
                "GET / HTTP/1.1", "Host: a.example", "X-Forwarded-For: 1.1.1.1",
                "X-Forwarded-For: 2.2.2.2")),
        .init(
            name: "colon inside value", raw: req("GET / HTTP/1.1", "Host: a.example:80", "X-Time: 12:30:00"),
            host: "a.example:80"),
    ]

    @Test(arguments: valid)
    func acceptsValidRequest(_ c: ValidRequest) {
        let r = parseRequest(c.raw)
        #expect(r.error == nil)
        guard r.error == nil else { return }
        #expect(r.head.method == c.method)
        #expect(r.method == c.methodText)
        #expect(r.target == c.target)
        #expect(r.path == c.path)
        #expect(r.query == c.query)
        #expect(r.head.targetForm == c.form)
        #expect(r.host == c.host)
        #expect(r.head.version == c.version)
        #expect(r.head.contentLength == c.contentLength)
        #expect(r.head.isChunked == c.chunked)
        #expect(r.head.connectionClose == c.close)
        #expect(r.head.keepAlive == c.keepAlive)
        #expect(r.head.expectContinue == c.expectContinue)
        #expect(r.head.upgrade == c.upgrade)
        #expect(r.hopByHop == c.hopByHop)
        #expect(r.head.hopByHopCount == c.hopByHop.count)
        #expect(r.head.headLength == c.raw.utf8.count)
        if let n = c.headerCount { #expect(r.headers.count == n) }
    }

    @Test func valuesAreTrimmedAndOffsetsPointIntoTheSource() {
        let r = parseRequest(req("GET / HTTP/1.1", "Host:  a.example\t", "X-A:\tone two \t", "X-B:"))
        #expect(r.headers.map(\.name) == ["Host", "X-A", "X-B"])
        #expect(r.headers.map(\.value) == ["a.example", "one two", ""])
    }

    @Test func lastXForwardedForIsRemembered() {
        let r = parseRequest(req("GET / HTTP/1.1", "X-Forwarded-For: 1.1.1.1", "Host: a", "x-forwarded-for: 2.2.2.2"))
        #expect(r.head.xForwardedForIndex == 2)
        #expect(r.head.hostIndex == 1)
    }

    @Test func bodyKindFollowsFraming() {
        #expect(parseRequest(req("GET / HTTP/1.1", "Host: a")).head.bodyKind == .none)
        #expect(parseRequest(req("POST / HTTP/1.1", "Host: a", "Content-Length: 5")).head.bodyKind == .contentLength(5))
        #expect(parseRequest(req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked")).head.bodyKind == .chunked)
    }

    @Test func limitsAtTheirEdgesAreAccepted() {
        let target = "/" + String(repeating: "a", count: 8192 - 4 - 9 - 1)
        let line = "GET \(target) HTTP/1.1"
        #expect(line.utf8.count == 8192)
        #expect(parseRequest(req(line, "Host: a")).error == nil)
        let hundred = ["GET / HTTP/1.1", "Host: a"] + (0..<99).map { "X-\($0): v" }
        #expect(parseRequest(req(hundred)).error == nil)
        let small = HTTPLimits(maxHeaderBytes: 64)
        let exact = req("GET / HTTP/1.1", "Host: a", "X: " + String(repeating: "v", count: 64 - 32))
        #expect(exact.utf8.count == 64)
        #expect(parseRequest(exact, limits: small).error == nil)
    }

    @Test func tableIsReusedAcrossRequests() {
        let table = HTTPHeaderTable(capacity: 8)
        let first = parseRequest(req("GET / HTTP/1.1", "Host: a", "X-1: 1", "X-2: 2"), table: table)
        #expect(first.headers.count == 3)
        let second = parseRequest(req("GET / HTTP/1.1", "Host: b"), table: table)
        #expect(second.headers.count == 1)
        #expect(second.host == "b")
    }

    @Test func tableCapacityBoundsTheHeaderCount() {
        let table = HTTPHeaderTable(capacity: 2)
        let r = parseRequest(req("GET / HTTP/1.1", "Host: a", "X-1: 1", "X-2: 2"), table: table)
        #expect(r.error == .tooManyHeaders)
    }
}

private func req(_ lines: [String]) -> String { lines.map { $0 + "\r\n" }.joined() + "\r\n" }
