import Glibc
import SkiffTestSupport
import Testing

/// h2 over TLS: the listener offers `h2` by ALPN (added to its empty `alpn`), and curl, openssl s_client and grpcio
/// (with a client certificate, mTLS) choose HTTP/2 by it, on both thread models.
@Suite(.serialized) struct HTTP2TLSBinaryTests {
    @Test func clientsNegotiateH2ByALPNWithMutualTLS() throws {
        let rig = try HTTP2Rig(tag: "h2-tls", tls: TLSConfigText.context(TLSConfigText.mutualTLS))
        defer { rig.stop() }
        let python = try XDSPeers.withXDSProtos()
        for port in rig.listeners {
            let curl = try SkiffProcess.runCommand(
                "/usr/bin/curl",
                [
                    "-s", "--http2", "--max-time", "10", "--cacert", TLSFixture.ca, "--cert", TLSFixture.clientCert,
                    "--key", TLSFixture.clientKey, "-w", "\nversion=%{http_version}",
                    "https://localhost:\(port)/plain/over-tls",
                ])
            #expect(curl.output == "GET /plain/over-tls bytes=0\nversion=2", "\(port): \(curl.output)")
            let sClient = try SkiffProcess.runCommand(
                "/bin/sh",
                [
                    "-c",
                    "echo | openssl s_client -connect 127.0.0.1:\(port) -alpn h2,http/1.1 -CAfile \(TLSFixture.ca) "
                        + "-cert \(TLSFixture.clientCert) -key \(TLSFixture.clientKey) 2>&1",
                ], timeoutSeconds: 20)
            #expect(sClient.output.contains("ALPN protocol: h2"), "\(sClient.output)")
            let probe = """
                import grpc
                def read(p): return open(p, "rb").read()
                creds = grpc.ssl_channel_credentials(read("\(TLSFixture.ca)"), read("\(TLSFixture.clientKey)"), read("\(TLSFixture.clientCert)"))
                ch = grpc.secure_channel("localhost:\(port)", creds)
                print(ch.unary_unary("/skiff.test.Echo/Unary")(b"over-tls", timeout=10).decode())
                """
            let grpc = try SkiffProcess.runCommand(python, ["-c", probe], timeoutSeconds: 30)
            #expect(grpc.output.hasSuffix("over-tls\n") || grpc.output == "over-tls", "\(grpc.output)")
            // Without a client certificate the handshake is refused.
            let anonymous = try SkiffProcess.runCommand(
                "/usr/bin/curl",
                ["-s", "--http2", "--max-time", "10", "--cacert", TLSFixture.ca, "https://localhost:\(port)/plain/x"])
            #expect(anonymous.status != 0, "\(anonymous.output)")
        }
    }

    /// h2 over TLS to the upstream: an h2c listener in front of grpcio's TLS server (which requires ALPN h2 of its
    /// clients); the cluster's `tls_context` offers `h2` and checks the server's certificate, on both thread models.
    @Test func upstreamH2OverTLSToAGRPCServer() throws {
        let (grpc, grpcPort) = try HTTP2Peers.serve(
            HTTP2Peers.grpcScript, ["--tls", TLSFixture.path("server.pem"), TLSFixture.path("server.key")])
        defer { grpc.stop() }
        let dir = makeTempDirectory("h2-upstream-tls")
        defer { removeTree(dir) }
        let (np, rw) = (freePort(), freePort())
        func listener(_ name: String, _ port: Int, _ model: String) -> String {
            #"{"name":"\#(name)","address":"127.0.0.1:\#(port)","thread_model":"\#(model)","filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http2","upstream_protocol":"Http2","router_config_name":"r"}}]}]}"#
        }
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
               {"match":{"prefix":"/"},"route":{"cluster_name":"grpc"}}]}]}],
              "listeners":[\(listener("np", np, "netpoll")),\(listener("rw", rw, "rwloop"))]}],
             "cluster_manager":{"clusters":[{"name":"grpc","hosts":[{"address":"127.0.0.1:\(grpcPort)"}],
               "tls_context":{"status":true,"ca_cert":"\(TLSFixture.ca)","server_name":"localhost","alpn":"h2"}}]}}
            """
        let (p, _) = try AccessLogSupport.start(config, dir: dir)
        defer { p.stop() }
        for port in [np, rw] {
            let unary = try HTTP2Peers.grpc(port, "Unary", ["--payload", "tls-upstream"])
            #expect(unary.contains(#""replies": ["tls-upstream"]"#), "\(port): \(unary)")
            let stream = try HTTP2Peers.grpc(port, "Stream", ["--count", "50"])
            #expect(stream.contains("\"49:"), "\(port): \(stream.prefix(200))")
        }
    }
}
