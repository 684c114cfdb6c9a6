import Testing

@testable import SkiffProtocol

private func req(_ lines: String...) -> String { lines.map { $0 + "\r\n" }.joined() + "\r\n" }

/// Parses `raw` and renders it upstream with the given changes; nil when it does not fit in `capacity`.
private func renderRequest(
    _ raw: String, capacity: Int = 4096, xff: String? = nil, host: String? = nil, prefix: (Int, String)? = nil,
    close: Bool = false, extra: [(StaticString, StaticString)] = []
) -> String? {
    let source = Bytes(raw)
    defer { withExtendedLifetime(source) {} }
    let table = HTTPHeaderTable()
    var head = HTTPRequestHead()
    let error = HTTPParser.parseRequest(source.view, into: &head, headers: table)
    #expect(error == nil)
    let xffBytes = xff.map { Bytes($0) }
    defer { withExtendedLifetime(xffBytes) {} }
    let hostBytes = host.map { Bytes($0) }
    defer { withExtendedLifetime(hostBytes) {} }
    let prefixBytes = prefix.map { Bytes($0.1) }
    defer { withExtendedLifetime(prefixBytes) {} }
    var options = HTTPRenderer.RequestOptions(forceConnectionClose: close)
    options.xForwardedFor = xffBytes?.view
    options.hostRewrite = hostBytes?.view
    if let p = prefix, let r = prefixBytes { options.prefixRewrite = (p.0, r.view) }
    for (n, v) in extra { options.extraHeaders.append(name: n, value: v) }
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(capacity, 1), alignment: 1)
    defer { out.deallocate() }
    let n = HTTPRenderer.renderRequest(
        head: head, headers: table, source: source.view, into: out.baseAddress!, capacity: capacity, options: options)
    return withExtendedLifetime((xffBytes, hostBytes, prefixBytes)) {
        n.map { UnsafeRawBufferPointer(rebasing: out[..<$0]).text }
    }
}

private func renderResponse(_ raw: String, capacity: Int = 4096, options: HTTPRenderer.ResponseOptions = .init())
    -> String?
{
    let source = Bytes(raw)
    defer { withExtendedLifetime(source) {} }
    let table = HTTPHeaderTable()
    var head = HTTPResponseHead()
    #expect(HTTPParser.parseResponse(source.view, into: &head, headers: table) == nil)
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(capacity, 1), alignment: 1)
    defer { out.deallocate() }
    let n = HTTPRenderer.renderResponse(
        head: head, headers: table, source: source.view, into: out.baseAddress!, capacity: capacity, options: options)
    return n.map { UnsafeRawBufferPointer(rebasing: out[..<$0]).text }
}

@Suite struct RendererTests {
    @Test func unchangedRequestIsCopiedAsIs() {
        let raw = req("GET /a?b=1 HTTP/1.1", "Host: a.example", "Accept: */*", "X-Id:  42 ")
        #expect(renderRequest(raw) == raw)
    }

    @Test func hopByHopHeadersAreDroppedButTransferEncodingStays() {
        let raw = req(
            "POST /p HTTP/1.1", "Host: a", "Connection: keep-alive, X-Drop", "Keep-Alive: 5", "X-Drop: 1",
            "Transfer-Encoding: chunked", "Proxy-Connection: x", "TE: trailers", "Trailer: X-T", "Upgrade: h2c",
            "X-Keep: 2")
        #expect(renderRequest(raw) == req("POST /p HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "X-Keep: 2"))
    }

    @Test func http10IsSentUpstreamAsHTTP11() {
        let raw = req("GET / HTTP/1.0", "Host: a", "Connection: keep-alive")
        #expect(renderRequest(raw) == req("GET / HTTP/1.1", "Host: a"))
    }

    @Test func xForwardedForIsAppendedToTheLastOne() {
        let raw = req(
            "GET / HTTP/1.1", "X-Forwarded-For: 1.1.1.1", "Host: a", "x-forwarded-for: 2.2.2.2, 3.3.3.3 ",
            "Accept: */*")
        #expect(
            renderRequest(raw, xff: "10.0.0.9")
                == req(
                    "GET / HTTP/1.1", "X-Forwarded-For: 1.1.1.1", "Host: a",
                    "x-forwarded-for: 2.2.2.2, 3.3.3.3, 10.0.0.9", "Accept: */*"))
    }

    @Test func xForwardedForIsAddedWhenAbsentOrEmptyOrStripped() {
        #expect(
            renderRequest(req("GET / HTTP/1.1", "Host: a"), xff: "10.0.0.9")
                == req("GET / HTTP/1.1", "Host: a", "X-Forwarded-For: 10.0.0.9"))
        #expect(
            renderRequest(req("GET / HTTP/1.1", "Host: a", "X-Forwarded-For:"), xff: "::1")
                == req("GET / HTTP/1.1", "Host: a", "X-Forwarded-For: ::1"))
        let named = req("GET / HTTP/1.1", "Host: a", "X-Forwarded-For: 6.6.6.6", "Connection: x-forwarded-for")
        #expect(renderRequest(named, xff: "10.0.0.9") == req("GET / HTTP/1.1", "Host: a", "X-Forwarded-For: 10.0.0.9"))
    }

    @Test func hostIsRewrittenInPlace() {
        let raw = req("GET / HTTP/1.1", "Accept: */*", "host: public.example", "X-A: 1")
        #expect(
            renderRequest(raw, host: "backend.internal:8080")
                == req("GET / HTTP/1.1", "Accept: */*", "host: backend.internal:8080", "X-A: 1"))
    }

    @Test func hostIsAddedForHTTP10WithoutOne() {
        #expect(renderRequest(req("GET / HTTP/1.0"), host: "b") == req("GET / HTTP/1.1", "Host: b"))
        #expect(renderRequest(req("GET / HTTP/1.0")) == req("GET / HTTP/1.1"))
    }

    @Test func absoluteFormGoesUpstreamInOriginFormWithItsAuthorityAsHost() {
        #expect(
            renderRequest(req("GET http://b.example/x?y HTTP/1.1", "Host: a"))
                == req("GET /x?y HTTP/1.1", "Host: b.example"))
        #expect(
            renderRequest(req("GET http://b.example HTTP/1.1", "Host: a")) == req("GET / HTTP/1.1", "Host: b.example"))
        #expect(
            renderRequest(req("GET http://b.example?q HTTP/1.1", "Host: a"), host: "c")
                == req("GET /?q HTTP/1.1", "Host: c"))
    }

    @Test func otherTargetFormsGoAsReceived() {
        #expect(renderRequest(req("OPTIONS * HTTP/1.1", "Host: a")) == req("OPTIONS * HTTP/1.1", "Host: a"))
        #expect(
            renderRequest(req("CONNECT a:443 HTTP/1.1", "Host: a:443"))
                == req("CONNECT a:443 HTTP/1.1", "Host: a:443"))
    }

    @Test(arguments: [
        ("/api/users?id=1", 4, "/v2", "/v2/users?id=1"),
        ("/api/users", 5, "/", "/users"),
        ("/api", 4, "", "/"),
        ("/api?x", 4, "/root", "/root?x"),
        ("/api/x", 99, "/y", "/y"),
        ("/static/a.css", 0, "/cdn", "/cdn/static/a.css"),
    ])
    func prefixIsRewritten(_ target: String, _ matched: Int, _ replacement: String, _ expected: String) {
        #expect(
            renderRequest(req("GET \(target) HTTP/1.1", "Host: a"), prefix: (matched, replacement))
                == req("GET \(expected) HTTP/1.1", "Host: a"))
    }

    @Test func connectionCloseAndExtraHeadersAreAppended() {
        #expect(
            renderRequest(req("GET / HTTP/1.1", "Host: a"), close: true, extra: [("x-request-id", "r-1")])
                == req("GET / HTTP/1.1", "Host: a", "Connection: close", "x-request-id: r-1"))
    }

    @Test func everythingAtOnce() {
        let raw = req(
            "POST /api/v1/items?x=1 HTTP/1.0", "Host: edge", "Connection: keep-alive", "Content-Length: 2",
            "X-Forwarded-For: 1.2.3.4")
        #expect(
            renderRequest(raw, xff: "5.6.7.8", host: "svc", prefix: (7, "/v1"), close: true)
                == req(
                    "POST /v1/items?x=1 HTTP/1.1", "Host: svc", "Content-Length: 2",
                    "X-Forwarded-For: 1.2.3.4, 5.6.7.8", "Connection: close"))
    }

    @Test func tooSmallABufferGivesNil() {
        let raw = req("GET /a HTTP/1.1", "Host: a", "X-Long: " + String(repeating: "x", count: 100))
        let size = raw.utf8.count
        #expect(renderRequest(raw, capacity: size) == raw)
        #expect(renderRequest(raw, capacity: size - 1) == nil)
        #expect(renderRequest(raw, capacity: 0) == nil)
        #expect(renderRequest(raw, capacity: 10) == nil)
        // "Connection: close\r\n" is 19 more bytes.
        #expect(renderRequest(raw, capacity: size + 19, close: true) != nil)
        #expect(renderRequest(raw, capacity: size + 18, close: true) == nil)
    }

    @Test func responseIsForwardedWithHopByHopDropped() {
        let raw =
            "HTTP/1.0 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n"
            + "Content-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(
            renderResponse(raw)
                == "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
    }

    @Test func responseConnectionOptions() {
        let raw = "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n"
        #expect(
            renderResponse(raw, options: .init(connectionClose: true))
                == "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        #expect(
            renderResponse(raw, options: .init(keepAliveForHTTP10: true))
                == "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
        #expect(
            renderResponse(raw, options: .init(connectionClose: true, keepAliveForHTTP10: true))
                == "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        var extra = HTTPExtraHeaders()
        extra.append(name: "x-skiff-upstream", value: "c1")
        #expect(
            renderResponse(raw, options: .init(extraHeaders: extra))
                == "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\nx-skiff-upstream: c1\r\n\r\n")
    }

    @Test func missingReasonGetsTheStandardOne() {
        #expect(
            renderResponse("HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n")
                == "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
        #expect(renderResponse("HTTP/1.1 299 \r\n\r\n") == "HTTP/1.1 299 \r\n\r\n")
        #expect(renderResponse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", capacity: 20) == nil)
    }

    private func local(
        _ status: Int, _ reason: StaticString?, _ body: String, _ extra: HTTPExtraHeaders, close: Bool,
        capacity: Int = 1024
    ) -> String? {
        let b = Bytes(body)
        defer { withExtendedLifetime(b) {} }
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, capacity), alignment: 1)
        defer { out.deallocate() }
        let n = HTTPRenderer.renderLocalResponse(
            status: status, reason: reason, body: b.view, extraHeaders: extra, connectionClose: close,
            into: out.baseAddress!, capacity: capacity)
        return n.map { UnsafeRawBufferPointer(rebasing: out[..<$0]).text }
    }

    @Test func localResponseExactBytes() {
        var extra = HTTPExtraHeaders()
        extra.append(name: "x-skiff-reason", value: "no healthy upstream")
        extra.append(name: "x-skiff-overflow", value: "cluster c1")
        #expect(
            local(503, nil, "no healthy upstream\n", extra, close: false)
                == "HTTP/1.1 503 Service Unavailable\r\nserver: skiff\r\ncontent-length: 20\r\n"
                + "content-type: text/plain\r\nx-skiff-reason: no healthy upstream\r\n"
                + "x-skiff-overflow: cluster c1\r\n\r\nno healthy upstream\n")
        #expect(
            local(404, "Nope", "", HTTPExtraHeaders(), close: true)
                == "HTTP/1.1 404 Nope\r\nserver: skiff\r\ncontent-length: 0\r\ncontent-type: text/plain\r\n"
                + "connection: close\r\n\r\n")
        #expect(
            local(299, nil, "x", HTTPExtraHeaders(), close: false)
                == "HTTP/1.1 299 Unknown\r\nserver: skiff\r\ncontent-length: 1\r\ncontent-type: text/plain\r\n\r\nx")
        let full = local(502, nil, "bad", HTTPExtraHeaders(), close: true)!
        #expect(local(502, nil, "bad", HTTPExtraHeaders(), close: true, capacity: full.utf8.count) == full)
        #expect(local(502, nil, "bad", HTTPExtraHeaders(), close: true, capacity: full.utf8.count - 1) == nil)
    }

    @Test func refusalExactBytes() {
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 1)
        defer { out.deallocate() }
        let n = HTTPRenderer.renderRefusal(.contentLengthAndTransferEncoding, into: out.baseAddress!, capacity: 512)
        #expect(
            n.map { UnsafeRawBufferPointer(rebasing: out[..<$0]).text }
                == "HTTP/1.1 400 Bad Request\r\nserver: skiff\r\ncontent-length: 42\r\ncontent-type: text/plain\r\n"
                + "x-skiff-reason: both content-length and transfer-encoding\r\nconnection: close\r\n\r\n"
                + "both content-length and transfer-encoding\n")
    }

    @Test func extraHeadersHoldFour() {
        var e = HTTPExtraHeaders()
        for _ in 0..<4 {
            let added = e.append(name: "a", value: "b")
            #expect(added)
        }
        let fifth = e.append(name: "a", value: "b")
        #expect(!fifth)
        #expect(e.count == 4)
        #expect(e.value(at: 3).text == "b")
    }

    @Test func reasonPhrases() {
        #expect(HTTPReasonPhrase.phrase(for: 200)?.description == "OK")
        #expect(HTTPReasonPhrase.phrase(for: 431)?.description == "Request Header Fields Too Large")
        #expect(HTTPReasonPhrase.phrase(for: 299) == nil)
    }
}
