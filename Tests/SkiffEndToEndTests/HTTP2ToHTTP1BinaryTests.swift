import Glibc
import SkiffNet
import SkiffTestSupport
import Testing

/// HTTP/2 clients in front of HTTP/1.1 backends (`downstream_protocol: Http2`, `upstream_protocol: Http1`), on both
/// thread models: the request rendered as HTTP/1.1 (Host from :authority, hop-by-hop and `te` dropped, a body of
/// unknown length chunked), the response's payload re-framed (chunked and close-delimited bodies), keep-alive reuse,
/// errors as Skiff's replies, and hyper-h2 checking every frame it gets.
@Suite(.serialized) struct HTTP2ToHTTP1BinaryTests {
    @Test(.enabled(if: access("/usr/bin/h2load", X_OK) == 0, "needs h2load (nghttp2-client)"))
    func http2ClientsReachHTTP1Backends() throws {
        let web = try HTTPTestServer(name: "web")
        defer { web.stop() }
        let dir = makeTempDirectory("h2-to-h1")
        defer { removeTree(dir) }
        let (np, rw) = (freePort(), freePort())
        func listener(_ name: String, _ port: Int, _ model: String) -> String {
            #"{"name":"\#(name)","address":"127.0.0.1:\#(port)","thread_model":"\#(model)","filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http2","upstream_protocol":"Http1","router_config_name":"r"}}]}]}"#
        }
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
               {"match":{"prefix":"/"},"route":{"cluster_name":"web","timeout":"3s"}}]}]}],
              "listeners":[\(listener("np", np, "netpoll")),\(listener("rw", rw, "rwloop"))]}],
             "cluster_manager":{"clusters":[{"name":"web","hosts":[{"address":"127.0.0.1:\(web.port)"}]}]}}
            """
        let (p, _) = try AccessLogSupport.start(config, dir: dir)
        defer { p.stop() }
        func curl(_ port: Int, _ args: [String]) throws -> String {
            try SkiffProcess.runCommand(
                "/usr/bin/curl", ["-s", "--http2-prior-knowledge", "--max-time", "5"] + args + []).output
        }
        for port in [np, rw] {
            let base = "http://127.0.0.1:\(port)"
            #expect(try curl(port, [base + "/small"]) == "web /small")
            let head = try curl(port, ["-H", "te: trailers", "-H", "x-custom: 1", "\(base)/headers"])
            #expect(head.hasPrefix("GET /headers HTTP/1.1\r\nhost: 127.0.0.1:\(port)\r\n"), "\(head)")
            #expect(head.contains("x-custom: 1") && !head.lowercased().contains("te: trailers"), "\(head)")
            // A body of unknown length goes chunked; one with a length as it is.
            let body = String(repeating: "b", count: 70_000)
            let echoed = try curl(port, ["-H", "content-length:", "--data-binary", body, "\(base)/echo"])
            #expect(echoed == body, "\(echoed.count) bytes")
            // Request trailers (a gRPC-style body without a length) become the chunked body's trailer section.
            let trailers = try HTTP2Peers.h2Case(port, "trailers", ["/trailers"])
            #expect(trailers.contains(#""body": "x-client-trailer: 1\nx-other: two""#), "\(trailers)")
            // Chunked and close-delimited responses become DATA frames without their framing.
            #expect(try curl(port, [base + "/chunked"]) == "hello world")
            #expect(try curl(port, ["-o", "/dev/null", "-w", "%{http_code}", base + "/status/404"]) == "404")
            let timedOut = try curl(port, ["-o", "/dev/null", "-w", "%{http_code}", base + "/never"])
            #expect(timedOut == "504", "\(timedOut)")
            let load = try SkiffProcess.runCommand(
                "/usr/bin/h2load", ["-n", "400", "-c", "2", "-m", "8", "\(base)/small"], timeoutSeconds: 60)
            #expect(load.output.contains("400 succeeded, 0 failed, 0 errored"), "\(load.output)")
            let strict = try HTTP2Peers.h2Case(port, "get")
            #expect(strict.contains("\"body\": \"web /plain/get\""), "\(strict)")
        }
    }
}
