import Foundation
import Glibc
import SkiffTestSupport
import Testing

/// MOSN's own TLS sample configs (`Tests/Vectors/mosn-tls`, verbatim) run on Skiff with only their ports changed,
/// each from a directory whose `../certs` holds the test certificates, as MOSN's samples are run.
@Suite(.serialized) struct MOSNTLSSampleBinaryTests {
    static var vectors: String { SkiffProcess.packageRoot + "/Tests/Vectors/mosn-tls" }

    /// A sample config ready to run: `<dir>/run/config.json` beside `<dir>/certs/{ca,cert,key}.pem`.
    struct Staged {
        let dir: String
        var config: String { dir + "/run/config.json" }
    }

    /// Copies `file` with its ports replaced and `certs/` made from the fixtures (`identity`: server or client).
    static func stage(_ file: String, ports: [String: Int], identity: String) throws -> Staged {
        let dir = makeTempDirectory("mosn-tls")
        mkdir(dir + "/run", 0o700)
        mkdir(dir + "/certs", 0o700)
        var text = try String(contentsOfFile: vectors + "/" + file, encoding: .utf8)
        for (old, new) in ports { text = text.replacingOccurrences(of: old, with: String(new)) }
        text = text.replacingOccurrences(of: "\"0.0.0.0\"", with: "\"127.0.0.1\"")
        try text.write(toFile: dir + "/run/config.json", atomically: true, encoding: .utf8)
        for (from, to) in [("ca.pem", "ca.pem"), ("\(identity).pem", "cert.pem"), ("\(identity).key", "key.pem")] {
            let data = try Data(contentsOf: URL(fileURLWithPath: TLSCerts.path(from)))
            try data.write(to: URL(fileURLWithPath: dir + "/certs/" + to))
        }
        return Staged(dir: dir)
    }

    /// `skiff start` in the staged `run/` directory (the config's `../certs` paths resolve from there).
    static func start(_ s: Staged) throws -> SkiffProcess {
        let sock = s.dir + "/skiff.sock"
        let cmd = "cd \(s.dir)/run && exec \(SkiffProcess.binaryPath) start -c config.json --control-socket \(sock)"
        return try SkiffProcess(executable: "/bin/sh", ["-c", cmd])
    }

    /// http-sample: plain client -> MOSN-config client skiff (TLS cluster, client certificate) -> MOSN-config server
    /// skiff (verify_client, require_client_cert) -> backend.
    @Test func httpSampleRunsAsWritten() throws {
        let backend = try HTTPTestServer(name: "backend")
        defer { backend.stop() }
        let ports = [
            "2045": freePort(), "2046": freePort(), "8080": backend.port, "34901": freePort(), "34902": freePort(),
        ]
        let server = try Self.stage("http-sample.tls_server_config.json", ports: ports, identity: "server")
        let client = try Self.stage("http-sample.tls_client_config.json", ports: ports, identity: "client")
        defer {
            removeTree(server.dir)
            removeTree(client.dir)
        }
        let s = try Self.start(server)
        defer { _ = s.stop() }
        let c = try Self.start(client)
        defer { _ = c.stop() }
        #expect(s.waitForOutput("started") && c.waitForOutput("started"), "\(s.output)\n\(c.output)")
        for i in 0..<10 {
            let r = try curl(["http://127.0.0.1:\(ports["2045"]!)/sample/\(i)"])
            #expect(r.status == 0 && r.output == "backend /sample/\(i)", "\(r.output)\n\(c.output)")
        }
        // The server side is really mTLS: without a client certificate it refuses.
        let bare = try curl(["--cacert", TLSCerts.path("ca.pem"), "https://127.0.0.1:\(ports["2046"]!)/"])
        #expect(bare.status != 0)
    }

    /// The other samples' TLS contexts are accepted as written; what stops them is not TLS (`close_graceful`, and
    /// MOSN's `X` protocol with `sub_protocol`), and `skiff validate` says exactly that.
    @Test func otherSamplesFailOnlyOnWhatIsNotTLS() throws {
        let expected = [
            "protocol-auto-sample.tls_server_config.json": ["close_graceful"],
            "protocol-auto-sample.tls_client_config.json": ["close_graceful"],
            "sofarpc-with-xprotocol-sample.tls_client_config.json": ["downstream_protocol", "upstream_protocol"],
            "sofarpc-with-xprotocol-sample.tls_server_config.json": [],
        ]
        for (file, fields) in expected {
            let staged = try Self.stage(file, ports: [:], identity: file.contains("server") ? "server" : "client")
            defer { removeTree(staged.dir) }
            let cmd = "cd \(staged.dir)/run && exec \(SkiffProcess.binaryPath) validate -c config.json"
            let r = try SkiffProcess.runCommand("/bin/sh", ["-c", cmd])
            let errors = r.output.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors.count == fields.count, "\(file): \(r.output)")
            for e in errors {
                #expect(!e.contains("tls"), "\(file): a TLS error: \(e)")
                #expect(fields.contains { e.contains($0) }, "\(file): \(e)")
            }
            if fields.isEmpty { #expect(r.status == 0 && r.output.contains("ok:"), "\(file): \(r.output)") }
        }
    }
}
