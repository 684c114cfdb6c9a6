import Testing

@testable import SkiffControl

/// The socket-free pieces of the admin server: the router and percent-decoding (the request-head parser has
/// `AdminRequestParserTests`).
@Suite struct AdminRoutingTests {
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
