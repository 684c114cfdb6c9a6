import Testing

@testable import SkiffProtocol

@Suite struct HeaderTableTests {
    static let source =
        "GET / HTTP/1.1\r\nHost: a\r\nX-Request-ID: r1\r\nx_under: u\r\nX-REQUEST-id: r2\r\nAccept:  */* \r\n\r\n"

    func parsed() -> (Bytes, HTTPHeaderTable) {
        let b = Bytes(Self.source)
        defer { withExtendedLifetime(b) {} }
        let t = HTTPHeaderTable(capacity: 10)
        var head = HTTPRequestHead()
        let e = HTTPParser.parseRequest(b.view, into: &head, headers: t)
        #expect(e == nil)
        return (b, t)
    }

    @Test func firstValueIgnoresCase() {
        let (b, t) = parsed()
        defer { withExtendedLifetime(b) {} }
        #expect(t.count == 5)
        #expect(t.firstValue(named: "x-request-id", in: b.view)?.text == "r1")
        #expect(t.firstValue(named: Array("accept".utf8), in: b.view)?.text == "*/*")
        #expect(t.firstValue(named: "host", in: b.view)?.text == "a")
        #expect(t.firstValue(named: "x_under", in: b.view)?.text == "u")
        #expect(t.firstValue(named: "x-missing", in: b.view) == nil)
        #expect(t.firstValue(named: "x-request-i", in: b.view) == nil)
    }

    @Test func indexFindsLaterOccurrences() {
        let (b, t) = parsed()
        defer { withExtendedLifetime(b) {} }
        let name = UnsafeRawBufferPointer(start: ("x-request-id" as StaticString).utf8Start, count: 12)
        let first = t.index(named: name, in: b.view)
        #expect(first == 1)
        let second = t.index(named: name, in: b.view, from: first! + 1)
        #expect(second == 3)
        #expect(t.value(at: second!, in: b.view).text == "r2")
        #expect(t.index(named: name, in: b.view, from: second! + 1) == nil)
    }

    @Test func knownNamesAreRecognised() {
        let (_, t) = parsed()
        #expect(t.knownName(at: 0) == .host)
        #expect(t.knownName(at: 1) == .other)
    }

    @Test func removeAllKeepsCapacity() {
        let (_, t) = parsed()
        t.removeAll()
        #expect(t.count == 0)
        #expect(t.capacity == 10)
    }
}
