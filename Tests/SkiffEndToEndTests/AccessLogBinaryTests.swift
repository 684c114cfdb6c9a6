import Glibc
import SkiffNet
import SkiffTestSupport
import Testing

private typealias S = AccessLogSupport

/// Access logs written by the real binary: exact lines for HTTP (local replies and a refusal included), Bolt, Dubbo
/// and tcp_proxy, on both thread models; the JSON form parsed by Python's json; MOSN's default format at MOSN's
/// default path.
@Suite(.serialized) struct AccessLogBinaryTests {
    static let httpFormat =
        "%protocol% %response_code% %REQ(:METHOD)% %REQ(:PATH)% [%REQ(x-id?x-alt):6%] %RESP(content-length)% "
        + "%bytes_sent% %bytes_received% %upstream_cluster% %UPSTREAM_HOST% %upstream_host% %RESPONSE_FLAGS% "
        + "%response_flag% %upstream_transport_failure_reason% %downstream_local_address%"

    static let jsonFormat =
        #"{"code":"%response_code%","path":"%REQ(:PATH)%","ua":"%REQ(user-agent)%","start":"%start_time%","# + #""d":"%duration%","flags":"%RESPONSE_FLAGS%","bytes":"%bytes_sent%","trace":"%trace_id%"}"#

    @Test func httpLinesOnBothThreadModels() throws {
        let web = try HTTPTestServer(name: "web")
        defer { web.stop() }
        let dir = makeTempDirectory("al-http")
        defer { removeTree(dir) }
        let text = dir + "/http.log"
        let json = dir + "/http.json.log"
        let logs = #"[{"log_path":"\#(text)","log_format":"\#(Self.httpFormat)"},{"log_path":"\#(json)","json_format":\#(Self.jsonFormat)}"#
        let np = freePort()
        let rw = freePort()
        let config = S.httpConfig(
            listeners: [
                // The netpoll listener also writes MOSN's default format to MOSN's default path.
                S.httpListener("np", port: np, model: "netpoll", accessLogs: logs + #",{"log_format":""}]"#),
                S.httpListener("rw", port: rw, model: "rwloop", accessLogs: logs + "]"),
            ], web: web.port)
        let (p, _) = try S.start(config, dir: dir)
        defer { p.stop() }

        var badResponses: [String] = []
        for port in [np, rw] {
            #expect(try curl(["-H", "x-id: abcdefgh", "http://127.0.0.1:\(port)/api/a"]).output == "web /a")
            #expect(try curl(["-H", "x-alt: zz", "--data-binary", "hello", "http://127.0.0.1:\(port)/api/echo"]).output == "hello")
            #expect(try curl(["http://127.0.0.1:\(port)/other"]).output == "404 Not Found: no route matched\n")
            #expect(try curl(["http://127.0.0.1:\(port)/direct"]).output == "direct\n")
            badResponses.append(try rawExchange(port: port, Array("NOT A REQUEST\r\n\r\n".utf8)))
        }
        let lines = S.waitForLines(text, count: 10)
        var expected: [String] = []
        for port in [np, rw] {
            let l = "127.0.0.1:\(port)"
            let w = "127.0.0.1:\(web.port)"
            expected += [
                "Http1 200 GET /api/a [abcdef] 6 6 0 web \(w) web-1 - false 0x0 \(l)",
                "Http1 200 POST /api/echo [zz] 5 5 5 web \(w) web-1 - false 0x0 \(l)",
                "Http1 404 GET /other [-] 32 32 0 - - - NR true 0x100 \(l)",
                "Http1 200 GET /direct [-] 7 7 0 - - - - false 0x0 \(l)",
            ]
        }
        // Lines of different executors may interleave: compare as sets, the refusals by their fixed part.
        let refusals = lines.filter { $0.hasPrefix("Http1 400 - - [-] ") }
        #expect(lines.filter { !$0.hasPrefix("Http1 400 ") }.sorted() == expected.sorted(), "\(lines)")
        #expect(badResponses.allSatisfy { $0.hasPrefix("HTTP/1.1 400 ") }, "\(badResponses)")
        #expect(
            refusals.map { $0.split(separator: " ").suffix(8).joined(separator: " ") }.sorted()
                == ["0 - - - - false 0x0 127.0.0.1:\(np)", "0 - - - - false 0x0 127.0.0.1:\(rw)"].sorted(),
            "\(lines)")

        // JSON lines: every one parses with Python's json; numbers are numbers, an absent value is null.
        #expect(S.waitForLines(json, count: 10).count == 10)
        let check = try SkiffProcess.runCommand(
            systemPython,
            ["-c", """
            import json, re, sys
            rows = [json.loads(l) for l in open(sys.argv[1])]
            for r in rows:
                assert re.fullmatch(r"\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}", r["start"]), r
                assert re.fullmatch(r"[0-9.]+(ns|µs|ms|s)", r["d"]), r
                assert r["trace"] is None and isinstance(r["code"], int) and isinstance(r["bytes"], int), r
            print(" ".join(sorted(f'{r["code"]}:{r["path"]}:{r["flags"]}:{r["ua"] is not None}' for r in rows)))
            """, json])
        #expect(check.status == 0, "\(check.output)")
        let nr = "404:/other:NR:True"
        let ok = ["200:/api/a:None:True", "200:/api/echo:None:True", "200:/direct:None:True"]
        let want = (ok + ok + [nr, nr, "400:None:None:False", "400:None:None:False"]).sorted().joined(separator: " ")
        #expect(check.output.trimmingCharacters(in: .whitespacesAndNewlines) == want)

        // MOSN's default format at MOSN's default path: <parent of the config's directory>/logs/np_access.log.
        let mosn = S.waitForLines(dir + "/logs/np_access.log", count: 5)
        #expect(mosn.count == 5)
        let shape = #"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{3} -  \d+ (\d+|-) \S+ \S+ \d+ \d+ Http1 (\d{3}) \S+ (true|false) \d{3} \S+ 127\.0\.0\.1:\#(np) 127\.0\.0\.1:\d+ \S+"#
        let shaped = try SkiffProcess.runCommand(
            systemPython,
            ["-c", "import re,sys\nfor l in open(sys.argv[1]):\n assert re.fullmatch(sys.argv[2], l.rstrip('\\n')), l\n",
             dir + "/logs/np_access.log", shape])
        #expect(shaped.status == 0, "\(shaped.output)\n\(mosn)")
        #expect(mosn.contains { $0.contains(" web-1") && $0.contains(" Http1 200 ") && $0.contains(" false 200 127.0.0.1:\(web.port) ") })
    }

    static let rpcFormat =
        "%protocol% %response_code% %rpc_status% %rpc_service% %rpc_method% %REQ(Service)% %upstream_cluster% "
        + "%RESPONSE_FLAGS% %bytes_received% %downstream_local_address%"

    @Test func boltAndDubboLinesOnBothThreadModels() throws {
        let dir = makeTempDirectory("al-rpc")
        defer { removeTree(dir) }
        for kind in [RPCTestServer.Kind.bolt, .dubbo] {
            let proto = kind == .bolt ? "bolt" : "dubbo"
            let service = kind == .bolt ? "com.test.Echo:1.0" : "com.test.Dubbo"
            let backend = try RPCTestServer(kind: kind, name: "b")
            defer { backend.stop() }
            let path = "\(dir)/\(proto).log"
            let np = freePort()
            let rw = freePort()
            let routes = #"{"match":{"headers":[{"name":"service","value":"\#(service)"}]},"route":{"cluster_name":"b"}}"#
            let config = rpcConfig(
                proto: proto, netpoll: np, rwloop: rw, routes: routes,
                clusters: #"{"name":"b","hosts":[{"address":"127.0.0.1:\#(backend.port)"}]}"#,
                extra: #","access_logs":[{"log_path":"\#(path)","log_format":"\#(Self.rpcFormat)"}]"#)
            let (p, _) = try S.start(config, dir: dir + "/\(proto)")
            defer { p.stop() }
            var expected: [String] = []
            for port in [np, rw] {
                let frame: (Int) -> [UInt8] = { i in
                    kind == .bolt
                        ? RPCFrames.boltRequest(
                            id: i, service: service, content: Array("r\(i)".utf8),
                            extraHeaders: [("sofa_head_method_name", "sayHello")])
                        : RPCFrames.dubboRequest(id: UInt64(i), service: service, method: "hello", payload: "r\(i)")
                }
                let got = try rpcClient(
                    port: port, count: 3, window: 3, frame: frame,
                    responseID: { b in
                        kind == .bolt
                            ? RPCFrames.parseBolt(b).map { ($0.length, $0.id) }
                            : RPCFrames.parseDubbo(b).map { ($0.length, Int($0.id)) }
                    })
                #expect(got.count == 3)
                let s = try TestSocket.connect(port: port)
                defer { s.close() }
                if kind == .bolt {
                    // A heartbeat is answered by Skiff and never logged; a request no route takes is.
                    try s.send(RPCFrames.boltHeartbeat(id: 90))
                    _ = try s.receive(exactly: 20)
                    try s.send(RPCFrames.boltRequest(id: 91, service: "com.none", content: [1]))
                    #expect(RPCFrames.parseBolt(try s.receive(exactly: 20))?.status == 6)
                } else {
                    try s.send(RPCFrames.dubboRequest(id: 91, service: "com.none", method: "m", payload: "x"))
                    var b: [UInt8] = []
                    while RPCFrames.parseDubbo(b) == nil { b += try s.receiveSome() ?? [] }
                    #expect(RPCFrames.parseDubbo(b)?.status == 60)
                }
                let l = "127.0.0.1:\(port)"
                let method = kind == .bolt ? "sayHello" : "hello"
                let ok = kind == .bolt ? "0" : "20"
                for i in 1...3 {
                    expected.append("\(proto) 200 \(ok) \(service) \(method) \(service) b - \(frame(i).count) \(l)")
                }
                let none =
                    kind == .bolt
                    ? RPCFrames.boltRequest(id: 91, service: "com.none", content: [1])
                    : RPCFrames.dubboRequest(id: 91, service: "com.none", method: "m", payload: "x")
                let m = kind == .bolt ? "-" : "m"
                let noRoute = kind == .bolt ? "404 6" : "404 60"
                expected.append("\(proto) \(noRoute) com.none \(m) com.none - NR \(none.count) \(l)")
            }
            let lines = S.waitForLines(path, count: 8)
            #expect(lines.sorted() == expected.sorted(), "\(lines)")
        }
    }

    @Test func tcpProxySessionLines() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let dir = makeTempDirectory("al-tcp")
        defer { removeTree(dir) }
        let path = dir + "/tcp.log"
        let np = freePort()
        let rw = freePort()
        let dead = DeadPort()
        let deadPort = freePort()
        let format =
            "%protocol% %bytes_received% %bytes_sent% %upstream_cluster% %UPSTREAM_HOST% %response_code% "
            + "%RESPONSE_FLAGS% %downstream_local_address% %duration% %request_received_duration%"
        let logs = #""access_logs":[{"log_path":"\#(path)","log_format":"\#(format)"}]"#
        func listener(_ name: String, _ port: Int, _ model: String, _ cluster: String) -> String {
            #"{"name":"\#(name)","address":"127.0.0.1:\#(port)","thread_model":"\#(model)","filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"\#(cluster)"}}]}],\#(logs)}"#
        }
        let config = """
            {"servers":[{"listeners":[\(listener("np", np, "netpoll", "echo")),\(listener("rw", rw, "rwloop", "echo")),
              \(listener("dead", deadPort, "netpoll", "nowhere"))]}],
             "cluster_manager":{"clusters":[{"name":"echo","connect_timeout":"2s","hosts":[{"address":"127.0.0.1:\(echo.port)"}]},
               {"name":"nowhere","connect_timeout":"2s","hosts":[{"address":"127.0.0.1:\(dead.port)"}]}]}}
            """
        let (p, _) = try S.start(config, dir: dir)
        defer { p.stop() }
        for port in [np, rw] {
            #expect(try checkEcho(port: port, bytes: 100_000, seed: UInt64(port)))
            // A session that lasts: held open 300 ms before its few bytes.
            let s = try TestSocket.connect(port: port)
            usleep(300_000)
            try s.send("hello")
            #expect(try s.receive(exactly: 5) == Array("hello".utf8))
            s.shutdownWrite()
            _ = try s.receiveToEOF()
            s.close()
        }
        // The upstream refuses: the session's line says UF.
        let d = try TestSocket.connect(port: deadPort)
        _ = try? d.receiveToEOF()
        d.close()
        let lines = S.waitForLines(path, count: 5)
        #expect(lines.count == 5, "\(lines)")
        let e = "127.0.0.1:\(echo.port)"
        for port in [np, rw] {
            let mine = lines.filter { $0.contains(" 127.0.0.1:\(port) ") }
            #expect(mine.contains { $0.hasPrefix("tcp 100000 100000 echo \(e) 0 - 127.0.0.1:\(port) ") }, "\(mine)")
            let held = try #require(mine.first { $0.hasPrefix("tcp 5 5 echo \(e) 0 - ") }, "\(mine)")
            let duration = String(held.split(separator: " ")[8])
            #expect(duration.hasSuffix("ms") && (Double(duration.dropLast(2)) ?? 0) >= 300, "\(held)")
        }
        #expect(lines.contains { $0.hasPrefix("tcp 0 0 nowhere 127.0.0.1:\(dead.port) 0 UF 127.0.0.1:\(deadPort) ") }, "\(lines)")
    }
}

/// `configs/http1_access_log.json` as shipped (ports and the JSON file's path moved): MOSN's default format on
/// standard output, JSON lines in a file.
@Suite(.serialized) struct AccessLogShippedConfigTests {
    @Test func exampleWritesBothForms() throws {
        let web = try HTTPTestServer(name: "web")
        defer { web.stop() }
        let dir = makeTempDirectory("al-shipped")
        defer { removeTree(dir) }
        let port = freePort()
        let json = dir + "/access.json.log"
        let text = try shippedConfig("http1_access_log.json").replacing("12090", with: "\(port)")
            .replacing("12290", with: "\(web.port)").replacing("/tmp/skiff-http1-access.json.log", with: json)
        let (p, _) = try AccessLogSupport.start(text, dir: dir)
        defer { p.stop() }
        #expect(try curl(["-H", "x-request-id: r-1", "http://127.0.0.1:\(port)/hello"]).output == "web /hello")
        #expect(try curl(["http://127.0.0.1:\(port)/health"]).output == "ok\n")
        let lines = AccessLogSupport.waitForLines(json, count: 2)
        let check = try SkiffProcess.runCommand(
            systemPython,
            ["-c", "import json,sys\nfor l in open(sys.argv[1]): r=json.loads(l); print(r['method'], r['path'], r['status'], r['upstream'], r['flags'], r['request_id'])",
             json])
        #expect(
            check.output.split(separator: "\n").sorted()
                == ["GET /health 200 None None None", "GET /hello 200 127.0.0.1:\(web.port) None r-1"], "\(lines)")
        #expect(
            waitUntil(seconds: 5) { p.output.contains(" Http1 200 ") && p.output.contains("127.0.0.1:\(web.port) ") },
            "\(p.output)")
        #expect(p.output.contains(" web-1\n"), "\(p.output)")
    }
}
