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
}
