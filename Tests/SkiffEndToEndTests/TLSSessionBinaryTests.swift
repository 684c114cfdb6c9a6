import Glibc
import SkiffTestSupport
import Testing

/// What a TLS listener negotiates and how its sessions end, seen by Python's `ssl` and `openssl s_client`: sessions
/// resume (TLS 1.3 tickets, TLS 1.2 tickets), a graceful stop ends idle keep-alive connections with close_notify,
/// and `min_version`, `max_version`, `cipher_suites` and `alpn` are what the handshake gets.
@Suite(.serialized) struct TLSSessionBinaryTests {
    /// A server-only TLS listener (the RSA `server.pem`) with `fields` added to its `tls_context`.
    static func front(model: String, _ fields: String = "") throws -> TLSFront {
        try TLSFront(model: model, tls: #""tls_context":\#(TLSConfigText.context(fields))"#)
    }

    @Test(arguments: tlsThreadModels, ["1.3", "1.2"])
    func sessionsResume(model: String, version: String) throws {
        let f = try Self.front(model: model)
        defer { f.stop() }
        // The tickets come after the handshake (TLS 1.3): the first answer is read before the session is taken.
        let r = try runTLSPython(
            """
            ctx = context(min_version=\(py(version)), max_version=\(py(version)))
            s = connect(ctx, \(f.port))
            emit("first", request(s, "/one"))
            emit("first-version", s.version())
            emit("first-reused", s.session_reused)
            session = s.session
            s.close()
            again = connect(ctx, \(f.port), session=session)
            emit("second", request(again, "/two"))
            emit("second-reused", again.session_reused)
            renewed = again.session
            emit("renewed", renewed.id != session.id)
            again.close()
            third = connect(ctx, \(f.port), session=renewed)
            emit("third", request(third, "/three"))
            emit("third-reused", third.session_reused)
            """)
        #expect(r.status == 0, "\(r.output)")
        #expect(emitted("first", in: r.output) == "('HTTP/1.1 200 OK', 'backend /one')", "\(r.output)")
        #expect(emitted("first-version", in: r.output) == "TLSv\(version)", "\(r.output)")
        #expect(emitted("first-reused", in: r.output) == "False", "\(r.output)")
        #expect(emitted("second", in: r.output) == "('HTTP/1.1 200 OK', 'backend /two')", "\(r.output)")
        #expect(emitted("second-reused", in: r.output) == "True", "\(r.output)")
        // TLS 1.3 clients use a ticket once: a resumed connection gets a new one, so the next resumes too.
        if version == "1.3" { #expect(emitted("renewed", in: r.output) == "True", "\(r.output)") }
        #expect(emitted("third", in: r.output) == "('HTTP/1.1 200 OK', 'backend /three')", "\(r.output)")
        #expect(emitted("third-reused", in: r.output) == "True", "\(r.output)")
    }

    /// SIGTERM with an idle keep-alive connection open: skiff closes it with close_notify before it exits, so the
    /// client's next read is a clean end of stream (not a ragged EOF: the peers' contexts are strict about that).
    @Test(arguments: tlsThreadModels)
    func gracefulStopEndsConnectionsWithCloseNotify(model: String) throws {
        let f = try Self.front(model: model)
        defer { f.stop() }
        let (keeper, script) = try startPython(
            tlsPythonScript(
                """
                s = connect(context(), \(f.port))
                emit("first", request(s, "/one"))
                s.settimeout(15)
                try:
                    emit("end", "clean" if s.recv(1024) == b"" else "data")
                except ssl.SSLError as e:
                    emit("end", "ragged: " + str(e))
                except Exception as e:
                    emit("end", type(e).__name__ + ": " + str(e))
                """))
        defer {
            keeper.kill()
            unlink(script)
        }
        #expect(keeper.waitForOutput("first: "), "\(keeper.output)")
        f.skiff.process.signal(SIGTERM)
        #expect(f.skiff.process.waitForExit(seconds: 10) == 0, "\(f.skiff.log)")
        #expect(keeper.waitForExit(seconds: 10) == 0, "\(keeper.output)")
        #expect(emitted("end", in: keeper.output) == "clean", "\(keeper.output)")
    }

    /// `min_version: tlsv1_3` refuses a client that speaks at most TLS 1.2 (no_shared_parameters); TLS 1.3 is served.
    @Test(arguments: tlsThreadModels)
    func minVersionRefusesOlderClients(model: String) throws {
        let f = try Self.front(model: model, #""min_version":"tlsv1_3""#)
        defer { f.stop() }
        let old = try runTLSPython("probe(\(f.port), max_version='1.2')")
        let outcome = emitted("outcome", in: old.output) ?? ""
        #expect(outcome.hasPrefix("refused") && outcome.contains("PROTOCOL_VERSION"), "python: \(old.output)")
        let s = try openSSLClient(port: f.port, ["-servername", "localhost", "-CAfile", TLSFixture.ca, "-tls1_2"])
        #expect(s.status != 0 && s.output.contains("alert protocol version") && !s.output.contains("HTTP/1.1"), "s_client: \(s.output)")
        #expect(f.loggedFailure("no_shared_parameters"), "\(f.skiff.log)")
        let modern = try runTLSPython(
            """
            s = connect(context(), \(f.port))
            emit("version", s.version())
            emit("answer", request(s, "/good"))
            """)
        #expect(emitted("version", in: modern.output) == "TLSv1.3", "\(modern.output)")
        #expect(emitted("answer", in: modern.output) == "('HTTP/1.1 200 OK', 'backend /good')", "\(modern.output)")
    }

    /// `max_version: tlsv1_2` gives a client that could speak TLS 1.3 TLS 1.2.
    @Test(arguments: tlsThreadModels)
    func maxVersionCapsTheNegotiatedVersion(model: String) throws {
        let f = try Self.front(model: model, #""max_version":"tlsv1_2""#)
        defer { f.stop() }
        let r = try runTLSPython(
            """
            s = connect(context(), \(f.port))
            emit("version", s.version())
            emit("answer", request(s, "/good"))
            """)
        #expect(emitted("version", in: r.output) == "TLSv1.2", "\(r.output)")
        #expect(emitted("answer", in: r.output) == "('HTTP/1.1 200 OK', 'backend /good')", "\(r.output)")
        let s = try openSSLClient(port: f.port, ["-servername", "localhost", "-CAfile", TLSFixture.ca])
        #expect(s.output.contains("New, TLSv1.2, Cipher is ") && s.output.contains("HTTP/1.1 200"), "s_client: \(s.output)")
    }

    /// `cipher_suites` with one TLS 1.2 suite: a TLS 1.2 client gets exactly it, and one offering only another is
    /// refused (no_shared_parameters).
    @Test(arguments: tlsThreadModels)
    func cipherSuitesAreWhatTLS12Gets(model: String) throws {
        let f = try Self.front(model: model, #""cipher_suites":"ECDHE-RSA-AES128-GCM-SHA256""#)
        defer { f.stop() }
        let s = try openSSLClient(port: f.port, ["-servername", "localhost", "-CAfile", TLSFixture.ca, "-tls1_2"])
        #expect(
            s.output.contains("New, TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256") && s.output.contains("HTTP/1.1 200"),
            "s_client: \(s.output)")
        let other = try openSSLClient(
            port: f.port, ["-servername", "localhost", "-CAfile", TLSFixture.ca, "-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"])
        #expect(other.status != 0 && !other.output.contains("HTTP/1.1"), "s_client: \(other.output)")
        #expect(f.loggedFailure("no_shared_parameters"), "\(f.skiff.log)")
        let r = try runTLSPython(
            """
            s = connect(context(max_version="1.2"), \(f.port))
            emit("cipher", s.cipher()[0])
            emit("answer", request(s, "/good"))
            """)
        #expect(emitted("cipher", in: r.output) == "ECDHE-RSA-AES128-GCM-SHA256", "\(r.output)")
        #expect(emitted("answer", in: r.output) == "('HTTP/1.1 200 OK', 'backend /good')", "\(r.output)")
    }

    /// `alpn: "http/1.1"` is negotiated with a client that offers it.
    @Test(arguments: tlsThreadModels)
    func alpnIsNegotiated(model: String) throws {
        let f = try Self.front(model: model, #""alpn":"http/1.1""#)
        defer { f.stop() }
        let s = try openSSLClient(port: f.port, ["-servername", "localhost", "-CAfile", TLSFixture.ca, "-alpn", "http/1.1"])
        #expect(s.output.contains("ALPN protocol: http/1.1") && s.output.contains("HTTP/1.1 200"), "s_client: \(s.output)")
        let r = try runTLSPython(
            """
            s = connect(context(alpn=["h2", "http/1.1"]), \(f.port))
            emit("alpn", s.selected_alpn_protocol())
            emit("answer", request(s, "/good"))
            """)
        #expect(emitted("alpn", in: r.output) == "http/1.1", "\(r.output)")
        #expect(emitted("answer", in: r.output) == "('HTTP/1.1 200 OK', 'backend /good')", "\(r.output)")
    }
}
