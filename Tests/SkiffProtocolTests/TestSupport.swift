import Testing

@testable import SkiffProtocol

/// An exact-size heap copy of some bytes: reading one byte past `count` leaves the allocation, which AddressSanitizer
/// reports (an `Array`'s spare capacity would hide it).
///
/// Swift may free an object right after its last use, and taking `view` can be that use: every owner keeps its
/// `Bytes` alive with `defer { withExtendedLifetime(b) {} }` while pointers into it are in use.
final class Bytes {
    let raw: UnsafeMutableRawBufferPointer

    init(_ bytes: some Collection<UInt8>) {
        raw = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        raw.copyBytes(from: bytes)
    }

    convenience init(_ text: String) { self.init(Array(text.utf8)) }

    deinit { raw.deallocate() }

    var view: UnsafeRawBufferPointer { UnsafeRawBufferPointer(raw) }
    var count: Int { raw.count }

    func prefix(_ n: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: view[..<n]) }
}

extension UnsafeRawBufferPointer {
    var text: String { String(decoding: self, as: UTF8.self) }
}

extension HTTPByteRange {
    func text(in source: UnsafeRawBufferPointer) -> String { bytes(in: source).text }
}

/// Everything a parsed request says, as plain values, so tables can compare it.
struct ParsedRequest {
    var error: HTTPParseError?
    var head = HTTPRequestHead()
    var method = ""
    var target = ""
    var path = ""
    var query: String?
    var host: String?
    var headers: [(name: String, value: String)] = []
    var hopByHop: [String] = []
}

func parseRequest(_ text: String, limits: HTTPLimits = .default, table: HTTPHeaderTable? = nil) -> ParsedRequest {
    let bytes = Bytes(text)
    defer { withExtendedLifetime(bytes) {} }
    let headers = table ?? HTTPHeaderTable(capacity: max(100, limits.maxHeaders))
    var r = ParsedRequest()
    r.error = HTTPParser.parseRequest(bytes.view, into: &r.head, headers: headers, limits: limits)
    if r.error != nil { return r }
    let s = bytes.view
    r.method = r.head.methodRange.text(in: s)
    r.target = r.head.targetRange.text(in: s)
    r.path = r.head.pathRange.text(in: s)
    r.query = r.head.queryRange?.text(in: s)
    r.host = r.head.hostRange?.text(in: s)
    for i in 0..<headers.count {
        let name = headers.name(at: i, in: s).text
        r.headers.append((name, headers.value(at: i, in: s).text))
        if headers.isHopByHop(at: i) { r.hopByHop.append(name) }
    }
    return r
}

/// A parsed response, as plain values.
struct ParsedResponse {
    var error: HTTPParseError?
    var head = HTTPResponseHead()
    var reason = ""
    var hopByHop: [String] = []
}

func parseResponse(_ text: String, limits: HTTPLimits = .default) -> ParsedResponse {
    let bytes = Bytes(text)
    defer { withExtendedLifetime(bytes) {} }
    let headers = HTTPHeaderTable()
    var r = ParsedResponse()
    r.error = HTTPParser.parseResponse(bytes.view, into: &r.head, headers: headers, limits: limits)
    if r.error != nil { return r }
    r.reason = r.head.reasonRange.text(in: bytes.view)
    for i in 0..<headers.count where headers.isHopByHop(at: i) {
        r.hopByHop.append(headers.name(at: i, in: bytes.view).text)
    }
    return r
}

/// A raw message as a test argument, shown escaped and shortened in test names (raw CR/LF would garble the log).
struct Sample: Sendable, CustomTestStringConvertible, ExpressibleByStringLiteral {
    let text: String
    init(_ text: String) { self.text = text }
    init(stringLiteral text: String) { self.text = text }
    var testDescription: String {
        let d = text.debugDescription
        return d.count > 60 ? String(d.prefix(56)) + "...\"" : d
    }
}
