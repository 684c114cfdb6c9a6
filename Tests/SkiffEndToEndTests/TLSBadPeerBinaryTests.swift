import Glibc
import SkiffNet
import SkiffTestSupport
import Testing

/// Peers a mutual-TLS listener must refuse, each tried with curl, `openssl s_client` and Python's `ssl` where the
/// tool can play it: refused, the connection closed, the reason in the log (`tls: listener NAME: handshake with
/// 127.0.0.1:PORT failed: REASON: ...`), nothing passed to the backend, and a good mTLS client served right after
/// each attempt (and a keep-alive connection opened before them served after them all).
@Suite(.serialized) struct TLSBadPeerBinaryTests {
    /// The mTLS listener `guarded` (client certificate from the test CA required, `handshake_timeout` 1 s) in front
    /// of the backend, on one thread model. Bad peers ask for `/bad`, good ones for `/good`.
    static func mutualTLSFront(model: String, tls: String? = nil) throws -> TLSFront {
        let context = TLSConfigText.context(TLSConfigText.mutualTLS + #","handshake_timeout":"1s""#)
        return try TLSFront(model: model, name: "guarded", tls: tls ?? #""tls_context":\#(context)"#)
    }

    /// A Python peer's `probe` printed a refusal mentioning `error` and saw the connection closed.
    func expectPythonRefused(_ r: (status: Int32, output: String), _ error: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let outcome = emitted("outcome", in: r.output) ?? ""
        #expect(outcome.hasPrefix("refused") && outcome.contains(error), "python: \(r.output)", sourceLocation: sourceLocation)
        #expect(emitted("closed", in: r.output) == "yes", "python: connection left open: \(r.output)", sourceLocation: sourceLocation)
    }

    /// s_client connected but got the alert `alert` instead of an answer.
    func expectSClientRefused(_ r: (status: Int32, output: String), _ alert: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status != 0 && r.output.contains(alert), "s_client: \(r.output)", sourceLocation: sourceLocation)
        #expect(!r.output.contains("HTTP/1.1"), "s_client got an answer: \(r.output)", sourceLocation: sourceLocation)
    }

    @Test(arguments: tlsThreadModels)
    func clientWithoutCertificateIsRefused(model: String) throws {
        let f = try Self.mutualTLSFront(model: model)
        defer { f.stop() }
        // A keep-alive connection opened before the bad peers, asked again after them all.
        let flag = "/tmp/skiff-test-\(getpid())-tls-go-\(f.port)"
        defer { unlink(flag) }
        let (keeper, script) = try startPython(
            tlsPythonScript(
                """
                s = connect(context(cert=CLIENT_CERT, key=CLIENT_KEY), \(f.port))
                emit("first", request(s, "/good"))
                wait_for_file(\(py(flag)))
                emit("second", request(s, "/good"))
                """))
        defer {
            keeper.kill()
            unlink(script)
        }
        #expect(keeper.waitForOutput("first: "), "\(keeper.output)")

        let c = try tlsCurl(port: f.port, path: "/bad", certificate: nil)
        #expect(c.status != 0 && !c.output.contains("backend"), "curl: \(c.output)")
        try f.expectGoodClientServed()
        let s = try openSSLClient(port: f.port, ["-servername", "localhost", "-CAfile", TLSFixture.ca], request: "")
        expectSClientRefused(s, "alert certificate required")
        try f.expectGoodClientServed()
        expectPythonRefused(try runTLSPython("probe(\(f.port))"), "CERTIFICATE_REQUIRED")
        try f.expectGoodClientServed()
        f.expectLogged("no_certificate")
        f.expectNothingPassed()

        try overwrite(flag, "go")
        #expect(keeper.waitForExit(seconds: 10) == 0, "\(keeper.output)")
        #expect(emitted("second", in: keeper.output) == "('HTTP/1.1 200 OK', 'backend /good')", "\(keeper.output)")
    }

    /// A client certificate Skiff must not accept, and how each peer and Skiff's log name the refusal.
    struct BadCertificate: Sendable, CustomStringConvertible {
        let name: String
        let sClientAlert: String
        let pythonError: String
        let reason: String
        var description: String { name }
        static let all = [
            BadCertificate(
                name: "client-expired", sClientAlert: "alert certificate expired", pythonError: "CERTIFICATE_EXPIRED",
                reason: "expired_certificate"),
            BadCertificate(
                name: "client-untrusted", sClientAlert: "alert unknown ca", pythonError: "UNKNOWN_CA",
                reason: "untrusted_certificate"),
        ]
    }

    /// An expired client certificate, and one from a CA nobody trusts: refused by curl, s_client and Python alike.
    @Test(arguments: tlsThreadModels, BadCertificate.all)
    func badClientCertificateIsRefused(model: String, bad: BadCertificate) throws {
        let f = try Self.mutualTLSFront(model: model)
        defer { f.stop() }
        let c = try tlsCurl(port: f.port, path: "/bad", certificate: bad.name)
        // curl reads the alert or, when skiff's close beat it, fails on the closed socket: either way no answer.
        #expect(c.status != 0 && !c.output.contains("backend"), "curl: \(c.output)")
        try f.expectGoodClientServed()
        let s = try openSSLClient(
            port: f.port,
            ["-servername", "localhost", "-CAfile", TLSFixture.ca, "-cert", TLSFixture.path("\(bad.name).pem"),
             "-key", TLSFixture.path("\(bad.name).key")], request: "")
        expectSClientRefused(s, bad.sClientAlert)
        try f.expectGoodClientServed()
        let p = try runTLSPython(
            "probe(\(f.port), cert=\(py(TLSFixture.path("\(bad.name).pem"))), key=\(py(TLSFixture.path("\(bad.name).key"))))")
        expectPythonRefused(p, bad.pythonError)
        try f.expectGoodClientServed()
        f.expectLogged(bad.reason)
        f.expectNothingPassed()
    }

    /// Plaintext HTTP to the TLS port: no answer, the connection closed.
    @Test(arguments: tlsThreadModels)
    func plaintextHTTPToTheTLSPortIsRefused(model: String) throws {
        let f = try Self.mutualTLSFront(model: model)
        defer { f.stop() }
        let c = try curl(["--max-time", "5", "http://127.0.0.1:\(f.port)/bad"])
        #expect(c.status != 0 && !c.output.contains("backend"), "curl: \(c.output)")
        try f.expectGoodClientServed()
        // A raw socket sees the connection closed (EOF or reset) with nothing in HTTP.
        let s = try TestSocket.connect(port: f.port, timeoutSeconds: 5)
        defer { s.close() }
        try s.send("GET /bad HTTP/1.1\r\nHost: t\r\n\r\n")
        var got: [UInt8] = []
        var closed = false
        do {
            got = try s.receiveToEOF()
            closed = true
        } catch let e as TestError where e.errno == ECONNRESET {
            closed = true
        }
        #expect(closed && !String(decoding: got, as: UTF8.self).contains("HTTP/"), "raw: \(got)")
        try f.expectGoodClientServed()
        let p = try runTLSPython(
            """
            raw = socket.create_connection(("127.0.0.1", \(f.port)), timeout=10)
            raw.sendall(b"GET /bad HTTP/1.0\\r\\n\\r\\n")
            emit("closed", "yes" if closed_by_peer(raw) else "no")
            """)
        #expect(emitted("closed", in: p.output) == "yes", "python: \(p.output)")
        try f.expectGoodClientServed()
        f.expectLogged("not_tls")
        f.expectNothingPassed()
    }

    /// A client that connects and sends nothing is closed after `handshake_timeout` (1 s here).
    @Test(arguments: tlsThreadModels)
    func silentClientIsClosedAfterTheHandshakeTimeout(model: String) throws {
        let f = try Self.mutualTLSFront(model: model)
        defer { f.stop() }
        let s = try TestSocket.connect(port: f.port, timeoutSeconds: 6)
        defer { s.close() }
        let start = MonotonicClock.now()
        var closed = false
        do {
            closed = try s.receiveToEOF().isEmpty
        } catch let e as TestError where e.errno == ECONNRESET {
            closed = true
        }
        let seconds = Double(MonotonicClock.now() - start) / 1e9
        #expect(closed && seconds > 0.8 && seconds < 3, "closed=\(closed) after \(seconds) s")
        try f.expectGoodClientServed()
        // The same from Python, which connects and waits without a ClientHello.
        let p = try runTLSPython(
            """
            raw = socket.create_connection(("127.0.0.1", \(f.port)), timeout=10)
            start = time.time()
            emit("closed", "yes" if closed_by_peer(raw, seconds=6) else "no")
            emit("after", round(time.time() - start, 1))
            """)
        let after = Double(emitted("after", in: p.output) ?? "") ?? -1
        #expect(emitted("closed", in: p.output) == "yes" && after > 0.8 && after < 3, "python: \(p.output)")
        try f.expectGoodClientServed()
        f.expectLogged("timeout")
    }

    /// A `tls_context_set` (a.skiff.test, *.b.skiff.test) refuses an SNI neither certificate carries with the alert
    /// unrecognized_name; both names it has are served.
    @Test(arguments: tlsThreadModels)
    func unknownSNIIsRefusedWithUnrecognizedName(model: String) throws {
        let set = [
            TLSConfigText.context(cert: "server-a.pem", key: "server-a.key", TLSConfigText.mutualTLS),
            TLSConfigText.context(cert: "server-b-wildcard.pem", key: "server-b-wildcard.key", TLSConfigText.mutualTLS),
        ]
        let f = try Self.mutualTLSFront(model: model, tls: #""tls_context_set":[\#(set.joined(separator: ","))]"#)
        defer { f.stop() }
        try f.expectGoodClientServed(host: "a.skiff.test")
        try f.expectGoodClientServed(host: "x.b.skiff.test")
        let c = try tlsCurl(port: f.port, path: "/bad", host: "c.skiff.test")
        #expect(c.status != 0 && c.output.contains("unrecognized name"), "curl: \(c.output)")
        try f.expectGoodClientServed(host: "a.skiff.test")
        let s = try openSSLClient(
            port: f.port,
            ["-servername", "c.skiff.test", "-CAfile", TLSFixture.ca, "-cert", TLSFixture.clientCert, "-key", TLSFixture.clientKey], request: "")
        expectSClientRefused(s, "unrecognized name")
        #expect(s.output.contains("SSL alert number 112"), "s_client: \(s.output)")
        try f.expectGoodClientServed(host: "x.b.skiff.test")
        expectPythonRefused(
            try runTLSPython("probe(\(f.port), sni='c.skiff.test', cert=CLIENT_CERT, key=CLIENT_KEY)"), "TLSV1_UNRECOGNIZED_NAME")
        try f.expectGoodClientServed(host: "a.skiff.test")
        f.expectLogged("unknown_sni")
        f.expectNothingPassed()
    }

    /// A client that trusts only the untrusted CA refuses Skiff's certificate: the client fails, and Skiff, told by
    /// the client's alert (unknown_ca), counts peer_rejected.
    @Test(arguments: tlsThreadModels)
    func clientThatDoesNotTrustSkiffRefusesIt(model: String) throws {
        let f = try Self.mutualTLSFront(model: model)
        defer { f.stop() }
        let c = try tlsCurl(port: f.port, path: "/bad", ca: TLSFixture.untrustedCA)
        #expect(c.status == 60, "curl: \(c.output)")  // 60: the peer's certificate failed verification
        try f.expectGoodClientServed()
        let s = try openSSLClient(
            port: f.port,
            ["-servername", "localhost", "-CAfile", TLSFixture.untrustedCA, "-verify_return_error", "-cert",
             TLSFixture.clientCert, "-key", TLSFixture.clientKey], request: "")
        #expect(s.status != 0 && s.output.contains("verify error") && !s.output.contains("HTTP/1.1"), "s_client: \(s.output)")
        try f.expectGoodClientServed()
        let p = try runTLSPython(
            "probe(\(f.port), ca=\(py(TLSFixture.untrustedCA)), cert=CLIENT_CERT, key=CLIENT_KEY)")
        #expect(emitted("outcome", in: p.output)?.contains("CERTIFICATE_VERIFY_FAILED") == true, "python: \(p.output)")
        try f.expectGoodClientServed()
        f.expectLogged("peer_rejected")
        #expect(f.skiff.log.contains("peer_rejected: error:0A000418:SSL routines::tlsv1 alert unknown ca"), "\(f.skiff.log)")
        f.expectNothingPassed()
    }
}

extension TLSFront {
    /// A client with the good certificate gets its answer from the backend.
    func expectGoodClientServed(host: String = "127.0.0.1", sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try tlsCurl(port: port, path: "/good", host: host)
        #expect(r.status == 0 && r.output == "backend /good", "good client: \(r.output)", sourceLocation: sourceLocation)
    }

    /// The refused peers reached nothing behind skiff.
    func expectNothingPassed(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(backend.count(path: "/bad") == 0, "a refused peer's request reached the backend", sourceLocation: sourceLocation)
    }

    func expectLogged(_ reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(loggedFailure(reason), "no \(reason) in the log:\n\(skiff.log)", sourceLocation: sourceLocation)
    }
}
