import SkiffTestSupport
import Testing

@testable import SkiffProtocol

/// Seeded random mutations of valid messages. The parser must never crash or read outside the head (run under
/// `-sanitize=address` to check the latter), and whatever it accepts must be unambiguous to frame: an independent,
/// naive re-reading of the accepted bytes checks the smuggling-relevant properties.
@Suite struct FuzzTests {
    static let seeds: [String] = [
        "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
        "POST /submit?x=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n",
        "PUT /up HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
        "GET http://b.example:8080/p?q HTTP/1.1\r\nHost: b.example\r\nConnection: keep-alive, X-Trace\r\n"
            + "X-Trace: 1\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
        "GET /old HTTP/1.0\r\nConnection: keep-alive\r\nUser-Agent: fuzz/1.0\r\nAccept: */*\r\n\r\n",
        "\r\nOPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\nTE: trailers\r\nUpgrade: h2c\r\nConnection: Upgrade, TE\r\n\r\n",
        "DELETE /r/1 HTTP/1.1\r\nhost: a\r\ncontent-length: 0\r\nx-a:  v \t\r\n\r\n",
    ]

    static let insertions: [[UInt8]] =
        [
            "\r", "\n", " ", "\t", "\u{0}", ":", ",", "0", "5", "9", "a", "\u{7f}", "\r\n", "\r\n ", "\r\n\r\n",
            "Content-Length: 5\r\n", "content-length: 6\r\n", "Transfer-Encoding: chunked\r\n",
            "transfer-encoding: gzip, chunked\r\n", "Transfer-Encoding : chunked\r\n", "Content-Length: 5, 5\r\n",
            " chunked", ", chunked", "chunked", "Host: x\r\n", "Connection: content-length\r\n", "X: \u{0}\r\n",
            "Transfer-Encoding:\tchunked \r\n", "Transfer-Encoding: \u{0b}chunked\r\n",
        ].map { Array($0.utf8) } + [[0x80], [0xFF], [0x0B], [0x0C]]

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = b.isEmpty ? 0 : Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<8, using: &rng) {
            case 0 where !b.isEmpty:
                b[at] = UInt8.random(in: 0...255, using: &rng)
            case 1 where !b.isEmpty:
                b[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 2:
                b.insert(contentsOf: insertions.randomElement(using: &rng)!, at: at)
            case 3 where !b.isEmpty:
                b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...4, using: &rng)))
            case 4:
                // Duplicate a header line somewhere else.
                let lines = lineStarts(b)
                if lines.count > 2 {
                    let k = Int.random(in: 1..<lines.count - 1, using: &rng)
                    let line = Array(b[lines[k]..<lines[k + 1]])
                    b.insert(contentsOf: line, at: lines[Int.random(in: 1..<lines.count, using: &rng)])
                }
            case 5:
                b.removeSubrange(at..<b.count)
            case 6 where !b.isEmpty:
                if b[at] &- 0x41 < 26 || b[at] &- 0x61 < 26 { b[at] ^= 0x20 }
            default:
                b.insert(UInt8.random(in: 0...255, using: &rng), at: at)
            }
        }
        return b
    }

    /// Offsets just after each LF, plus 0 and the end.
    static func lineStarts(_ b: [UInt8]) -> [Int] {
        var starts = [0]
        for (i, c) in b.enumerated() where c == 0x0A { starts.append(i + 1) }
        if starts.last != b.count { starts.append(b.count) }
        return starts
    }

    @Test func mutatedRequestsNeverParseAmbiguously() {
        var rng = SplitMix64(seed: 0x5EED_0001)
        let table = HTTPHeaderTable()
        let again = HTTPHeaderTable()
        var head = HTTPRequestHead()
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 17, alignment: 1)
        defer { out.deallocate() }
        var accepted = 0
        var statuses: [Int: Int] = [:]
        let seeds = Self.seeds.map { Array($0.utf8) }
        for iteration in 0..<100_000 {
            let mutated = Self.mutate(seeds[iteration % seeds.count], &rng)
            let bytes = Bytes(mutated)
            defer { withExtendedLifetime(bytes) {} }
            var scanner = HTTPHeadScanner()
            var heads = [bytes.count]
            if let n = scanner.scan(bytes.view), n != bytes.count { heads.append(n) }
            for length in heads {
                let view = bytes.prefix(length)
                if let e = HTTPParser.parseRequest(view, into: &head, headers: table) {
                    statuses[e.status, default: 0] += 1
                    continue
                }
                accepted += 1
                Self.checkAccepted(view, head, table, iteration)
                // Rendering never writes out of bounds, fits when given room, and round-trips the framing.
                let small = HTTPRenderer.renderRequest(
                    head: head, headers: table, source: view, into: out.baseAddress!, capacity: length / 2)
                #expect(small == nil || length / 2 >= small!)
                guard
                    let n = HTTPRenderer.renderRequest(
                        head: head, headers: table, source: view, into: out.baseAddress!, capacity: out.count)
                else {
                    Issue.record("render failed, iteration \(iteration)")
                    continue
                }
                guard head.version == .http11 else { continue }
                var reparsed = HTTPRequestHead()
                let e = HTTPParser.parseRequest(
                    UnsafeRawBufferPointer(rebasing: out[..<n]), into: &reparsed, headers: again)
                #expect(e == nil, "rendered request refused, iteration \(iteration)")
                #expect(reparsed.bodyKind == head.bodyKind, "iteration \(iteration)")
            }
        }
        print("fuzz: accepted \(accepted), refused by status \(statuses.sorted { $0.key < $1.key })")
        // The mutations must exercise both sides.
        #expect(accepted > 10_000)
        #expect(statuses[400, default: 0] > 10_000)
    }

    /// A naive, independent reading of an accepted head.
    static func checkAccepted(
        _ view: UnsafeRawBufferPointer, _ head: HTTPRequestHead, _ table: HTTPHeaderTable,
        _ iteration: Int
    ) {
        let b = Array(view[..<head.headLength])
        for (i, c) in b.enumerated() {
            if c == 0x0D { #expect(i + 1 < b.count && b[i + 1] == 0x0A, "bare CR, iteration \(iteration)") }
            if c == 0x0A { #expect(i > 0 && b[i - 1] == 0x0D, "bare LF, iteration \(iteration)") }
        }
        // Lines without their CRLF; skip leading empty lines, then the request line; stop at the empty line.
        var lines = b.split(separator: 0x0A, omittingEmptySubsequences: false).map { $0.dropLast() }
        while lines.first?.isEmpty == true { lines.removeFirst() }
        lines.removeFirst()
        let fields = lines.prefix { !$0.isEmpty }
        #expect(fields.count == table.count, "iteration \(iteration)")

        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        var contentLengths: [String] = []
        var transferEncodings: [String] = []
        for line in fields {
            guard let colon = line.firstIndex(of: 0x3A) else {
                Issue.record("header line without colon, iteration \(iteration)")
                continue
            }
            let name = line[line.startIndex..<colon]
            #expect(!name.isEmpty && name.allSatisfy { tchar.contains($0) }, "bad name, iteration \(iteration)")
            let lower = String(decoding: name, as: UTF8.self).lowercased()
            var rest = line[(colon + 1)...]
            while let f = rest.first, f == 0x20 || f == 0x09 { rest.removeFirst() }
            while let l = rest.last, l == 0x20 || l == 0x09 { rest.removeLast() }
            let value = String(decoding: rest, as: UTF8.self)
            if lower == "content-length" { contentLengths.append(value) }
            if lower == "transfer-encoding" { transferEncodings.append(value) }
        }
        // (a) never both; (b) at most one distinct Content-Length, and it is what was parsed.
        #expect(contentLengths.isEmpty || transferEncodings.isEmpty, "CL and TE, iteration \(iteration)")
        #expect(Set(contentLengths).count <= 1, "two Content-Lengths, iteration \(iteration)")
        if let cl = contentLengths.first { #expect(head.contentLength == Int(cl), "iteration \(iteration)") }
        if contentLengths.isEmpty { #expect(head.contentLength == nil) }
        // (c) chunked only when Transfer-Encoding is exactly "chunked"; no other Transfer-Encoding gets through.
        if head.isChunked || !transferEncodings.isEmpty {
            #expect(
                head.isChunked && transferEncodings.map { $0.lowercased() } == ["chunked"],
                "TE \(transferEncodings), iteration \(iteration)")
        }
    }

    @Test func mutatedResponsesNeverCrashOrFrameAmbiguously() {
        var rng = SplitMix64(seed: 0x5EED_0002)
        let table = HTTPHeaderTable()
        var head = HTTPResponseHead()
        let seeds = [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n",
            "HTTP/1.0 304 Not Modified\r\nKeep-Alive: 5\r\n\r\n",
        ].map { Array($0.utf8) }
        for iteration in 0..<20_000 {
            let bytes = Bytes(Self.mutate(seeds[iteration % seeds.count], &rng))
            defer { withExtendedLifetime(bytes) {} }
            guard HTTPParser.parseResponse(bytes.view, into: &head, headers: table) == nil else { continue }
            #expect(!(head.isChunked && head.contentLength != nil))
            #expect((100...599).contains(head.statusCode))
        }
    }

    /// The chunked decoder's answer does not depend on how the stream is split.
    @Test func mutatedChunkedStreamsGiveTheSameAnswerWhateverTheSplit() {
        var rng = SplitMix64(seed: 0x5EED_0003)
        let seeds = [
            "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\nGET /",
            "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
        ].map { Array($0.utf8) }
        for iteration in 0..<20_000 {
            let bytes = Bytes(Self.mutate(seeds[iteration % seeds.count], &rng))
            defer { withExtendedLifetime(bytes) {} }
            var whole = HTTPChunkedDecoder()
            let expected = whole.consume(bytes.view)
            var split = HTTPChunkedDecoder()
            var start = 0
            var taken = 0
            var result = HTTPBodyResult.partial(consumed: 0)
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 1...7, using: &rng))
                result = split.consume(UnsafeRawBufferPointer(rebasing: bytes.view[start..<end]))
                if case .partial(let n) = result {
                    taken += n
                    start = end
                    continue
                }
                break
            }
            switch (expected, result) {
            case (.complete(let a), .complete(let b)): #expect(a == taken + b, "iteration \(iteration)")
            case (.invalid(let a), .invalid(let b)): #expect(a == b, "iteration \(iteration)")
            case (.partial, .partial): break
            default: Issue.record("whole \(expected) vs split \(result), iteration \(iteration)")
            }
        }
    }
}
