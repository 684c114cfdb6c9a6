import Testing

@testable import SkiffProtocol

@Suite struct HeadScannerTests {
    static let heads: [Sample] = [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        Sample(
            "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nX-Long: " + String(repeating: "z", count: 300)
                + "\r\n\r\n"),
    ]

    /// Every head, found whole, in 1-byte steps, and with a body and a pipelined request behind it.
    @Test(arguments: heads)
    func findsTheEnd(_ sample: Sample) {
        let head = sample.text
        let full = Bytes(head + "abcGET / HTTP/1.1\r\n\r\n")
        defer { withExtendedLifetime(full) {} }
        let length = head.utf8.count
        var scanner = HTTPHeadScanner()
        #expect(scanner.scan(full.view) == length)
        #expect(scanner.scan(full.view) == length)  // remembered

        var stepped = HTTPHeadScanner()
        var found: Int?
        for n in 0...full.count {
            found = stepped.scan(full.prefix(n))
            #expect(stepped.error == nil)
            if found != nil {
                #expect(n == length)
                break
            }
        }
        #expect(found == length)
    }

    @Test func incompleteHeadsAreNotEnds() {
        for s in ["GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r", "\r\n", "\r\n\r\n", "\r", ""] {
            var scanner = HTTPHeadScanner()
            let b = Bytes(s)
            defer { withExtendedLifetime(b) {} }
            #expect(scanner.scan(b.view) == nil, "\(s.debugDescription)")
            #expect(scanner.error == nil, "\(s.debugDescription)")
        }
    }

    static let bareLineFeeds: [Sample] = [
        "GET / HTTP/1.1\nHost: a\n\n", "GET / HTTP/1.1\r\nHost: a\n\n", "\nGET", "\r\n\nGET",
        "GET / HTTP/1.1\r\nHost: a\r\n\n",
    ]

    @Test(arguments: bareLineFeeds)
    func bareLineFeedIsRefused(_ s: Sample) {
        var scanner = HTTPHeadScanner()
        let b = Bytes(s.text)
        defer { withExtendedLifetime(b) {} }
        #expect(scanner.scan(b.view) == nil)
        #expect(scanner.error == .bareLineFeed)
        #expect(scanner.scan(b.view) == nil)  // stays refused
    }

    @Test func longRequestLineIsRefusedBeforeItsEnd() {
        let limits = HTTPLimits(maxRequestLine: 32)
        var scanner = HTTPHeadScanner(limits: limits)
        let line = Bytes("GET /" + String(repeating: "a", count: 100))
        defer { withExtendedLifetime(line) {} }
        #expect(scanner.scan(line.prefix(32)) == nil)  // 32 bytes: at the limit, fine
        #expect(scanner.error == nil)
        #expect(scanner.scan(line.prefix(33)) == nil)  // 33 without a CR: over
        #expect(scanner.error == .requestLineTooLong)

        var withCR = HTTPHeadScanner(limits: limits)
        let crPending = Bytes("GET /" + String(repeating: "a", count: 18) + " HTTP/1.1\r")
        defer { withExtendedLifetime(crPending) {} }
        #expect(withCR.scan(crPending.view) == nil)  // 32 + CR: the LF may still come
        #expect(withCR.error == nil)

        var ok = HTTPHeadScanner(limits: limits)
        let exact = Bytes("GET /" + String(repeating: "a", count: 18) + " HTTP/1.1\r\nHost: a\r\n\r\n")
        defer { withExtendedLifetime(exact) {} }
        #expect(ok.scan(exact.view) == exact.count)

        var complete = HTTPHeadScanner(limits: limits)
        let long = Bytes("GET /" + String(repeating: "a", count: 19) + " HTTP/1.1\r\nHost: a\r\n\r\n")
        defer { withExtendedLifetime(long) {} }
        #expect(complete.scan(long.view) == nil)
        #expect(complete.error == .requestLineTooLong)
    }

    @Test func oversizedHeadIsRefusedBeforeItsEnd() {
        let limits = HTTPLimits(maxHeaderBytes: 64)
        var scanner = HTTPHeadScanner(limits: limits)
        let b = Bytes("GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 100))
        defer { withExtendedLifetime(b) {} }
        #expect(scanner.scan(b.prefix(64)) == nil)
        #expect(scanner.error == nil)
        #expect(scanner.scan(b.prefix(65)) == nil)
        #expect(scanner.error == .headTooLarge)

        var ended = HTTPHeadScanner(limits: limits)
        let whole = Bytes("GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 60) + "\r\n\r\n")
        defer { withExtendedLifetime(whole) {} }
        #expect(ended.scan(whole.view) == nil)
        #expect(ended.error == .headTooLarge)
    }

    @Test func responseRoleRefusesWith502AndHasNoLineLimit() {
        var scanner = HTTPHeadScanner(role: .response, limits: HTTPLimits(maxRequestLine: 8, maxHeaderBytes: 64))
        let ok = Bytes("HTTP/1.1 200 A long reason\r\n\r\n")
        defer { withExtendedLifetime(ok) {} }
        #expect(scanner.scan(ok.view) == ok.count)
        scanner.reset()
        let bad = Bytes("HTTP/1.1 200 OK\n\n")
        defer { withExtendedLifetime(bad) {} }
        #expect(scanner.scan(bad.view) == nil)
        #expect(scanner.error == HTTPParseError.bareLineFeed.upstream)
        scanner.reset()
        let big = Bytes(String(repeating: "x", count: 65))
        defer { withExtendedLifetime(big) {} }
        #expect(scanner.scan(big.view) == nil)
        #expect(scanner.error == HTTPParseError.headTooLarge.upstream)
    }

    @Test func resetStartsOver() {
        var scanner = HTTPHeadScanner()
        let a = Bytes("GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
        defer { withExtendedLifetime(a) {} }
        #expect(scanner.scan(a.view) == a.count)
        scanner.reset()
        let b = Bytes("GET /bb HTTP/1.1\r\nHost: a\r\n\r\n")
        defer { withExtendedLifetime(b) {} }
        #expect(scanner.scan(b.view) == b.count)
    }

    /// Each LF is looked at once however the bytes arrive: scanning a 64 KiB head fed in 1-byte steps stays fast
    /// (a quadratic scanner would examine ~2 billion bytes here).
    @Test func growingBufferIsScannedLinearly() {
        let head = "GET / HTTP/1.1\r\n" + String(repeating: "X-Header-Line: some value here\r\n", count: 2000) + "\r\n"
        let b = Bytes(head)
        defer { withExtendedLifetime(b) {} }
        var scanner = HTTPHeadScanner(limits: HTTPLimits(maxHeaderBytes: 1 << 20))
        var found: Int?
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for n in 1...b.count {
                found = scanner.scan(b.prefix(n))
                if found != nil { break }
            }
        }
        #expect(found == b.count)
        #expect(elapsed < .seconds(2))
    }
}
