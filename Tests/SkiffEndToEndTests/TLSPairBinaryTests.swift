import Foundation
import Glibc
import SkiffTestSupport
import Testing

/// The test certificates (`Tests/Fixtures/tls`, made by `scripts/make-test-certs.sh`), by absolute path.
enum TLSCerts {
    static var dir: String { SkiffProcess.packageRoot + "/Tests/Fixtures/tls" }
    static func path(_ name: String) -> String { dir + "/" + name }

    /// A server `tls_context` (MOSN's shape) with mTLS on (`verify_client` + `require_client_cert`) unless `mtls`
    /// is false.
    static func server(cert: String = "server", mtls: Bool = true, extra: String = "") -> String {
        var fields = [
            #""status":true"#, #""cert_chain":"\#(path(cert + ".pem"))""#, #""private_key":"\#(path(cert + ".key"))""#,
        ]
        if mtls {
            fields += [#""ca_cert":"\#(path("ca.pem"))""#, #""verify_client":true"#, #""require_client_cert":true"#]
        }
        if !extra.isEmpty { fields.append(extra) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A cluster `tls_context`: trusts the test CA, checks `serverName`, presents the client certificate.
    static func client(serverName: String = "127.0.0.1", cert: String? = "client") -> String {
        var fields = [#""status":true"#, #""ca_cert":"\#(path("ca.pem"))""#, #""server_name":"\#(serverName)""#]
        if let cert {
            fields += [#""cert_chain":"\#(path(cert + ".pem"))""#, #""private_key":"\#(path(cert + ".key"))""#]
        }
        return "{" + fields.joined(separator: ",") + "}"
    }
}

/// MOSN's TLS sample, as a mesh runs it: a plain client -> a client-side skiff whose cluster speaks mTLS -> a
/// server-side skiff that requires and verifies client certificates -> a plain backend. One listener per thread
/// model on each side; each client-side listener goes to the server-side listener of the same model.
final class TLSPair {
    let server: SkiffProcess
    let client: SkiffProcess
    /// Client-side plain listeners, netpoll then rwloop.
    let entryPorts: [Int]
    /// Server-side TLS listeners, netpoll then rwloop.
    let tlsPorts: [Int]
    private let paths: [String]

    init(proto: String, backend: Int) throws {
        let tls = [freePort(), freePort()]
        let entry = [freePort(), freePort()]
        let models = ["netpoll", "rwloop"]
        let route =
            proto == "Http1"
            // 100 MB each way through two proxies can outlast the 60 s default route timeout on a loaded machine.
            ? #"{"match":{"prefix":"/"},"route":{"cluster_name":"CLUSTER","timeout":"300s"}}"#
            : #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"CLUSTER"}}"#
        func listener(_ name: String, _ port: Int, _ model: String, router: String, tls: String?) -> String {
            let chain = tls.map { #""tls_context":\#($0),"# } ?? ""
            return """
                {"name":"\(name)","address":"127.0.0.1:\(port)","thread_model":"\(model)","pollers":1,
                 "filter_chains":[{\(chain)"filters":[{"type":"proxy","config":{"downstream_protocol":"\(proto)",
                   "upstream_protocol":"\(proto)","router_config_name":"\(router)"}}]}]}
                """
        }
        func router(_ name: String, _ cluster: String) -> String {
            let r = route.replacingOccurrences(of: "CLUSTER", with: cluster)
            return #"{"router_config_name":"\#(name)","virtual_hosts":[{"name":"v","domains":["*"],"routers":[\#(r)]}]}"#
        }
        let serverConfig = """
            {"servers":[{"routers":[\(router("r", "backend"))],
              "listeners":[\(listener("tls_np", tls[0], "netpoll", router: "r", tls: TLSCerts.server())),
                           \(listener("tls_rw", tls[1], "rwloop", router: "r", tls: TLSCerts.server()))]}],
             "cluster_manager":{"clusters":[{"name":"backend","hosts":[{"address":"127.0.0.1:\(backend)"}]}]}}
            """
        let clusters = (0..<2).map { i in
            """
            {"name":"mesh_\(models[i])","tls_context":\(TLSCerts.client()),
             "hosts":[{"address":"127.0.0.1:\(tls[i])"}]}
            """
        }
        let clientConfig = """
            {"servers":[{"routers":[\(router("r_np", "mesh_netpoll")),\(router("r_rw", "mesh_rwloop"))],
              "listeners":[\(listener("entry_np", entry[0], "netpoll", router: "r_np", tls: nil)),
                           \(listener("entry_rw", entry[1], "rwloop", router: "r_rw", tls: nil))]}],
             "cluster_manager":{"clusters":[\(clusters.joined(separator: ","))]}}
            """
        let sp = try writeTempFile(serverConfig)
        let cp = try writeTempFile(clientConfig)
        paths = [sp, cp]
        server = try SkiffProcess(["start", "-c", sp])
        client = try SkiffProcess(["start", "-c", cp])
        entryPorts = entry
        tlsPorts = tls
        guard server.waitForOutput("started"), client.waitForOutput("started") else {
            stop()
            throw TestError("the pair did not start:\n\(server.output)\n\(client.output)")
        }
    }

    func stop() {
        _ = client.stop()
        _ = server.stop()
        for p in paths { unlink(p) }
    }
}

/// curl for a long transfer (bounded at 120 s).
func curlLong(_ args: [String]) throws -> (status: Int32, output: String) {
    try SkiffProcess.runCommand("curl", ["-sS", "--max-time", "120"] + args, timeoutSeconds: 150)
}

/// `openssl s_client` against 127.0.0.1:`port`, sending nothing; returns what it printed (certificate, protocol,
/// verification, alerts).
func sClient(port: Int, _ args: [String]) throws -> String {
    let script = "openssl s_client -connect 127.0.0.1:\(port) " + args.joined(separator: " ") + " </dev/null 2>&1"
    return try SkiffProcess.runCommand("/bin/sh", ["-c", script], timeoutSeconds: 30).output
}

@Suite(.serialized) struct TLSPairBinaryTests {
    @Test func httpThroughTheMutualTLSPairOnBothModels() throws {
        let backend = try HTTPTestServer(name: "backend")
        defer { backend.stop() }
        let pair = try TLSPair(proto: "Http1", backend: backend.port)
        defer { pair.stop() }
        for (i, port) in pair.entryPorts.enumerated() {
            let model = i == 0 ? "netpoll" : "rwloop"
            for n in 0..<20 {
                let r = try curl(["http://127.0.0.1:\(port)/hello/\(n)"])
                #expect(r.status == 0 && r.output == "backend /hello/\(n)", "\(model): \(r.output)")
            }
            // Keep-alive through both hops: many requests on one client connection.
            let urls = (0..<50).map { "http://127.0.0.1:\(port)/k/\($0)" }
            let r = try curl(urls)
            #expect(r.status == 0, "\(model): \(r.output)")
            #expect(r.output.components(separatedBy: "backend /k/").count == 51, "\(model): \(r.output)")
        }
        // The server side refuses a client without a certificate, and serves one with the test client's.
        let bare = try curl(["--cacert", TLSCerts.path("ca.pem"), "https://127.0.0.1:\(pair.tlsPorts[0])/x"])
        #expect(bare.status != 0, "\(bare.output)")
        let withCert = try curl([
            "--cacert", TLSCerts.path("ca.pem"), "--cert", TLSCerts.path("client.pem"), "--key",
            TLSCerts.path("client.key"), "https://localhost:\(pair.tlsPorts[1])/direct",
        ])
        #expect(withCert.status == 0 && withCert.output == "backend /direct", "\(withCert.output)")
        #expect(pair.server.output.contains("failed: no_certificate"), "\(pair.server.output)")
        // The chain sent is cert_chain's alone: ca_cert (the listener's trust store) is not appended to it.
        let chain = try sClient(
            port: pair.tlsPorts[0],
            ["-cert", TLSCerts.path("client.pem"), "-key", TLSCerts.path("client.key"), "-CAfile", TLSCerts.path("ca.pem")])
        #expect(chain.contains(" 0 s:") && !chain.contains(" 1 s:"), "\(chain)")
        #expect(chain.contains("Verify return code: 0"), "\(chain)")
    }

    /// 100 MB each way, byte-exact, through both TLS hops on each model (POST /echo: the backend sends the body back).
    @Test func aHundredMegabytesThroughTLSByteExactOnEachModel() throws {
        let backend = try HTTPTestServer(name: "backend")
        defer { backend.stop() }
        let pair = try TLSPair(proto: "Http1", backend: backend.port)
        defer { pair.stop() }
        let dir = makeTempDirectory("tls-100mb")
        defer { removeTree(dir) }
        let input = dir + "/in.bin"
        var data = patternBytes(count: 100 << 20, seed: 42)
        try Data(bytes: &data, count: data.count).write(to: URL(fileURLWithPath: input))
        for (i, port) in pair.entryPorts.enumerated() {
            let output = dir + "/out-\(i).bin"
            let r = try curlLong([
                "-o", output, "-H", "Expect:", "--data-binary", "@" + input, "http://127.0.0.1:\(port)/echo",
            ])
            #expect(r.status == 0, "\(r.output)")
            let cmp = try SkiffProcess.runCommand("cmp", [input, output])
            #expect(cmp.status == 0, "model \(i == 0 ? "netpoll" : "rwloop"): \(cmp.output)")
        }
    }

    /// MOSN's sofarpc TLS sample with real peers: anthunder's Bolt client -> skiff -> mTLS -> skiff -> anthunder's
    /// Bolt server, on both models.
    @Test func boltThroughTheMutualTLSPairWithAnthunder() throws {
        let python = try PeerPython.withAnthunder()
        let server = try SkiffProcess(executable: python, [PeerPython.script, "serve"])
        defer { _ = server.stop() }
        #expect(server.waitForOutput("listening"), "\(server.output)")
        guard let line = server.output.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
            let serverPort = Int(line.dropFirst(10).trimmingCharacters())
        else {
            Issue.record("no port from the anthunder server: \(server.output)")
            return
        }
        let pair = try TLSPair(proto: "bolt", backend: serverPort)
        defer { pair.stop() }
        for (i, port) in pair.entryPorts.enumerated() {
            let r = try SkiffProcess.runCommand(
                python, [PeerPython.script, "call", "\(port)", "100", "4"], timeoutSeconds: 120)
            #expect(r.output.contains("calls=100 ok=100 failed=0"), "\(i == 0 ? "netpoll" : "rwloop"): \(r.output)")
        }
    }

    /// `tls_context_set`: the SNI picks the certificate (exact name, then a wildcard); no SNI gets the first; a name
    /// no certificate has is refused with `unrecognized_name`.
    @Test(arguments: ["netpoll", "rwloop"])
    func sniPicksTheCertificate(model: String) throws {
        let port = freePort()
        let set = [TLSCerts.server(cert: "server-a", mtls: false), TLSCerts.server(cert: "server-b-wildcard", mtls: false)]
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"direct_response":{"status":200,"body":"sni ok"}}]}]}],
              "listeners":[{"name":"sni","address":"127.0.0.1:\(port)","thread_model":"\(model)",
                "filter_chains":[{"tls_context_set":[\(set.joined(separator: ","))],
                  "filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[]}}
            """
        let path = try writeTempFile(config)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { _ = p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let a = try sClient(port: port, ["-servername", "a.skiff.test", "-CAfile", TLSCerts.path("ca.pem")])
        #expect(a.contains("a.skiff.test") && a.contains("Verify return code: 0"), "\(a)")
        let b = try sClient(port: port, ["-servername", "x.b.skiff.test", "-verify_hostname", "x.b.skiff.test", "-CAfile", TLSCerts.path("ca.pem")])
        #expect(b.contains("*.b.skiff.test") && b.contains("Verify return code: 0"), "\(b)")
        let none = try sClient(port: port, ["-noservername"])
        #expect(none.contains("a.skiff.test"), "no SNI gets the first certificate: \(none)")
        let unknown = try sClient(port: port, ["-servername", "nobody.example"])
        #expect(unknown.contains("unrecognized name"), "\(unknown)")
        // curl with the name resolved to loopback gets the right certificate and the answer.
        let r = try curl([
            "--cacert", TLSCerts.path("ca.pem"), "--resolve", "deep.b.skiff.test:\(port):127.0.0.1",
            "https://deep.b.skiff.test:\(port)/",
        ])
        #expect(r.status == 0 && r.output == "sni ok", "\(r.output)")
        #expect(p.output.contains("failed: unknown_sni: no certificate for \"nobody.example\""), "\(p.output)")
    }

    /// MOSN's `inspector`: TLS and plaintext on one port, chosen by the first byte.
    @Test(arguments: ["netpoll", "rwloop"])
    func inspectorServesTLSAndPlaintextOnOnePort(model: String) throws {
        let backend = try HTTPTestServer(name: "backend")
        defer { backend.stop() }
        let port = freePort()
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
              {"match":{"prefix":"/"},"route":{"cluster_name":"b"}}]}]}],
              "listeners":[{"name":"both","address":"127.0.0.1:\(port)","thread_model":"\(model)","inspector":true,
                "filter_chains":[{"tls_context":\(TLSCerts.server(mtls: false)),
                  "filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"b","hosts":[{"address":"127.0.0.1:\(backend.port)"}]}]}}
            """
        let path = try writeTempFile(config)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { _ = p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        for _ in 0..<3 {
            let plain = try curl(["http://127.0.0.1:\(port)/plain"])
            #expect(plain.status == 0 && plain.output == "backend /plain", "\(plain.output)")
            let tls = try curl(["--cacert", TLSCerts.path("ca.pem"), "https://localhost:\(port)/tls"])
            #expect(tls.status == 0 && tls.output == "backend /tls", "\(tls.output)")
        }
    }
}
