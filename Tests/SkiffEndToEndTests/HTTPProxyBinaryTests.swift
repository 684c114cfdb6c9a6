import Glibc
import SkiffTestSupport
import Testing

@Suite(.serialized) struct HTTPProxyBinaryTests {
    @Test func keepAliveRoutingByHostPathAndHeader() throws {
        let f = try HTTPFixture()
        defer { _ = f.stop() }
        for port in f.ports {
            let base = "http://127.0.0.1:\(port)"
            // Two requests on one keep-alive connection: the second reuses it.
            let two = try curl(["-w", "|%{num_connects}\n", "\(base)/a", "\(base)/b"])
            #expect(two.status == 0, "\(two.output)")
            let lines = two.output.split(separator: "\n")
            #expect(lines.count == 2, "\(two.output)")
            #expect(lines.first?.hasSuffix("/a|1") == true, "\(two.output)")
            #expect(lines.last?.hasSuffix("/b|0") == true, "\(two.output)")
            // Round robin over web1 and web2.
            let names = try (0..<4).map { _ in try curl(["\(base)/rr"]).output }
            #expect(Set(names) == ["web1 /rr", "web2 /rr"], "\(names)")
            // Virtual host by Host header, header match, prefix rewrite.
            #expect(try curl(["-H", "Host: api.test", "\(base)/v1/x"]).output == "api /v1/x")
            #expect(try curl(["-H", "Host: api.test", "-H", "x-canary: 1", "\(base)/v1/x"]).output == "canary /v1/x")
            #expect(try curl(["\(base)/static/logo.png"]).output.hasSuffix(" /logo.png"))
            // Direct response and redirect.
            #expect(try curl(["-H", "Host: api.test", "\(base)/direct"]).output == "direct\n")
            let redirect = try curl(["-si", "-H", "Host: api.test", "\(base)/old/page"]).output
            #expect(redirect.hasPrefix("HTTP/1.1 301"), "\(redirect)")
            #expect(redirect.lowercased().contains("location: http://api.test/new"), "\(redirect)")
            // No route: a virtual host without a catch-all.
            let none = try curl(["-si", "-H", "Host: api.test", "\(base)/nothing"]).output
            #expect(none.hasPrefix("HTTP/1.1 404"), "\(none)")
            #expect(none.contains("x-skiff-reason: no route matched"), "\(none)")
        }
        #expect(f.stop() == 0)
    }

    @Test func forwardsXFFKeepsHostDropsHopByHop() throws {
        let f = try HTTPFixture()
        defer { _ = f.stop() }
        for port in f.ports {
            let out = try curl([
                "-H", "Connection: keep-alive, x-secret", "-H", "x-secret: 1", "-H", "Keep-Alive: timeout=5",
                "-H", "X-Forwarded-For: 10.1.1.1", "http://127.0.0.1:\(port)/headers",
            ]).output.lowercased()
            #expect(out.contains("host: 127.0.0.1:\(port)"), "\(out)")
            #expect(out.contains("x-forwarded-for: 10.1.1.1, 127.0.0.1"), "\(out)")
            #expect(!out.contains("x-secret"), "\(out)")
            #expect(!out.contains("keep-alive"), "\(out)")
        }
    }

    @Test func chunkedUploadHeadAndChunkedResponse() throws {
        let f = try HTTPFixture()
        defer { _ = f.stop() }
        let payload = String(repeating: "chunky-", count: 30_000)
        let file = try writeTempFile(payload, suffix: ".txt")
        defer { unlink(file) }
        for port in f.ports {
            let base = "http://127.0.0.1:\(port)"
            let up = try curl(["-H", "Transfer-Encoding: chunked", "--data-binary", "@\(file)", "\(base)/echo"])
            #expect(up.status == 0)
            #expect(up.output == payload)
            let head = try curl(["-sI", "\(base)/x"]).output
            #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
            #expect(head.lowercased().contains("content-length: 7"), "\(head)")  // "web1 /x" (no body sent)
            #expect(try curl(["\(base)/chunked"]).output == "hello world")
            // A response delimited by close reaches the client whole, and the client connection is closed after it.
            #expect(try curl(["\(base)/close"]).output == "until close")
        }
    }

    /// Three pipelined requests in one write: three responses, in order.
    @Test func pipelinedRequestsAnswerInOrder() throws {
        let f = try HTTPFixture()
        defer { _ = f.stop() }
        for port in f.ports {
            let reqs = ["/p1", "/p2", "/p3"].map { "GET \($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined()
                + "GET /p4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let out = try rawExchange(port: port, Array(reqs.utf8))
            let bodies = ["/p1", "/p2", "/p3", "/p4"].compactMap { p in out.offset(of: " \(p)") }
            #expect(bodies.count == 4, "\(out)")
            #expect(bodies == bodies.sorted(), "\(out)")
            #expect(out.occurrences(of: "HTTP/1.1 200") == 4, "\(out)")
        }
    }

    @Test func upstreamResetMidBodyCutsTheClient() throws {
        let f = try HTTPFixture()
        defer { _ = f.stop() }
        for port in f.ports {
            let r = try curl(["-o", "/dev/null", "-w", "%{size_download}", "http://127.0.0.1:\(port)/reset-mid-body"])
            // curl 18: transfer closed with outstanding read data remaining. Never a complete fake 200.
            #expect(r.status == 18, "\(r)")
            #expect(r.output.hasSuffix("1000"), "\(r)")
        }
    }

    @Test func routeTimeoutAnswers504() throws {
        let f = try HTTPFixture()
        defer { _ = f.stop() }
        for port in f.ports {
            let start = MonotonicClockSeconds.now()
            let r = try curl(["-si", "http://127.0.0.1:\(port)/never"])
            let took = MonotonicClockSeconds.now() - start
            #expect(r.output.hasPrefix("HTTP/1.1 504"), "\(r.output)")
            #expect(r.output.contains("x-skiff-reason: upstream timeout"), "\(r.output)")
            #expect(took > 0.8 && took < 5, "took \(took) s")
        }
    }

    @Test func retriesLandOnTheSecondHost() throws {
        let f = try HTTPFixture()
        defer { _ = f.stop() }
        for port in f.ports {
            let base = "http://127.0.0.1:\(port)"
            for _ in 0..<4 {
                let r = try curl(["-si", "\(base)/retry-connect"])
                #expect(r.output.hasPrefix("HTTP/1.1 200"), "\(r.output)")
                #expect(r.output.hasSuffix("web1 /retry-connect"), "\(r.output)")
            }
            for _ in 0..<4 {
                let r = try curl(["-si", "\(base)/retry5xx"])
                #expect(r.output.hasPrefix("HTTP/1.1 200"), "\(r.output)")
                #expect(r.output.hasSuffix("web2 /retry5xx"), "\(r.output)")
            }
        }
        #expect(f.failing.count(path: "/retry5xx") >= 2, "the failing host was tried")
        // Without a retry policy the 503 goes to the client as the upstream's own answer.
        var saw503 = false
        for _ in 0..<4 where try curl(["-si", "http://127.0.0.1:\(f.netpollPort)/no-retry5xx"]).output.hasPrefix("HTTP/1.1 503") {
            saw503 = true
        }
        #expect(saw503)
    }

    @Test func refusalsCloseWithTheRightStatus() throws {
        let f = try HTTPFixture()
        defer { _ = f.stop() }
        let cases: [(String, String)] = [
            ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"),
            ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", "400"),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", "400"),
            ("GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", "400"),
            ("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", "414"),
            ("GET / HTTP/1.1\r\nHost: x\r\n" + (0..<150).map { "X-\($0): v\r\n" }.joined() + "\r\n", "431"),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 70_000) + "\r\n\r\n", "431"),
            ("GET / HTTP/1.1\r\n\r\n", "400"),
        ]
        for port in f.ports {
            for (req, status) in cases {
                let out = try rawExchange(port: port, Array(req.utf8))
                #expect(out.hasPrefix("HTTP/1.1 \(status)"), "\(req.prefix(60)) -> \(out.prefix(120))")
                #expect(out.contains("server: skiff"))
                #expect(out.contains("connection: close"))
            }
        }
    }

    @Test func circuitBreakerRefusesOverflowAtOnce() throws {
        let f = try HTTPFixture()
        defer { _ = f.stop() }
        // One slow request holds the cluster's single max_requests slot; a second gets 503 at once.
        let slow = try SkiffProcess(executable: "curl", ["-s", "--max-time", "10", "http://127.0.0.1:\(f.netpollPort)/limited"])
        usleep(300_000)
        let start = MonotonicClockSeconds.now()
        let r = try curl(["-si", "http://127.0.0.1:\(f.rwloopPort)/limited"])
        #expect(MonotonicClockSeconds.now() - start < 1.0)
        #expect(r.output.hasPrefix("HTTP/1.1 503"), "\(r.output)")
        #expect(r.output.contains("x-skiff-overflow: max_requests"), "\(r.output)")
        #expect(slow.waitForExit(seconds: 10) == 0)
        #expect(slow.output == "web1 slow")
    }
}

enum MonotonicClockSeconds {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

extension String {
    /// Byte offset of the first occurrence of `needle`, or nil.
    func offset(of needle: String) -> Int? {
        let h = Array(utf8)
        let n = Array(needle.utf8)
        guard n.count <= h.count else { return nil }
        for i in 0...(h.count - n.count) where h[i] == n[0] && Array(h[i..<(i + n.count)]) == n { return i }
        return nil
    }

    func occurrences(of needle: String) -> Int {
        var count = 0
        var rest = Substring(self)
        while let r = String(rest).offset(of: needle) {
            count += 1
            rest = rest.dropFirst(r + needle.utf8.count)
        }
        return count
    }
}
