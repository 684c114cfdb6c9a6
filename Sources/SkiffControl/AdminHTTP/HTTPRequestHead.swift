/// A parsed HTTP/1.x request head. Produced by `HTTPRequestHead.parse`, a pure function tested without sockets.
struct HTTPRequestHead: Equatable {
    var method: String
    var target: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    var minorVersion: Int
    var headers: [Field]
    /// 0 when the request has no `Content-Length`.
    var contentLength: Int
    /// Whether the connection may carry another request after this one.
    var keepAlive: Bool
    /// `Expect: 100-continue`: the client waits for a `100 Continue` before sending its body.
    var expectContinue: Bool

    struct Field: Equatable {
        var name: String
        var value: String
    }

    enum ParseResult: Equatable {
        /// The head is not complete yet; read more.
        case incomplete
        /// A head of `consumed` bytes (leading blank lines included); the body follows.
        case complete(HTTPRequestHead, consumed: Int)
        /// Answer `status` with `message` and close.
        case failure(status: Int, message: String)
    }

    /// Parses the head at the start of `bytes`.
    ///
    /// Lines end in CRLF or a bare LF (RFC 9112 allows recipients to accept LF); a bare CR elsewhere is refused, as
    /// are obsolete line folding, whitespace before a header's colon, and control characters in values.
    /// `Transfer-Encoding` is refused: `411` without `Content-Length` (chunked bodies are not supported), `400` with
    /// one (an ambiguous length is how requests get smuggled).
    static func parse(_ bytes: ArraySlice<UInt8>, headLimit: Int, bodyLimit: Int) -> ParseResult {
        var lines: [ArraySlice<UInt8>] = []
        var i = bytes.startIndex
        var lineStart = i
        var ended = false
        while i < bytes.endIndex {
            if i - bytes.startIndex >= headLimit {
                return .failure(status: 431, message: "request head over \(headLimit) bytes")
            }
            if bytes[i] == 0x0A {
                var line = bytes[lineStart..<i]
                if line.last == 0x0D { line = line.dropLast() }
                i += 1
                lineStart = i
                if line.isEmpty {
                    if lines.isEmpty { continue }  // blank lines before the request line are ignored (RFC 9112 2.2)
                    ended = true
                    break
                }
                lines.append(line)
            } else {
                i += 1
            }
        }
        guard ended else { return .incomplete }
        let consumed = i - bytes.startIndex

        guard let head = parseRequestLine(lines[0]) else {
            return .failure(status: 400, message: "malformed request line")
        }
        if head.major != 1 {
            return head.major >= 2
                ? .failure(status: 505, message: "only HTTP/1.x is served here")
                : .failure(status: 400, message: "malformed request line")
        }
        var result = HTTPRequestHead(
            method: head.method, target: head.target, minorVersion: head.minor, headers: [], contentLength: 0,
            keepAlive: head.minor >= 1, expectContinue: false)
        var contentLength: Int? = nil
        var transferEncoding = false
        var connectionTokens: [String] = []
        for line in lines.dropFirst() {
            guard let field = parseField(line) else { return .failure(status: 400, message: "malformed header line") }
            result.headers.append(field)
            switch field.name.lowercased() {
            case "content-length":
                guard !field.value.isEmpty, field.value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                    field.value.utf8.count <= 18, let n = Int(field.value)
                else { return .failure(status: 400, message: "bad Content-Length") }
                if let contentLength, contentLength != n {
                    return .failure(status: 400, message: "conflicting Content-Length headers")
                }
                contentLength = n
            case "transfer-encoding":
                transferEncoding = true
            case "connection":
                connectionTokens += field.value.split(separator: ",").map {
                    $0.trimmingSpaces.lowercased()
                }
            case "expect":
                if field.value.lowercased() == "100-continue" { result.expectContinue = true }
            default:
                break
            }
        }
        if transferEncoding {
            return contentLength == nil
                ? .failure(status: 411, message: "chunked bodies are not supported; send Content-Length")
                : .failure(status: 400, message: "both Transfer-Encoding and Content-Length")
        }
        result.contentLength = contentLength ?? 0
        if result.contentLength > bodyLimit {
            return .failure(status: 413, message: "request body over \(bodyLimit) bytes")
        }
        if connectionTokens.contains("close") {
            result.keepAlive = false
        } else if connectionTokens.contains("keep-alive") {
            result.keepAlive = true
        }
        return .complete(result, consumed: consumed)
    }

    private static func parseRequestLine(
        _ line: ArraySlice<UInt8>
    ) -> (method: String, target: String, major: Int, minor: Int)? {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte) else { return nil }
        let target = parts[1]
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        let version = Array(parts[2])
        guard version.count == 8, version.starts(with: Array("HTTP/".utf8)), version[6] == UInt8(ascii: "."),
            let major = digit(version[5]), let minor = digit(version[7])
        else { return nil }
        return (String(decoding: parts[0], as: UTF8.self), String(decoding: target, as: UTF8.self), major, minor)
    }

    private static func parseField(_ line: ArraySlice<UInt8>) -> Field? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else { return nil }  // also refuses folding, "Name :"
        var value = line[(colon + 1)...]
        while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
        while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
        guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else { return nil }
        return Field(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
    }

    private static func digit(_ b: UInt8) -> Int? {
        b >= 0x30 && b <= 0x39 ? Int(b - 0x30) : nil
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
