import Glibc
import SkiffTestSupport
import Testing

/// HTTP/1.1 clients in front of HTTP/2 upstreams (`downstream_protocol: Http1`, `upstream_protocol: Http2`), on both
/// thread models, against nginx (`listen ... http2`) and hyper-h2 (which checks every frame and header block it
/// gets): the request as a header block (pseudo-headers, names lower-cased, hop-by-hop fields dropped, `te: trailers`
/// kept, the client in `x-forwarded-for`), bodies both ways (a chunked upload as DATA, the response's length kept,
/// chunked with the server's trailers, until close for HTTP/1.0), keep-alive, HEAD, errors as Skiff's replies, and a
/// bounded load on the shared connections.
@Suite(.serialized) struct HTTP1ToHTTP2BinaryTests {
    @Test(.enabled(if: access("/usr/bin/h2load", X_OK) == 0, "needs h2load (nghttp2-client)"))
    func http1ClientsReachHTTP2Backends() throws {
        let nginx = try NginxH2Backend()
        defer { nginx.stop() }
        let (peer, peerPort) = try HTTP2Peers.serve(HTTP2Peers.h2Script)
        defer { peer.stop() }
        let dir = makeTempDirectory("h1-to-h2")
        defer { removeTree(dir) }
        let (np, rw, h2, admin) = (freePort(), freePort(), freePort(), freePort())
        func listener(_ name: String, _ port: Int, _ model: String, _ downstream: String = "Http1") -> String {
            #"{"name":"\#(name)","address":"127.0.0.1:\#(port)","thread_model":"\#(model)","pollers":2,"filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"\#(downstream)","upstream_protocol":"Http2","router_config_name":"r"}}]}]}"#
        }
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
               {"match":{"prefix":"/n/"},"route":{"cluster_name":"nginx","prefix_rewrite":"/","timeout":"5s"}},
               {"match":{"prefix":"/plain/"},"route":{"cluster_name":"peer","timeout":"2s"}},
               {"match":{"prefix":"/gone/"},"route":{"cluster_name":"gone","timeout":"2s"}}]}]}],
              "listeners":[\(listener("np", np, "netpoll")),\(listener("rw", rw, "rwloop")),
                \(listener("h2", h2, "netpoll", "Http2"))]}],
             "cluster_manager":{"clusters":[
               {"name":"nginx","hosts":[{"address":"127.0.0.1:\(nginx.port)"}]},
               {"name":"peer","hosts":[{"address":"127.0.0.1:\(peerPort)"}]},
               {"name":"gone","connect_timeout":"1s","hosts":[{"address":"127.0.0.1:\(freePort())"}]}]},
             "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(admin)}}}}
            """
        let (skiff, _) = try AccessLogSupport.start(config, dir: dir)
        defer { skiff.stop() }
        let upload = dir + "/upload"
        guard let f = fopen(upload, "w") else { throw TestError("cannot write \(upload)") }
        fputs(String(repeating: "u", count: 70_000), f)
        fclose(f)
        func curl(_ args: [String]) throws -> (status: Int32, output: String) {
            try SkiffProcess.runCommand("/usr/bin/curl", ["-s", "--max-time", "8"] + args)
        }
        // HTTP/2 clients of the same hosts first: their streams' connections are never lent to HTTP/1.1 exchanges.
        let h2Load = try SkiffProcess.runCommand(
            "/usr/bin/h2load", ["-n", "200", "-c", "2", "-m", "4", "http://127.0.0.1:\(h2)/n/4k"], timeoutSeconds: 60)
        #expect(h2Load.output.contains("200 succeeded, 0 failed, 0 errored"), "\(h2Load.output)")
        for port in [np, rw] {
            let base = "http://127.0.0.1:\(port)"
            // Lengths kept, one client connection for both, the prefix rewritten.
            let two = try curl([
                "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{num_connects}\n",
                base + "/n/4k", base + "/n/100k",
            ]).output
            #expect(two == "200 4096 1\n200 100000 0\n", "\(port): \(two)")
            let head = try curl(["-I", base + "/n/4k"]).output
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.contains("content-length: 4096\r\n"), "\(head)")

            // Pipelined requests go one at a time, the next sent while the upstream's frames for the last are being
            // read; both answers arrive, in order.
            let piped = try rawExchange(
                port: port,
                Array(("GET /n/4k HTTP/1.1\r\nHost: x\r\n\r\nGET /plain/second HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: close\r\n\r\n").utf8))
            #expect(piped.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 3, "\(piped.prefix(300))")
            #expect(piped.hasSuffix("GET /plain/second bytes=0\r\n0\r\n\r\n"), "\(piped.suffix(200))")

            // The request as hyper-h2 received it.
            let echo = try curl([
                "-H", "X-Custom: One", "-H", "Connection: keep-alive, X-Hop", "-H", "X-Hop: 1", "-H", "TE: trailers",
                "-H", "x-echo-headers: 1", base + "/plain/echo?q=1",
            ]).output
            let fields = echo.split(separator: "\n").map(String.init)
            #expect(
                Array(fields.prefix(4)) == [
                    ":method: GET", ":scheme: http", ":authority: 127.0.0.1:\(port)", ":path: /plain/echo?q=1",
                ], "\(echo)")
            for line in ["x-custom: One", "te: trailers", "x-forwarded-for: 127.0.0.1", "x-echo-headers: 1"] {
                #expect(fields.contains(line), "\(line) in \(echo)")
            }
            #expect(!echo.contains("x-hop") && !echo.contains("connection") && !echo.contains("\nhost:"), "\(echo)")

            // A chunked upload arrives whole; the server's trailers come back as the chunked trailer section.
            let up = try curl([
                "--raw", "-H", "Transfer-Encoding: chunked", "-H", "te: trailers", "--data-binary", "@" + upload,
                base + "/plain/up",
            ]).output
            #expect(up.contains("POST /plain/up bytes=70000\r\n0\r\nx-trailer: done\r\n\r\n"), "\(up)")
            // HTTP/1.0: no chunked framing, the body runs until close.
            let old = try rawExchange(port: port, Array("GET /plain/ten HTTP/1.0\r\nHost: x\r\n\r\n".utf8))
            #expect(old.hasPrefix("HTTP/1.1 200 OK\r\n") && old.contains("connection: close\r\n"), "\(old)")
            #expect(!old.contains("transfer-encoding") && old.hasSuffix("\r\n\r\nGET /plain/ten bytes=0"), "\(old)")

            // Failures: the route timeout, a host nobody listens on, a stream reset mid-response (the client is cut).
            let slow = try curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "x-sleep-ms: 3000", base + "/plain/s"])
            #expect(slow.output == "504", "\(slow)")
            #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", base + "/gone/x"]).output == "503")
            let cut = try curl(["-H", "x-reset: 1", base + "/plain/r"])
            #expect(cut.status != 0, "a reset mid-response must not look complete: \(cut)")

            let load = try SkiffProcess.runCommand(
                "/usr/bin/h2load", ["--h1", "-n", "2000", "-c", "8", "\(base)/n/4k"], timeoutSeconds: 60)
            #expect(load.output.contains("2000 succeeded, 0 failed, 0 errored"), "\(load.output)")
        }
        // Streams of many client connections share few upstream connections: one per executor and kind (netpoll's
        // two pollers for each listener kind; an rwloop client connection's strand), never one per request.
        let (_, metrics) = try adminRequest(admin, "GET", "/metrics")
        let line = metrics.split(separator: "\n").first {
            $0.hasPrefix("upstream_connection_total{cluster=\"nginx\"")
        }
        let total = line.flatMap { $0.split(separator: " ").last.flatMap { Int($0) } } ?? -1
        #expect(total > 0 && total <= 2 + 2 + 2 + 8, "\(line ?? "no upstream_connection_total for nginx")")
    }
}
