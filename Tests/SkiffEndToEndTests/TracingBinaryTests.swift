import Glibc
import SkiffTestSupport
import Testing

/// MOSN's `tracing` block with the SOFATracer driver through the real binary (issue 20): trace context generated,
/// passed on and extended for HTTP (curl as the client, a Python application behind Skiff) and for Bolt against a
/// real SOFA peer (anthunder, whose own tracer reads the context Skiff sends), the W3C `traceparent`, the digest
/// lines in SOFATracer's shape and the trace ids in access logs.
@Suite(.serialized) struct TracingBinaryTests {
    /// An application behind Skiff: `/relay` calls `/echo` through Skiff's egress listener passing on the SOFA headers
    /// it received, unextended (an application that does not trace itself); every other path answers the request's
    /// headers as a JSON list of pairs (duplicates kept).
    static let app = #"""
        import http.server, json, sys, urllib.request
        egress = int(sys.argv[1])
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                if self.path.startswith("/relay"):
                    keep = {k: v for k, v in self.headers.items() if k.lower() in ("sofa-traceid", "sofa-rpcid")}
                    req = urllib.request.Request("http://127.0.0.1:%d/echo" % egress, headers=keep)
                    body = urllib.request.urlopen(req, timeout=5).read()
                else:
                    body = json.dumps(list(self.headers.items())).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a):
                pass
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        print("listening", s.server_address[1], flush=True)
        s.serve_forever()
        """#

    static func listener(_ name: String, _ port: Int, _ type: String, _ proto: String, model: String, extra: String = "")
        -> String
    {
        """
        {"name":"\(name)","address":"127.0.0.1:\(port)","type":"\(type)","thread_model":"\(model)","pollers":1\(extra),
         "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"\(proto)","upstream_protocol":"\(proto)","router_config_name":"r"}}]}]}
        """
    }

    static func config(listeners: [String], route: String, upstream: Int, traceDirectory: String, admin: Int = 0)
        -> String
    {
        let adminPart = admin == 0 ? "" : #","admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\#(admin)}}}"#
        return """
        {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[\(route)]}]}],
          "listeners":[\(listeners.joined(separator: ","))]}],
         "cluster_manager":{"clusters":[{"name":"app","hosts":[{"address":"127.0.0.1:\(upstream)"}]}]},
         "tracing":{"enable":true,"driver":"SOFATracer","config":{"log_path":"\(traceDirectory)"}}\(adminPart)}
        """
    }

    static func port(of p: SkiffProcess) throws -> Int {
        guard p.waitForOutput("listening"),
            let line = p.output.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
            let port = Int(line.dropFirst(10).trimmingCharacters())
        else { throw TestError("no port: \(p.output)") }
        return port
    }

    /// curl's GET of `url` with `headers`; the application's answer.
    static func curl(_ url: String, _ headers: [String] = []) throws -> String {
        let r = try SkiffProcess.runCommand(
            "/usr/bin/curl", ["-sS", "--max-time", "10"] + headers.flatMap { ["-H", $0] } + [url])
        #expect(r.status == 0, "\(r.output)")
        return r.output
    }

    /// The values of header `name` (any case) in the application's JSON answer.
    static func values(_ json: String, _ name: String) -> [String] {
        // ["Name", "value"] pairs, written by Python's json: no escapes in what these tests send.
        var out: [String] = []
        for pair in json.split(separator: "[").dropFirst() {
            let parts = pair.split(separator: "\"")
            if parts.count >= 3, parts[0].lowercased() == name.lowercased() { out.append(String(parts[2])) }
        }
        return out
    }

    static func lines(_ path: String) -> [String] {
        String(decoding: (try? readFile(path)) ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func httpTraceContextIsGeneratedPassedOnAndExtended() throws {
        let dir = makeTempDirectory("trace-http")
        defer { removeTree(dir) }
        let (ingress, egress, admin) = (freePort(), freePort(), freePort())
        let (app, script) = try startPython(Self.app, ["\(egress)"])
        defer {
            app.stop()
            unlink(script)
        }
        let appPort = try Self.port(of: app)
        let access = "\(dir)/ingress_access.log"
        let config = Self.config(
            listeners: [
                Self.listener(
                    "ingress", ingress, "ingress", "Http1", model: "netpoll",
                    extra: #","access_logs":[{"log_path":"\#(access)","log_format":"%trace_id% %rpc_id% %traceparent%"}]"#),
                Self.listener("egress", egress, "egress", "Http1", model: "rwloop"),
            ],
            route: #"{"match":{"prefix":"/"},"route":{"cluster_name":"app"}}"#, upstream: appPort,
            traceDirectory: "\(dir)/trace", admin: admin)
        let path = try writeTempFile(config)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")

        // No context: Skiff starts one (SOFATracer's trace id shape: 8 hex digits of an address, epoch ms, a 4-digit
        // counter, the pid; rpc id 0) and a W3C trace.
        let fresh = try Self.curl("http://127.0.0.1:\(ingress)/echo")
        let traceIDs = Self.values(fresh, "SOFA-TraceId")
        #expect(traceIDs.count == 1, "\(fresh)")
        let generated = traceIDs.first ?? ""
        #expect(generated.count >= 8 + 13 + 4 + 1 && generated.hasSuffix("\(p.pid)"), "\(generated)")
        #expect(generated.prefix(8).allSatisfy(\.isHexDigit) && generated.dropFirst(8).allSatisfy(\.isNumber))
        #expect(Self.values(fresh, "SOFA-RpcId") == ["0"], "\(fresh)")
        let parent = Self.values(fresh, "traceparent").first ?? ""
        #expect(parent.count == 55 && parent.hasPrefix("00-") && parent.hasSuffix("-01"), "\(parent)")

        // A context: passed on as it is; the W3C trace continues with a new parent id (this hop's span).
        let clientParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let passed = try Self.curl(
            "http://127.0.0.1:\(egress)/echo", ["SOFA-TraceId: 0a1b2c3d1700000000000100042", "SOFA-RpcId: 0.1.1",
            "traceparent: \(clientParent)"])
        #expect(Self.values(passed, "SOFA-TraceId") == ["0a1b2c3d1700000000000100042"], "\(passed)")
        #expect(Self.values(passed, "SOFA-RpcId") == ["0.1.1"], "\(passed)")
        let continued = Self.values(passed, "traceparent")
        #expect(continued.count == 1, "\(passed)")
        #expect(continued.first?.hasPrefix("00-0af7651916cd43dd8448eb211c80319c-") == true, "\(continued)")
        #expect(continued.first != clientParent && continued.first?.hasSuffix("-01") == true, "\(continued)")

        // A call made inside a traced request, with the context passed on unextended: the egress listener makes it
        // the request's child (MOSN numbers from .2); once the request is over, the same context is not extended.
        let relayed = try Self.curl(
            "http://127.0.0.1:\(ingress)/relay", ["SOFA-TraceId: relaytrace01", "SOFA-RpcId: 0.7"])
        #expect(Self.values(relayed, "SOFA-TraceId") == ["relaytrace01"], "\(relayed)")
        #expect(Self.values(relayed, "SOFA-RpcId") == ["0.7.2"], "\(relayed)")
        let after = try Self.curl("http://127.0.0.1:\(egress)/echo", ["SOFA-TraceId: relaytrace01", "SOFA-RpcId: 0.7"])
        #expect(Self.values(after, "SOFA-RpcId") == ["0.7"], "\(after)")

        // A malformed context is not passed on: replaced, once.
        let bad = try Self.curl("http://127.0.0.1:\(egress)/echo", ["SOFA-TraceId: no{spaces}!", "SOFA-RpcId: 0..1"])
        #expect(Self.values(bad, "SOFA-TraceId").count == 1 && Self.values(bad, "SOFA-TraceId") != ["no{spaces}!"])
        #expect(Self.values(bad, "SOFA-RpcId") == ["0"], "\(bad)")

        // Digest lines: server spans for the ingress listener, client spans for the egress one.
        #expect(waitUntil(seconds: 5) { Self.lines("\(dir)/trace/rpc-client-digest.log").count == 4 })
        #expect(waitUntil(seconds: 5) { Self.lines("\(dir)/trace/rpc-server-digest.log").count == 2 })
        let server = Self.lines("\(dir)/trace/rpc-server-digest.log")
        #expect(server.first?.contains(#""traceId":"\#(generated)","spanId":"0","span.kind":"server""#) == true)
        #expect(server.last?.contains(#""traceId":"relaytrace01","spanId":"0.7","span.kind":"server""#) == true)
        #expect(server.last?.contains(#""protocol":"Http1""#) == true && server.last?.contains(#""result.code":"00""#) == true)
        let client = Self.lines("\(dir)/trace/rpc-client-digest.log")
        #expect(client.contains { $0.contains(#""traceId":"relaytrace01","spanId":"0.7.2","span.kind":"client""#) })
        #expect(client.allSatisfy { $0.hasPrefix(#"{"timestamp":"20"#) && $0.contains(#""remote.ip":"127.0.0.1:\#(appPort)""#) })
        // Counted: one context started for a request without one, one for the malformed one, one child.
        let metrics = try adminRequest(admin, "GET", "/metrics").body
        #expect(metrics.contains(#"skiff_tracing_contexts_started_total{reason="absent"} 1"#), "\(metrics.suffix(2000))")
        #expect(metrics.contains(#"skiff_tracing_contexts_started_total{reason="malformed"} 1"#))
        #expect(metrics.contains("skiff_tracing_children_total 1"))
        #expect(metrics.contains("skiff_tracing_unnumbered_total 0"))
        // The access log prints the same context.
        let logged = Self.lines(access)
        #expect(logged.first?.hasPrefix("\(generated) 0 00-") == true, "\(logged)")
        #expect(logged.last?.hasPrefix("relaytrace01 0.7 00-") == true, "\(logged)")
    }

    @Test func boltTraceContextReachesARealSOFAPeer() throws {
        let python = try PeerPython.withAnthunder()
        let dir = makeTempDirectory("trace-bolt")
        defer { removeTree(dir) }
        let (ingress, egress) = (freePort(), freePort())
        let server = try SkiffProcess(executable: python, [PeerPython.script, "serve-traced", "\(egress)"])
        defer { server.stop() }
        let serverPort = try Self.port(of: server)
        let config = Self.config(
            listeners: [
                Self.listener("ingress", ingress, "ingress", "bolt", model: "netpoll"),
                Self.listener("egress", egress, "egress", "bolt", model: "rwloop"),
            ],
            route: #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"app"}}"#,
            upstream: serverPort, traceDirectory: "\(dir)/trace")
        let path = try writeTempFile(config)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        func call(_ port: Int, _ traceID: String, _ rpcID: String, _ method: String = "trace") throws -> String {
            let r = try SkiffProcess.runCommand(
                python, [PeerPython.script, "trace", "\(port)", traceID, rpcID, method], timeoutSeconds: 30)
            #expect(r.status == 0, "\(r.output)")
            return r.output.split(separator: "\n").first.map(String.init) ?? ""
        }
        // anthunder's client sends its context; Skiff passes it on and anthunder's server reads it back.
        let passed = try call(egress, "0a1b2c3d1700000000000100042", "0.1.1")
        #expect(passed == "trace 0a1b2c3d1700000000000100042 0.1.1", "\(passed)")
        // The application behind the ingress listener calls out through the egress one with its context unextended.
        let relayed = try call(ingress, "relaytrace02", "0.3", "relay")
        #expect(relayed == "trace relaytrace02 0.3.2", "\(relayed)")

        // A client that sends none: the frame goes upstream carrying the context Skiff started (its header map
        // rewritten; anthunder would otherwise make up its own, with rpc id 1).
        let frame = RPCFrames.boltRequest(
            id: 1, service: "com.skiff.test.Echo:1.0", content: [],
            extraHeaders: [("sofa_head_method_name", "trace"), ("sofa_head_target_service", "com.skiff.test.Echo:1.0")])
        let got = try rpcClient(
            port: egress, count: 1, window: 1, frame: { _ in frame },
            responseID: { b in RPCFrames.parseBolt(b).map { ($0.length, $0.id) } })
        let answer = got[1].flatMap { RPCFrames.parseBolt($0) }.map { String(decoding: $0.content, as: UTF8.self) }
        let words = answer?.split(separator: " ") ?? []
        #expect(words.count == 3 && words[0] == "trace" && words[1].hasSuffix("\(p.pid)") && words[2] == "0", "\(answer ?? "none")")

        #expect(waitUntil(seconds: 5) { Self.lines("\(dir)/trace/rpc-client-digest.log").count == 3 })
        let client = Self.lines("\(dir)/trace/rpc-client-digest.log")
        #expect(client.contains { $0.contains(#""traceId":"relaytrace02","spanId":"0.3.2","span.kind":"client""#) })
        #expect(client.allSatisfy { $0.contains(#""service":"com.skiff.test.Echo:1.0","method":"trace","protocol":"bolt""#) })
        let spans = Self.lines("\(dir)/trace/rpc-server-digest.log")
        #expect(spans.count == 1 && spans.first?.contains(#""spanId":"0.3","span.kind":"server""#) == true, "\(spans)")
        #expect(spans.first?.contains(#""method":"relay""#) == true, "\(spans)")
    }

    @Test func aReloadTurnsTracingOnAndOffInPlace() throws {
        typealias S = AccessLogSupport
        let web = try HTTPTestServer(name: "web")
        defer { web.stop() }
        let dir = makeTempDirectory("trace-reload")
        defer { removeTree(dir) }
        let port = freePort()
        let plain = S.httpConfig(
            listeners: [S.httpListener("np", port: port, model: "netpoll", accessLogs: "[]")], web: web.port)
        let tracing = #","tracing":{"enable":true,"driver":"SOFATracer","config":{"log_path":"\#(dir)/trace"}}"#
        let traced = String(plain.dropLast()) + tracing + "}"
        let (p, sock) = try S.start(plain, dir: dir)
        defer { p.stop() }
        let digest = "\(dir)/trace/rpc-client-digest.log"
        // One keep-alive connection throughout: the listener's logs are swapped in place.
        let c = try S.KeepAlive(port: port)
        #expect(try c.get("/api/a").status == 200)

        S.rewrite(traced, dir: dir)
        let on = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(on.status == 0 && on.output.contains("listener np: access logs updated (\(digest))"), "\(on.output)")
        for _ in 0..<3 { #expect(try c.get("/api/b").status == 200) }
        #expect(S.waitForLines(digest, count: 3).count == 3)

        S.rewrite(plain, dir: dir)
        let off = try SkiffProcess.run(["reload", "--socket", sock])
        #expect(off.status == 0 && off.output.contains("listener np: access logs updated (none)"), "\(off.output)")
        #expect(try c.get("/api/c").status == 200)
        usleep(300_000)
        #expect(Self.lines(digest).count == 3)
    }
}

/// Tracing on HTTP/2 upstream requests: an HTTP/2 client's stream (h2c, curl) and an HTTP/1.1 client's request
/// translated to HTTP/2 both reach hyper-h2 with the trace context Skiff decided (a generated SOFA trace and this
/// hop's `traceparent`; a client's SOFA context passed on as it came, its `traceparent` continued), on both thread
/// models.
@Suite(.serialized) struct HTTP2TracingBinaryTests {
    @Test func http2UpstreamsGetTheTraceContext() throws {
        let dir = makeTempDirectory("trace-h2")
        defer { removeTree(dir) }
        let (peer, peerPort) = try HTTP2Peers.serve(HTTP2Peers.h2Script)
        defer { peer.stop() }
        let ports = (0..<4).map { _ in freePort() }
        let listeners = [
            TracingBinaryTests.listener("h2np", ports[0], "ingress", "Http2", model: "netpoll"),
            TracingBinaryTests.listener("h2rw", ports[1], "ingress", "Http2", model: "rwloop"),
            TracingBinaryTests.listener("h1np", ports[2], "ingress", "Http1", model: "netpoll")
                .replacing(#""upstream_protocol":"Http1""#, with: #""upstream_protocol":"Http2""#),
            TracingBinaryTests.listener("h1rw", ports[3], "ingress", "Http1", model: "rwloop")
                .replacing(#""upstream_protocol":"Http1""#, with: #""upstream_protocol":"Http2""#),
        ]
        let config = TracingBinaryTests.config(
            listeners: listeners, route: #"{"match":{"prefix":"/"},"route":{"cluster_name":"app"}}"#,
            upstream: peerPort, traceDirectory: "\(dir)/trace")
        let (skiff, _) = try AccessLogSupport.start(config, dir: dir)
        defer { skiff.stop() }
        /// The header block hyper-h2 received, as `name: value` lines.
        func fields(_ port: Int, h2: Bool, _ headers: [String] = []) throws -> [String] {
            let r = try SkiffProcess.runCommand(
                "/usr/bin/curl",
                ["-s", "-m", "8", "-H", "x-echo-headers: 1"] + headers.flatMap { ["-H", $0] }
                    + (h2 ? ["--http2-prior-knowledge"] : []) + ["http://127.0.0.1:\(port)/t"])
            return r.output.split(separator: "\n").map(String.init)
        }
        func values(_ lines: [String], _ name: String) -> [String] {
            lines.filter { $0.hasPrefix(name + ": ") }.map { String($0.dropFirst(name.count + 2)) }
        }
        let clientParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        for (i, port) in ports.enumerated() {
            let h2 = i < 2
            let fresh = try fields(port, h2: h2)
            #expect(values(fresh, "sofa-traceid").count == 1, "\(port): \(fresh)")
            #expect(values(fresh, "sofa-rpcid") == ["0"], "\(port): \(fresh)")
            #expect(values(fresh, "traceparent").first?.count == 55, "\(port): \(fresh)")
            let passed = try fields(
                port, h2: h2,
                ["SOFA-TraceId: 0a1b2c3d1700000000000100042", "SOFA-RpcId: 0.1.1", "traceparent: \(clientParent)"])
            #expect(values(passed, "sofa-traceid") == ["0a1b2c3d1700000000000100042"], "\(port): \(passed)")
            #expect(values(passed, "sofa-rpcid") == ["0.1.1"], "\(port): \(passed)")
            let continued = values(passed, "traceparent")
            #expect(continued.count == 1 && continued.first != clientParent, "\(port): \(passed)")
            #expect(continued.first?.hasPrefix("00-0af7651916cd43dd8448eb211c80319c-") == true, "\(port): \(passed)")
        }
    }
}
