import Testing

@testable import SkiffControl

/// The socket-free pieces of the admin server: the request-head parser, the router, percent-decoding.
@Suite struct AdminRoutingTests {
    private func parse(_ text: String, headLimit: Int = 16384, bodyLimit: Int = 65536) -> HTTPRequestHead.ParseResult {
        HTTPRequestHead.parse(Array(text.utf8)[...], headLimit: headLimit, bodyLimit: bodyLimit)
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

    @Test func bareLineFeedsAndKeepAliveRules() {
        guard case .complete(let h10, _) = parse("GET / HTTP/1.0\n\n") else {
            Issue.record("1.0")
            return
        }
        #expect(!h10.keepAlive)
        guard case .complete(let h10ka, _) = parse("GET / HTTP/1.0\nConnection: Keep-Alive\n\n") else { return }
        #expect(h10ka.keepAlive)
        guard case .complete(let h11close, _) = parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n") else {
            return
        }
        #expect(!h11close.keepAlive)
        guard
            case .complete(let expect, _) = parse("PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
        else { return }
        #expect(expect.expectContinue)
    }

    @Test(arguments: ["", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HT"])
    func incompleteHeads(text: String) {
        #expect(parse(text) == .incomplete)
    }

    @Test(arguments: [
        ("garbage\r\n\r\n", 400),
        ("GET  / HTTP/1.1\r\n\r\n", 400),
        ("GET /a b HTTP/1.1\r\n\r\n", 400),
        ("GET http://x/ HTTP/1.1\r\n\r\n", 400),
        ("G(T / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nName : v\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", 413),
        ("GET / HTTP/2.0\r\n\r\n", 505),
        ("GET / HTTP/0.9\r\n\r\n", 400),
    ])
    func refusedHeads(text: String, status: Int) {
        guard case .failure(let got, _) = parse(text) else {
            Issue.record("accepted: \(text)")
            return
        }
        #expect(got == status)
    }

    @Test func headLimit() {
        let big = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200) + "\r\n\r\n"
        guard case .failure(431, _) = parse(big, headLimit: 100) else {
            Issue.record("no 431")
            return
        }
        guard case .failure(431, _) = parse(String(big.prefix(150)), headLimit: 100) else {
            Issue.record("no 431 before the head ends")
            return
        }
        #expect(parse(big, headLimit: 300) != .incomplete)
    }

    @Test(arguments: [
        ("127.0.0.1%3A8080", "127.0.0.1:8080"), ("a%20b", "a b"), ("a+b", "a+b"), ("%E2%9C%93", "✓"),
        ("plain", "plain"),
    ])
    func percentDecoding(raw: String, decoded: String) {
        #expect(PercentDecoding.decode(Substring(raw)) == decoded)
    }

    @Test(arguments: ["%", "%4", "%zz", "%FF"])
    func badPercentEncoding(raw: String) {
        #expect(PercentDecoding.decode(Substring(raw)) == nil)
    }

    @Test func routerMatching() {
        var router = AdminRouter()
        router.add("GET", "/api/v1/stats") { _ in .text("stats") }
        router.add("POST", "/api/v1/hosts/*/*/state") { _ in .text("state") }
        router.add("DELETE", "/api/v1/hosts/*/*/state") { _ in .text("delete") }
        router.add("GET", .prefix("/debug/")) { _ in .text("debug") }

        guard case .found(_, let none) = router.match(method: "GET", path: "/api/v1/stats") else {
            Issue.record()
            return
        }
        #expect(none.isEmpty)
        guard case .found = router.match(method: "HEAD", path: "/api/v1/stats") else {
            Issue.record()
            return
        }
        guard
            case .found(_, let params) = router.match(
                method: "POST", path: "/api/v1/hosts/c%201/127.0.0.1%3A8080/state")
        else {
            Issue.record()
            return
        }
        #expect(params == ["c 1", "127.0.0.1:8080"])
        guard case .found(_, let rest) = router.match(method: "GET", path: "/debug/a%2Fb") else {
            Issue.record()
            return
        }
        #expect(rest == ["a/b"])
        guard case .methodNotAllowed(let allow) = router.match(method: "GET", path: "/api/v1/hosts/c/h/state") else {
            Issue.record()
            return
        }
        #expect(allow == ["POST", "DELETE"])
        guard case .methodNotAllowed(let allowGet) = router.match(method: "PUT", path: "/api/v1/stats") else {
            Issue.record()
            return
        }
        #expect(allowGet == ["GET", "HEAD"])
        for path in ["/api/v1/stats/", "/api/v1/hosts/c/state", "/api/v1/hosts//h/state", "/nope", "/debug"] {
            guard case .notFound = router.match(method: "GET", path: path) else {
                Issue.record("matched \(path)")
                continue
            }
        }
        guard case .badPath = router.match(method: "POST", path: "/api/v1/hosts/%zz/h/state") else {
            Issue.record()
            return
        }
    }
}
