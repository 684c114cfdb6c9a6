import Glibc
import SkiffTestSupport
import Testing

/// Certificates changed under a running TLS listener: a reload swaps them for new connections while a connection
/// opened before keeps its own and goes on answering; a reload whose new certificates are broken is refused with the
/// field's path and the listener keeps serving the certificate it had.
@Suite(.serialized) struct TLSReloadBinaryTests {
    /// A TLS listener `swapped` whose certificate and key are the files `cert.pem` and `key.pem` in a temp dir
    /// (first the RSA `server.pem`/`server.key`), in front of an HTTPTestServer.
    final class SwappableCertificates {
        let directory: String
        let front: TLSFront
        var certPath: String { directory + "/cert.pem" }
        var keyPath: String { directory + "/key.pem" }
        var port: Int { front.port }
        var skiff: TLSSkiff { front.skiff }

        init(model: String) throws {
            let dir = makeTempDirectory("tls-reload")
            do {
                try Self.copy(TLSFixture.path("server.pem"), to: dir + "/cert.pem")
                try Self.copy(TLSFixture.path("server.key"), to: dir + "/key.pem")
                front = try TLSFront(model: model, name: "swapped", tls: Self.tls(cert: dir + "/cert.pem", key: dir + "/key.pem"))
            } catch {
                removeTree(dir)
                throw error
            }
            directory = dir
        }

        static func tls(cert: String, key: String) -> String {
            #""tls_context":\#(TLSConfigText.context(cert: cert, key: key))"#
        }

        /// Replaces `path`'s contents with `source`'s (same path, same inode).
        static func copy(_ source: String, to path: String) throws {
            try overwrite(path, String(decoding: try readFile(source), as: UTF8.self))
        }

        func stop() {
            front.stop()
            removeTree(directory)
        }

        /// The fingerprint of the certificate a new connection is served, and its answer to one request.
        func newConnection(path: String = "/new") throws -> (fingerprint: String, answer: String) {
            let r = try runTLSPython(
                """
                s = connect(context(), \(port))
                emit("fingerprint", fingerprint(s))
                emit("answer", request(s, \(py(path))))
                """)
            return (emitted("fingerprint", in: r.output) ?? r.output, emitted("answer", in: r.output) ?? r.output)
        }
    }

    @Test(arguments: tlsThreadModels)
    func reloadSwapsCertificatesForNewConnectionsOnly(model: String) throws {
        let f = try SwappableCertificates(model: model)
        defer { f.stop() }
        let rsa = try TLSFixture.fingerprint(TLSFixture.path("server.pem"))
        let ecdsa = try TLSFixture.fingerprint(TLSFixture.path("server-ecdsa.pem"))
        let flag = f.directory + "/go"
        let (keeper, script) = try startPython(
            tlsPythonScript(
                """
                s = connect(context(), \(f.port))
                emit("first", request(s, "/one"))
                emit("first-fingerprint", fingerprint(s))
                wait_for_file(\(py(flag)))
                emit("second", request(s, "/two"))
                emit("second-fingerprint", fingerprint(s))
                """))
        defer {
            keeper.kill()
            unlink(script)
        }
        #expect(keeper.waitForOutput("first-fingerprint: "), "\(keeper.output)")
        #expect(emitted("first-fingerprint", in: keeper.output) == rsa, "\(keeper.output)")

        try SwappableCertificates.copy(TLSFixture.path("server-ecdsa.pem"), to: f.certPath)
        try SwappableCertificates.copy(TLSFixture.path("server-ecdsa.key"), to: f.keyPath)
        let r = try f.skiff.reload()
        #expect(r.status == 0 && r.output.contains("listener swapped: certificates reloaded"), "\(r.output)")

        let fresh = try f.newConnection()
        #expect(fresh.fingerprint == ecdsa, "a new connection after the reload: \(fresh)")
        #expect(fresh.answer == "('HTTP/1.1 200 OK', 'backend /new')", "\(fresh)")

        try overwrite(flag, "go")
        #expect(keeper.waitForExit(seconds: 10) == 0, "\(keeper.output)")
        #expect(emitted("second", in: keeper.output) == "('HTTP/1.1 200 OK', 'backend /two')", "\(keeper.output)")
        #expect(emitted("second-fingerprint", in: keeper.output) == rsa, "the old connection kept its certificate")
    }

    @Test(arguments: tlsThreadModels)
    func brokenCertificatesAreRefusedAndTheOldOnesServe(model: String) throws {
        let f = try SwappableCertificates(model: model)
        defer { f.stop() }
        let rsa = try TLSFixture.fingerprint(TLSFixture.path("server.pem"))
        let field = "servers[0].listeners[0].filter_chains[0].tls_context"

        // A key that does not match the certificate.
        try SwappableCertificates.copy(TLSFixture.path("server-ecdsa.key"), to: f.keyPath)
        let mismatch = try f.skiff.reload()
        #expect(mismatch.status != 0, "\(mismatch.output)")
        #expect(mismatch.output.contains("\(field).private_key: the private key does not match cert_chain"), "\(mismatch.output)")
        var after = try f.newConnection(path: "/after-mismatch")
        #expect(after.fingerprint == rsa && after.answer == "('HTTP/1.1 200 OK', 'backend /after-mismatch')", "\(after)")

        // A certificate file that is not there.
        try SwappableCertificates.copy(TLSFixture.path("server.key"), to: f.keyPath)
        let missing = f.directory + "/missing.pem"
        let gone = try f.skiff.reload(config: f.front.config(tls: SwappableCertificates.tls(cert: missing, key: f.keyPath)))
        #expect(gone.status != 0, "\(gone.output)")
        #expect(gone.output.contains("\(field).cert_chain: cannot read \"\(missing)\": no such file"), "\(gone.output)")
        after = try f.newConnection(path: "/after-missing")
        #expect(after.fingerprint == rsa && after.answer == "('HTTP/1.1 200 OK', 'backend /after-missing')", "\(after)")
        #expect(f.skiff.process.hasExited == false, "\(f.skiff.log)")
    }
}
