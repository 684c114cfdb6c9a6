import Glibc
import SkiffTestSupport
import Testing

/// An HTTP/2 client with prior knowledge on an HTTP/1.1 listener (both thread models) is told so in HTTP/2: SETTINGS,
/// then GOAWAY HTTP_1_1_REQUIRED with Skiff's reason, which nghttp and curl (real HTTP/2 clients) read and report,
/// where an HTTP/1.1 505 read as frames was an opaque framing error. HTTP/1 clients on the same listener are unaffected.
@Suite(.serialized) struct HTTP2PrefaceBinaryTests {
    @Test(.enabled(if: access("/usr/bin/nghttp", X_OK) == 0, "needs nghttp (nghttp2-client)"))
    func priorKnowledgeClientsAreToldHTTP11IsRequired() throws {
        typealias S = AccessLogSupport
        let web = try HTTPTestServer(name: "web")
        defer { web.stop() }
        let dir = makeTempDirectory("h2-preface")
        defer { removeTree(dir) }
        let (np, rw) = (freePort(), freePort())
        let config = S.httpConfig(
            listeners: [
                S.httpListener("np", port: np, model: "netpoll", accessLogs: "[]"),
                S.httpListener("rw", port: rw, model: "rwloop", accessLogs: "[]"),
            ], web: web.port)
        let (p, _) = try S.start(config, dir: dir)
        defer { p.stop() }
        for port in [np, rw] {
            let nghttp = try SkiffProcess.runCommand("/usr/bin/nghttp", ["-v", "http://127.0.0.1:\(port)/api/x"])
            #expect(nghttp.output.contains("error_code=HTTP_1_1_REQUIRED(0x0d)"), "\(nghttp.output)")
            #expect(nghttp.output.contains("this listener speaks HTTP/1.1 (skiff)"), "\(nghttp.output)")
            let curl = try SkiffProcess.runCommand(
                "/usr/bin/curl", ["-sv", "--http2-prior-knowledge", "--max-time", "5", "http://127.0.0.1:\(port)/api/x"])
            #expect(curl.output.contains("GOAWAY, error=13"), "\(curl.output)")
            let plain = try SkiffProcess.runCommand(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/api/x"])
            #expect(plain.output == "200", "\(plain.output)")
        }
    }
}
