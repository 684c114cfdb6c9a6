import Glibc
import SkiffTestSupport
import Testing

/// HTTP/2 from xDS: Skiff and real Envoy configured from the same resources (`Tests/Fixtures/xds/http2.json`): an
/// http_connection_manager with codec_type HTTP2 and one with AUTO (HTTP/1.1), each routing to an explicit-HTTP/2
/// cluster (hyper-h2, `Tests/peers/h2_peer.py`) and an HTTP/1.1 one (the test backend). The cluster, not the
/// listener, says what the upstream speaks, so all four pairs cross: h2 to h2, h2 to HTTP/1.1, HTTP/1.1 to h2,
/// HTTP/1.1 to HTTP/1.1. Skiff alone when Envoy is missing.
@Suite(.serialized) struct XDSHTTP2BinaryTests {
    @Test func clustersSayWhatTheUpstreamSpeaks() throws {
        let (peer, peerPort) = try HTTP2Peers.serve(HTTP2Peers.h2Script)
        defer { peer.stop() }
        let plainPort = freePort()
        let rig = try XDSRig(
            fixture: "http2.json",
            extraVariables: ["SECOND_LISTENER_PORT": "\(plainPort)", "BACKEND_H2_PORT": "\(peerPort)"])
        defer { rig.stop() }

        /// What a client of `port` gets for `path`: body and status; h2c with prior knowledge when `h2`.
        func ask(_ port: Int, _ path: String, h2: Bool) -> String {
            let r = try? SkiffProcess.runCommand(
                "/usr/bin/curl",
                ["-s", "-m", "5", "-w", " %{http_code} %{http_version}"] + (h2 ? ["--http2-prior-knowledge"] : [])
                    + ["http://127.0.0.1:\(port)\(path)"], timeoutSeconds: 10)
            return r?.output ?? "curl failed"
        }
        let expected: [(path: String, h2: Bool, answer: String)] = [
            ("/plain/a", true, "GET /plain/a bytes=0 200 2"),
            ("/web/b", true, "a /web/b 200 2"),
            ("/plain/c", false, "GET /plain/c bytes=0 200 1.1"),
            ("/web/d", false, "a /web/d 200 1.1"),
        ]
        func check(_ name: String, ingress: Int, plain: Int) {
            for e in expected {
                let got = ask(e.h2 ? ingress : plain, e.path, h2: e.h2)
                #expect(got == e.answer, "\(name) \(e.path) (\(e.h2 ? "h2c" : "HTTP/1.1") client): \(got)")
            }
        }
        #expect(
            waitUntil(seconds: 30) { ask(rig.listenerPort, "/web/ready", h2: true).hasSuffix(" 200 2") },
            "\(rig.diagnostics)")
        check("skiff", ingress: rig.listenerPort, plain: plainPort)
        // An HTTP/1.1 client on the HTTP2 listener is refused as HTTP/2 wants (Skiff: GOAWAY HTTP_1_1_REQUIRED).
        #expect(!ask(rig.listenerPort, "/web/x", h2: false).hasSuffix(" 200 1.1"))

        guard let envoyBinary = XDSPeers.envoy else { return }
        let (envoyIngress, envoyPlain) = (freePort(), freePort())
        var variables = rig.variables
        variables["LISTENER_PORT"] = "\(envoyIngress)"
        variables["SECOND_LISTENER_PORT"] = "\(envoyPlain)"
        let (envoy, plane) = try rig.startEnvoy(envoyBinary, variables: variables)
        defer {
            envoy.stop()
            plane.stop()
        }
        #expect(
            waitUntil(seconds: 30) { ask(envoyIngress, "/web/ready", h2: true).hasSuffix(" 200 2") },
            "envoy: \(envoy.output)\nxds: \(plane.process.output)")
        check("envoy", ingress: envoyIngress, plain: envoyPlain)
    }
}
