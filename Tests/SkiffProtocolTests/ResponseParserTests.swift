import Testing

@testable import SkiffProtocol

struct ResponseCase: Sendable, CustomTestStringConvertible {
    var name: String
    var raw: String
    var requestMethod: HTTPMethod = .get
    var status: Int
    var reason: String
    var version: HTTPVersion = .http11
    var body: HTTPBodyKind
    var close = false
    var hopByHop: [String] = []
    var testDescription: String { name }
}

private func res(_ lines: String...) -> String { lines.map { $0 + "\r\n" }.joined() + "\r\n" }

@Suite struct ResponseParserTests {
    static let cases: [ResponseCase] = [
        .init(
            name: "200 with length", raw: res("HTTP/1.1 200 OK", "Content-Length: 5"), status: 200, reason: "OK",
            body: .contentLength(5)),
        .init(
            name: "200 chunked", raw: res("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), status: 200,
            reason: "OK", body: .chunked),
        .init(
            name: "gzip then chunked frames as chunked",
            raw: res("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked"),
            status: 200, reason: "OK", body: .chunked),
        .init(
            name: "TE without chunked runs until close", raw: res("HTTP/1.1 200 OK", "Transfer-Encoding: gzip"),
            status: 200, reason: "OK", body: .untilClose),
        .init(
            name: "no framing runs until close", raw: res("HTTP/1.1 200 OK", "Server: x"), status: 200, reason: "OK",
            body: .untilClose),
        .init(
            name: "HTTP/1.0 until close", raw: res("HTTP/1.0 200 OK"), status: 200, reason: "OK", version: .http10,
            body: .untilClose, close: true),
        .init(
            name: "HTTP/1.0 keep-alive", raw: res("HTTP/1.0 200 OK", "Connection: keep-alive", "Content-Length: 2"),
            status: 200, reason: "OK", version: .http10, body: .contentLength(2), hopByHop: ["Connection"]),
        .init(
            name: "HEAD response has no body", raw: res("HTTP/1.1 200 OK", "Content-Length: 500"),
            requestMethod: .head, status: 200, reason: "OK", body: .none),
        .init(
            name: "HEAD chunked has no body", raw: res("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"),
            requestMethod: .head, status: 200, reason: "OK", body: .none),
        .init(name: "204", raw: res("HTTP/1.1 204 No Content"), status: 204, reason: "No Content", body: .none),
        .init(
            name: "304 with length", raw: res("HTTP/1.1 304 Not Modified", "Content-Length: 10"), status: 304,
            reason: "Not Modified", body: .none),
        .init(name: "100 continue", raw: res("HTTP/1.1 100 Continue"), status: 100, reason: "Continue", body: .none),
        .init(
            name: "101 upgrade",
            raw: res(
                "HTTP/1.1 101 Switching Protocols", "Connection: upgrade",
                "Upgrade: websocket"),
            status: 101, reason: "Switching Protocols", body: .none, hopByHop: ["Connection", "Upgrade"]),
        .init(
            name: "2xx to CONNECT", raw: res("HTTP/1.1 200 Connection established"), requestMethod: .connect,
            status: 200, reason: "Connection established", body: .none),
        .init(
            name: "content-length 0", raw: res("HTTP/1.1 404 Not Found", "Content-Length: 0"), status: 404,
            reason: "Not Found", body: .contentLength(0)),
        .init(
            name: "no reason, no space", raw: res("HTTP/1.1 200", "Content-Length: 1"), status: 200, reason: "",
            body: .contentLength(1)),
        .init(
            name: "empty reason", raw: res("HTTP/1.1 503 ", "Content-Length: 1"), status: 503, reason: "",
            body: .contentLength(1)),
        .init(
            name: "reason with spaces and obs-text",
            raw: res("HTTP/1.1 418 I'm a teapot \u{2615}", "Content-Length: 0"),
            status: 418, reason: "I'm a teapot \u{2615}", body: .contentLength(0)),
        .init(
            name: "Connection: close", raw: res("HTTP/1.1 200 OK", "Connection: close", "Content-Length: 1"),
            status: 200, reason: "OK", body: .contentLength(1), close: true, hopByHop: ["Connection"]),
        .init(
            name: "Connection tokens",
            raw: res(
                "HTTP/1.1 200 OK", "Keep-Alive: 5", "X-Hop: 1", "Connection: x-hop",
                "Content-Length: 1"),
            status: 200, reason: "OK", body: .contentLength(1), hopByHop: ["Keep-Alive", "X-Hop", "Connection"]),
    ]

    @Test(arguments: cases)
    func parses(_ c: ResponseCase) {
        let r = parseResponse(c.raw)
        #expect(r.error == nil)
        guard r.error == nil else { return }
        #expect(r.head.statusCode == c.status)
        #expect(r.reason == c.reason)
        #expect(r.head.version == c.version)
        #expect(r.head.bodyKind(requestMethod: c.requestMethod) == c.body)
        #expect(r.head.connectionClose == c.close)
        #expect(r.hopByHop == c.hopByHop)
        #expect(r.head.headLength == c.raw.utf8.count)
    }

    static let refusals: [Refusal] = [
        .init(
            "CL and TE", res("HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked"),
            HTTPParseError.contentLengthAndTransferEncoding.upstream),
        .init(
            "duplicate CL", res("HTTP/1.1 200 OK", "Content-Length: 5", "Content-Length: 5"),
            HTTPParseError.duplicateContentLength.upstream),
        .init("bad CL", res("HTTP/1.1 200 OK", "Content-Length: 5x"), HTTPParseError.invalidContentLength.upstream),
        .init(
            "duplicate TE", res("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
            HTTPParseError.duplicateTransferEncoding.upstream),
        .init("two-digit status", res("HTTP/1.1 20 OK"), .invalidStatusCode),
        .init("status 600", res("HTTP/1.1 600 Odd"), .invalidStatusCode),
        .init("status 099", res("HTTP/1.1 099 Odd"), .invalidStatusCode),
        .init("letters in status", res("HTTP/1.1 2x0 OK"), .invalidStatusCode),
        .init("four-digit status", res("HTTP/1.1 2000 OK"), .invalidStatusCode),
        .init("no status", res("HTTP/1.1"), .invalidStatusLine),
        .init("CTL in reason", res("HTTP/1.1 200 O\u{1}K"), .invalidStatusLine),
        .init("bad version", res("HTTX/1.1 200 OK"), HTTPParseError.invalidVersion.upstream),
        .init("HTTP/2", res("HTTP/2.0 200 OK"), HTTPParseError.unsupportedVersion.upstream),
        .init("obs-fold", res("HTTP/1.1 200 OK", "X: 1", " 2"), HTTPParseError.obsFold.upstream),
        .init(
            "space before colon", res("HTTP/1.1 200 OK", "Content-Length : 1"),
            HTTPParseError.whitespaceBeforeColon.upstream),
        .init("bare LF", "HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n", HTTPParseError.bareLineFeed.upstream),
        .init(
            "too many headers", res(["HTTP/1.1 200 OK"] + (0..<101).map { "X-\($0): v" }),
            HTTPParseError.tooManyHeaders.upstream),
    ]

    @Test(arguments: refusals)
    func refuses(_ c: Refusal) {
        let r = parseResponse(c.raw)
        #expect(r.error?.status == 502)
        #expect(r.error?.status == c.status)
        #expect(r.error?.reason.description == c.reason)
    }
}

private func res(_ lines: [String]) -> String { lines.map { $0 + "\r\n" }.joined() + "\r\n" }
