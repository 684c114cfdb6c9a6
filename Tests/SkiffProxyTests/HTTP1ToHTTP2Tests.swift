import SkiffHTTP2
import SkiffProtocol
import Testing

@testable import SkiffProxy

/// The HTTP/1.1 <-> HTTP/2 translation as pure functions: a request head into a header block, the response framing
/// an HTTP/1.1 client gets, the rendered response head and trailer section, and the header block's in-place edits the
/// rewrites and tracing make.
@Suite struct HTTP1ToHTTP2Tests {
    /// The block `raw` (a request head) becomes, with the client 10.0.0.9 and `configure`'s options.
    func block(_ raw: String, _ configure: (inout HTTP1ToHTTP2.RequestOptions) -> Void = { _ in }) throws
        -> [(name: String, value: String)]
    {
        let bytes = Array(raw.utf8)
        var head = HTTPRequestHead()
        let headers = HTTPHeaderTable()
        return try bytes.withUnsafeBytes { source in
            if let e = HTTPParser.parseRequest(source, into: &head, headers: headers, limits: .default) {
                throw TestFailure("parse: \(e)")
            }
            let block = HTTP2HeaderBlock()
            var scratch: [UInt8] = []
            let ip = Array("10.0.0.9".utf8)
            ip.withUnsafeBytes { ipBytes in
                var options = HTTP1ToHTTP2.RequestOptions()
                options.xForwardedFor = ipBytes
                configure(&options)
                HTTP1ToHTTP2.request(
                    head: head, headers: headers, source: source, options: options, into: block, scratch: &scratch)
            }
            return block.fields
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    @Test func requestHeadBecomesAHeaderBlock() throws {
        let fields = try block(
            "POST /api/x?q=1 HTTP/1.1\r\nHost: svc.test\r\nX-Custom: One\r\nConnection: keep-alive, X-Hop\r\n"
                + "X-Hop: 1\r\nTE: trailers, deflate\r\nTransfer-Encoding: chunked\r\nKeep-Alive: 5\r\n"
                + "X-Forwarded-For: 1.2.3.4\r\n\r\n")
        #expect(fields.map(\.name) == [":method", ":scheme", ":authority", ":path", "x-custom", "x-forwarded-for"])
        #expect(fields.map(\.value) == ["POST", "http", "svc.test", "/api/x?q=1", "One", "1.2.3.4, 10.0.0.9"])
        // `te: trailers` alone is the one te HTTP/2 allows.
        let te = try block("GET / HTTP/1.1\r\nHost: h\r\nte:  Trailers \r\n\r\n")
        #expect(te.contains { $0 == ("te", "trailers") })
        #expect(try block("GET / HTTP/1.1\r\nHost: h\r\nte: gzip\r\n\r\n").allSatisfy { $0.name != "te" })
    }

    @Test func routeRewritesAndSchemeApply() throws {
        let rewrite = Array("/v2/".utf8)
        let host = Array("backend.internal".utf8)
        let fields = try rewrite.withUnsafeBytes { r in
            try host.withUnsafeBytes { h in
                try block("GET /api/items?x=1 HTTP/1.1\r\nHost: svc.test\r\n\r\n") {
                    $0.secure = true
                    $0.hostRewrite = h
                    $0.prefixRewrite = (5, r)
                }
            }
        }
        #expect(fields.prefix(4).map(\.value) == ["GET", "https", "backend.internal", "/v2/items?x=1"])
        #expect(fields.last! == ("x-forwarded-for", "10.0.0.9"))
        // An absolute-form target names the authority; OPTIONS * keeps its asterisk.
        let absolute = try block("GET http://abs.test:81/p HTTP/1.1\r\nHost: other\r\n\r\n")
        #expect(absolute[2] == (":authority", "abs.test:81") && absolute[3] == (":path", "/p"))
        #expect(try block("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")[3] == (":path", "*"))
    }

    @Test func responseFramingFollowsTheRulesAndTheClient() {
        let withLength = HTTP2HeaderBlock()
        withLength.append(":status", "200")
        withLength.append("content-length", "5")
        let without = HTTP2HeaderBlock()
        without.append(":status", "200")
        typealias F = HTTP1ToHTTP2
        #expect(F.framing(status: 200, method: .get, http11: true, block: withLength, endStream: false) == .length)
        #expect(F.framing(status: 200, method: .get, http11: true, block: without, endStream: false) == .chunked)
        #expect(F.framing(status: 200, method: .get, http11: false, block: without, endStream: false) == .untilClose)
        #expect(F.framing(status: 200, method: .get, http11: true, block: without, endStream: true) == .empty)
        #expect(F.framing(status: 200, method: .head, http11: true, block: without, endStream: false) == .none)
        #expect(F.framing(status: 204, method: .get, http11: true, block: without, endStream: true) == .none)
        #expect(F.framing(status: 304, method: .get, http11: true, block: without, endStream: false) == .none)
    }

    @Test func responseHeadAndTrailersRender() {
        let block = HTTP2HeaderBlock()
        block.append(":status", "404")
        block.append("content-type", "text/plain")
        block.append("connection", "close")  // forbidden in HTTP/2: never passed on
        var out: [UInt8] = []
        HTTP1ToHTTP2.responseHead(
            block, status: 404, framing: .chunked, close: false, keepAliveForHTTP10: false, into: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n")
        HTTP1ToHTTP2.responseHead(block, status: 404, framing: .empty, close: true, keepAliveForHTTP10: false, into: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        let trailers = HTTP2HeaderBlock()
        trailers.append("grpc-status", "0")
        HTTP1ToHTTP2.trailers(trailers, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "0\r\ngrpc-status: 0\r\n\r\n")
    }

    @Test func headerBlockEditsKeepPseudoHeadersFirst() {
        let block = HTTP2HeaderBlock()
        block.append(":method", "GET")
        block.append(":path", "/a")
        block.append("sofa-traceid", "old")
        block.append("x", "1")
        block.setValue(at: 1, block.value(0))  // a value from inside the block
        block.replace("sofa-traceid", value: HTTP1ToHTTP2.bytes("new"))
        #expect(block.fields.map(\.name) == [":method", ":path", "x", "sofa-traceid"])
        #expect(block.fields.map(\.value) == ["GET", "GET", "1", "new"])
        // A pseudo-header added late goes before the regular fields; `host` can be dropped.
        let late = HTTP2HeaderBlock()
        late.append(":method", "GET")
        late.append(":path", "/")
        late.append("host", "client.test")
        late.append("x", "1")
        late.remove("host")
        late.insertPseudoHeader(":authority", value: HTTP1ToHTTP2.bytes("backend"))
        #expect(late.fields.map(\.name) == [":method", ":path", ":authority", "x"])
        // Past the store's first 2 KiB: the store moves, the values stay.
        let long = [UInt8](repeating: 0x61, count: 5000)
        long.withUnsafeBytes { block.setValue(at: 1, $0) }
        #expect(block.value(":path")?.count == 5000 && block.value(":method") == "GET")
    }
}
