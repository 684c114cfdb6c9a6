import Glibc
import Testing

@testable import SkiffControl

/// Starts an admin server on 127.0.0.1 with a free port and the engine's routes (echoing what they got), runs
/// `body`, stops it.
func withAdminServer(
    maxConnections: Int = 64, ioTimeoutNs: UInt64 = 10_000_000_000, _ body: (AdminHTTPServer) throws -> Void
) throws {
    var configuration = AdminHTTPServer.Configuration(port: 0)
    configuration.maxConnections = maxConnections
    configuration.ioTimeoutNs = ioTimeoutNs
    let server = AdminHTTPServer(configuration: configuration)
    server.route("GET", "/api/v1/stats") { _ in .json(Array(#"{"downstream":{}}"#.utf8)) }
    server.route("GET", "/api/v1/clusters") { req in
        .text("clusters type=\(req.queryParameter("type") ?? "-") from=\(req.remoteAddress.hasPrefix("127.0.0.1:"))")
    }
    server.route("GET", "/metrics") { _ in
        var w = PrometheusWriter()
        w.counter(name: "control_requests_total", help: "Requests.", value: 3)
        return AdminResponse(contentType: PrometheusWriter.contentType, body: w.bytes)
    }
    server.route("POST", "/api/v1/hosts/*/*/state") { req in
        .text(
            "cluster=\(req.pathParameters[0]) host=\(req.pathParameters[1]) "
                + "body=\(String(decoding: req.body, as: UTF8.self))"
        )
    }
    try server.start()
    defer { server.stop() }
    try body(server)
}

@Suite(.timeLimit(.minutes(1)))
struct AdminHTTPServerTests {
    @Test func routesAnswer() throws {
        try withAdminServer { server in
            #expect(server.port > 0)
            let c = try #require(TestSocket.tcp(port: server.port))
            c.send("GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try #require(c.readHTTPResponse())
            #expect(r.status == 200)
            #expect(r.header("Content-Type") == "application/json")
            #expect(r.header("Content-Length") == "17")
            #expect(r.text == #"{"downstream":{}}"#)

            c.send("GET /api/v1/clusters?type=upstream&x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(c.readHTTPResponse()?.text == "clusters type=upstream from=true\n")

            c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            let m = try #require(c.readHTTPResponse())
            #expect(m.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(
                m.text
                    == "# HELP control_requests_total Requests.\n# TYPE control_requests_total counter\n"
                    + "control_requests_total 3\n"
            )
        }
    }

    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() throws {
        try withAdminServer { server in
            let c = try #require(TestSocket.tcp(port: server.port))
            c.send("GET /api/v2/nothing HTTP/1.1\r\nHost: x\r\n\r\n")
            let notFound = try #require(c.readHTTPResponse())
            #expect(notFound.status == 404)
            #expect(notFound.text == "not found: /api/v2/nothing\n")

            c.send("POST /api/v1/stats HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            let wrong = try #require(c.readHTTPResponse())
            #expect(wrong.status == 405)
            #expect(wrong.header("Allow") == "GET, HEAD")

            c.send("GET /api/v1/hosts/c1/h1/state HTTP/1.1\r\nHost: x\r\n\r\n")
            let wrong2 = try #require(c.readHTTPResponse())
            #expect(wrong2.status == 405)
            #expect(wrong2.header("Allow") == "POST")
            #expect(server.stats.connectionsTotal == 1)  // errors answered on the same keep-alive connection
        }
    }

    @Test(arguments: [
        ("/api/v1/hosts/c1/127.0.0.1%3A8080/state", "cluster=c1 host=127.0.0.1:8080 body=drain\n"),
        ("/api/v1/hosts/c1/127.0.0.1:8080/state", "cluster=c1 host=127.0.0.1:8080 body=drain\n"),
        ("/api/v1/hosts/my%20cluster/%5B%3A%3A1%5D%3A80/state", "cluster=my cluster host=[::1]:80 body=drain\n"),
    ])
    func pathParametersArePercentDecoded(path: String, expected: String) throws {
        try withAdminServer { server in
            let c = try #require(TestSocket.tcp(port: server.port))
            c.send("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\ndrain")
            let r = try #require(c.readHTTPResponse())
            #expect(r.status == 200)
            #expect(r.text == expected)
        }
    }

    @Test func badPercentEncodingIs400() throws {
        try withAdminServer { server in
            let c = try #require(TestSocket.tcp(port: server.port))
            c.send("POST /api/v1/hosts/c1/%GG/state HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
            #expect(c.readHTTPResponse()?.status == 400)
        }
    }

    @Test func keepAliveAndPipelining() throws {
        try withAdminServer { server in
            let c = try #require(TestSocket.tcp(port: server.port))
            c.send("GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(c.readHTTPResponse()?.status == 200)
            c.send("GET /api/v1/clusters HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(c.readHTTPResponse()?.text == "clusters type=- from=true\n")
            // Two at once, the second with a body and Connection: close.
            c.send(
                "GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /api/v1/hosts/a/b/state HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                    + "Connection: close\r\n\r\nready"
            )
            #expect(c.readHTTPResponse()?.status == 200)
            let last = try #require(c.readHTTPResponse())
            #expect(last.text == "cluster=a host=b body=ready\n")
            #expect(last.header("Connection") == "close")
            #expect(c.waitForClose())
            #expect(server.stats.connectionsTotal == 1)
            #expect(server.stats.requests == 4)
        }
    }

    @Test func http10ClosesUnlessAskedAndHeadHasNoBody() throws {
        try withAdminServer { server in
            let c = try #require(TestSocket.tcp(port: server.port))
            c.send("HEAD /api/v1/stats HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let head = try #require(c.readHTTPResponse(head: true))
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "17")
            #expect(head.header("Connection") == "keep-alive")
            c.send("GET /api/v1/stats HTTP/1.0\r\n\r\n")
            #expect(c.readHTTPResponse()?.text == #"{"downstream":{}}"#)
            #expect(c.waitForClose())
        }
    }

    @Test func expectContinue() throws {
        try withAdminServer { server in
            let c = try #require(TestSocket.tcp(port: server.port))
            c.send(
                "POST /api/v1/hosts/a/b/state HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            #expect(c.readHTTPResponse()?.status == 100)
            c.send("maint")
            #expect(c.readHTTPResponse()?.text == "cluster=a host=b body=maint\n")
        }
    }

    @Test(arguments: [
        ("garbage\r\n\r\n", 400),
        ("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\r\n\r\n", 400),
        // The body is sent anyway, as a client that does not wait for 100-continue does: the 413 still arrives.
        (
            "POST /api/v1/hosts/a/b/state HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n"
                + String(repeating: "z", count: 70000), 413
        ),
        (
            "POST /api/v1/hosts/a/b/state HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\ndrain\r\n0\r\n\r\n",
            411
        ),
        ("GET / HTTP/1.1\r\nX-Big: " + String(repeating: "b", count: 17_000) + "\r\n\r\n", 431),
        // Refused by SkiffProtocol's parser, as the proxy refuses them.
        ("GET /api/v1/stats HTTP/1.1\nHost: x\n\n", 400),  // bare LF
        ("GET /api/v1/stats HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400),  // obs-fold
        ("GET /api/v1/stats HTTP/1.1\r\n\r\n", 400),  // no Host
        ("GET /api/v1/stats?" + String(repeating: "q", count: 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        ("GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-H: v\r\n", count: 101) + "\r\n", 431),
        ("GET http://x/api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n", 400),  // admin: origin-form only
    ])
    func malformedRequestsAreAnsweredThenClosed(request: String, status: Int) throws {
        try withAdminServer { server in
            let c = try #require(TestSocket.tcp(port: server.port))
            c.send(request)
            let r = try #require(c.readHTTPResponse())
            #expect(r.status == status)
            #expect(r.header("Connection") == "close")
            #expect(c.waitForClose())
        }
    }

    @Test func connectionCap() throws {
        try withAdminServer(maxConnections: 2) { server in
            let a = try #require(TestSocket.tcp(port: server.port))
            let b = try #require(TestSocket.tcp(port: server.port))
            for c in [a, b] {
                c.send("GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(c.readHTTPResponse()?.status == 200)
            }
            let third = try #require(TestSocket.tcp(port: server.port))
            #expect(third.readHTTPResponse()?.status == 503)
            #expect(third.waitForClose())
            #expect(server.stats.refusedConnections == 1)
            a.close()
            #expect(eventually { server.stats.connectionsActive == 1 })
            let fourth = try #require(TestSocket.tcp(port: server.port))
            fourth.send("GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(fourth.readHTTPResponse()?.status == 200)
        }
    }

    @Test func idleConnectionTimesOutAndStopClosesConnections() throws {
        try withAdminServer(ioTimeoutNs: 200_000_000) { server in
            let idle = try #require(TestSocket.tcp(port: server.port))
            #expect(idle.waitForClose())  // 200 ms without a request
        }
        var port = 0
        let kept = try withAdminServerReturning { server in
            port = server.port
            let c = try #require(TestSocket.tcp(port: server.port))
            c.send("GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(c.readHTTPResponse()?.status == 200)
            return c
        }
        #expect(kept.waitForClose())
        #expect(TestSocket.tcp(port: port) == nil)
    }

    /// Stopping closes a keep-alive connection waiting for its next request at once, but answers a request on its
    /// way, even on a connection accepted an instant before (after a binary upgrade the other process could have
    /// taken it; its client cannot tell the difference), with `Connection: close`.
    @Test func stopAnswersTheRequestOnItsWayAndClosesIdleConnections() throws {
        let server = AdminHTTPServer(configuration: .init(port: 0))
        server.route("GET", "/api/v1/stats") { _ in .json(Array(#"{"ok":1}"#.utf8)) }
        try server.start()
        defer { server.stop() }
        let idle = try #require(TestSocket.tcp(port: server.port))
        idle.send("GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(idle.readHTTPResponse()?.status == 200)
        let fresh = try #require(TestSocket.tcp(port: server.port))
        #expect(eventually { server.stats.connectionsActive == 2 })
        // On an OS thread of its own: a task would wait for the cooperative pool, which other tests may be holding.
        var stopper = pthread_t()
        let box = Unmanaged.passRetained(server as AnyObject)
        pthread_create(&stopper, nil, { arg in
            let s = Unmanaged<AnyObject>.fromOpaque(arg!).takeRetainedValue() as! AdminHTTPServer
            s.stop()
            return nil
        }, box.toOpaque())
        #expect(idle.waitForClose(), "the idle keep-alive connection is closed at once")
        fresh.send("GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n")
        let answer = try #require(fresh.readHTTPResponse())
        #expect(answer.status == 200)
        #expect(answer.header("Connection") == "close")
        pthread_join(stopper, nil)
        #expect(TestSocket.tcp(port: server.port) == nil)
    }

    private func withAdminServerReturning(_ body: (AdminHTTPServer) throws -> TestSocket) throws -> TestSocket {
        var result: TestSocket? = nil
        try withAdminServer { result = try body($0) }
        return try #require(result)
    }

    @Test func bindErrorsHaveContext() throws {
        try withAdminServer { server in
            // The port is not shared (no SO_REUSEPORT): a second server asking for it is refused in one line.
            let clash = AdminHTTPServer(configuration: .init(port: server.port))
            #expect(
                throws: ControlError(
                    "admin http 127.0.0.1:\(server.port)",
                    "the port is already in use (another skiff with the same admin address?)")
            ) {
                try clash.start()
            }
        }
        #expect(throws: ControlError("admin http localhost:80", "not an IPv4 address: localhost")) {
            try AdminHTTPServer(configuration: .init(host: "localhost", port: 80)).start()
        }
    }
}

