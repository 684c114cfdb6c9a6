import Glibc
import SkiffNet
import SkiffTestSupport
import Testing

/// HTTP/2 listeners in front of real peers on both thread models: grpcio's client and server (unary, server, client
/// and bidirectional streaming, trailers, deadlines, cancellation, Skiff's own gRPC errors), hyper-h2 as a strict
/// upstream and client (bodies, trailers, an upstream reset), curl and h2load.
@Suite(.serialized) struct HTTP2ProxyBinaryTests {
    @Test func grpcCallsOfEveryShapePassThroughWithTrailers() throws {
        let rig = try HTTP2Rig(tag: "h2-grpc")
        defer { rig.stop() }
        for port in rig.listeners {
            let unary = try HTTP2Peers.grpc(port, "Unary", ["--payload", "ping"])
            #expect(unary.contains(#""code": "OK""#) && unary.contains(#""replies": ["ping"]"#), "\(port): \(unary)")
            #expect(unary.contains(#""x-peer-trailer": "unary""#), "the server's trailers arrive: \(unary)")
            let stream = try HTTP2Peers.grpc(port, "Stream", ["--count", "200"])
            #expect(stream.contains(#""code": "OK""#) && stream.contains("\"199:"), "\(port): \(stream.prefix(300))")
            let collect = try HTTP2Peers.grpc(
                port, "Collect", ["--count", "50", "--payload", String(repeating: "c", count: 1000)])
            #expect(collect.contains(#""replies": ["n=50 bytes=50000"]"#), "\(port): \(collect)")
            let chat = try HTTP2Peers.grpc(port, "Chat", ["--count", "20"])
            #expect(chat.contains(#""code": "OK""#) && chat.contains("hello19"), "\(port): \(chat.prefix(300))")
            let failed = try HTTP2Peers.grpc(port, "Unary", ["--meta", "x-fail=9"])
            #expect(failed.contains(#""code": "FAILED_PRECONDITION""#), "the server's own status passes: \(failed)")
        }
        #expect(try rig.metric("downstream_request_total", listener: "h2np") == 5)
        #expect(try rig.metric("downstream_request_total", listener: "h2rw") == 5)
    }

    /// An `Auto` listener recognises the HTTP/2 preface beside HTTP/1.1 on the same port.
    @Test func autoListenerServesHTTP2AndHTTP1() throws {
        let rig = try HTTP2Rig(tag: "h2-auto")
        defer { rig.stop() }
        let unary = try HTTP2Peers.grpc(rig.auto, "Unary", ["--payload", "via-auto"])
        #expect(unary.contains(#""replies": ["via-auto"]"#), "\(unary)")
        let strict = try HTTP2Peers.h2Case(rig.auto, "get")
        #expect(strict.contains("POST /plain/post bytes=100000"), "\(strict)")
        let http1 = try SkiffProcess.runCommand(
            "/usr/bin/curl", ["-s", "--http1.1", "--max-time", "5", "http://127.0.0.1:\(rig.auto)/health"])
        #expect(http1.output == "ok\n", "\(http1.output)")
        // Both count in the listener's HTTP stats; the HTTP/2 connections in its h2 families.
        #expect(try rig.metric("downstream_request_total", listener: "auto") == 4)
        #expect(try rig.metric("skiff_http2_connections_total", listener: "auto") == 2)
    }

    @Test func skiffAnswersGRPCRequestsWithGRPCErrors() throws {
        let rig = try HTTP2Rig(tag: "h2-grpc-errors")
        defer { rig.stop() }
        for port in rig.listeners {
            // No upstream to connect to: 14 UNAVAILABLE, said by Skiff.
            let python = try XDSPeers.withXDSProtos()
            let probe = """
                import grpc, sys
                ch = grpc.insecure_channel("127.0.0.1:\(port)")
                try:
                    ch.unary_unary("/skiff.gone.Svc/M")(b"x", timeout=5)
                    print("OK")
                except grpc.RpcError as e:
                    print(e.code().name, e.details(), dict(e.trailing_metadata() or ()).get("server"))
                """
            let unavailable = try SkiffProcess.runCommand(python, ["-c", probe], timeoutSeconds: 30)
            #expect(unavailable.output.contains("UNAVAILABLE upstream connect failure skiff"), "\(unavailable.output)")
            // The route's 1 s timeout before the server's 3 s answer: 4 DEADLINE_EXCEEDED, said by Skiff.
            let slow = try HTTP2Peers.grpc(port, "Slow", ["--meta", "x-sleep-ms=3000"])
            #expect(slow.contains(#""code": "DEADLINE_EXCEEDED""#), "\(slow)")
            #expect(slow.contains(#""x-skiff-reason": "upstream request timeout""#), "\(slow)")
            // The client cancels: the upstream stream is reset too, and the server sees it go.
            let cancelled = try HTTP2Peers.grpc(port, "Slow", ["--cancel-after-ms", "200"])
            #expect(cancelled.contains(#""code": "CANCELLED""#), "\(cancelled)")
        }
        for name in ["h2np", "h2rw"] {
            #expect(try rig.metric("skiff_http2_client_resets_total", listener: name) >= 1, "\(name)")
        }
        // Each call to the missing host: a connect, and one more on a fresh connection (nothing had been sent).
        let conFail = try rig.metric("upstream_connection_con_fail", label: #"cluster="gone""#)
        #expect(conFail == 4, "\(conFail)")
        #expect(try rig.metric("upstream_request_timeout", label: #"cluster="grpc""#) == 2)
    }

    /// `grpc-timeout` shorter than the route's: Skiff ends the call itself at the deadline, even though the upstream
    /// (hyper-h2 here) never looks at the header.
    @Test func grpcTimeoutIsHonouredBySkiff() throws {
        let rig = try HTTP2Rig(tag: "h2-grpc-timeout")
        defer { rig.stop() }
        for port in rig.listeners {
            let t0 = MonotonicClock.now()
            let r = try SkiffProcess.runCommand(
                "/usr/bin/curl",
                [
                    "-s", "-i", "--http2-prior-knowledge", "--max-time", "10", "-H", "content-type: application/grpc",
                    "-H", "te: trailers", "-H", "grpc-timeout: 300m", "-H", "x-sleep-ms: 1500", "--data-binary", "x",
                    "http://127.0.0.1:\(port)/plain/slow",
                ])
            let ms = (MonotonicClock.now() - t0) / 1_000_000
            #expect(r.output.contains("grpc-status: 4"), "\(r.output)")
            #expect(r.output.contains("x-skiff-reason: upstream request timeout"), "\(r.output)")
            #expect(ms < 1200, "answered at the 300 ms deadline, not the route's 2 s: \(ms) ms")
            // A deadline too far to add to the clock is no deadline (it once wrapped into the past: instant 4).
            let far = try SkiffProcess.runCommand(
                "/usr/bin/curl",
                [
                    "-s", "--http2-prior-knowledge", "--max-time", "10", "-H", "grpc-timeout: 99999999H",
                    "http://127.0.0.1:\(port)/plain/far",
                ])
            #expect(far.output == "GET /plain/far bytes=0", "\(far.output)")
        }
    }

    @Test func strictPeerBodiesTrailersAndUpstreamReset() throws {
        let rig = try HTTP2Rig(tag: "h2-strict")
        defer { rig.stop() }
        for port in rig.listeners {
            let got = try HTTP2Peers.h2Case(port, "get")
            #expect(got.contains("GET /plain/get bytes=0"), "\(got)")
            #expect(got.contains("POST /plain/post bytes=100000"), "a 100 kB body through both windows: \(got)")
            #expect(got.contains(#""trailers": {"x-trailer": "done"}"#), "\(got)")
            // The upstream resets after its headers and 5 bytes: the client's stream is reset, not completed.
            let r = try SkiffProcess.runCommand(
                "/usr/bin/curl",
                [
                    "-s", "--http2-prior-knowledge", "--max-time", "5", "-H", "x-reset: 1",
                    "http://127.0.0.1:\(port)/plain/r",
                ])
            #expect(r.status != 0, "curl must see the stream reset: \(r.output)")
        }
        #expect(try rig.metric("skiff_http2_upstream_resets_total", listener: "h2np") == 1)
        #expect(try rig.metric("skiff_http2_upstream_resets_total", listener: "h2rw") == 1)
    }

    /// A client that sends FIN with a request body unfinished: the stream is reset and the connection ends at once
    /// (it held the stream, its upstream stream and its cluster slot until the route timeout).
    @Test func finWithAnUnfinishedRequestEndsTheConnection() throws {
        let rig = try HTTP2Rig(tag: "h2-half-open", idle: "20s")
        defer { rig.stop() }
        for port in rig.listeners {
            let r = try HTTP2Peers.h2Case(port, "half-open")
            #expect(r.contains(#""reset": 8"#) && r.contains(#""eof": true"#), "\(port): \(r)")
            #expect(r.contains(#""seconds": 0."#), "\(r)")
        }
    }

    /// The upstream breaks the protocol (DATA on stream 0): libnghttp2 ends that session, and the streams on it are
    /// answered 503 at once instead of waiting for the route timeout.
    @Test func anUpstreamConnectionErrorFailsItsStreamsAtOnce() throws {
        let rig = try HTTP2Rig(tag: "h2-upstream-break")
        defer { rig.stop() }
        for port in rig.listeners {
            let t0 = MonotonicClock.now()
            let r = try SkiffProcess.runCommand(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge", "--max-time", "10", "-H",
                    "x-break: 1", "http://127.0.0.1:\(port)/plain/break",
                ])
            let ms = (MonotonicClock.now() - t0) / 1_000_000
            #expect(r.output == "503", "\(port): \(r.output)")
            #expect(ms < 1500, "before the route's 2 s timeout: \(ms) ms")
        }
    }

    /// A client connection that grants no window holds 20 streams of 100 kB on the upstream connection its executor
    /// shares with every other client: the others are still served (the shared connection's window is given back as
    /// bytes arrive; only each stalled stream's own window stays shut).
    @Test(.enabled(if: access("/usr/bin/h2load", X_OK) == 0 && NginxProxy.isInstalled, "needs h2load and nginx"))
    func aStalledClientDoesNotBlockTheSharedUpstream() throws {
        let nginx = try NginxH2Backend()
        defer { nginx.stop() }
        let dir = makeTempDirectory("h2-stall")
        defer { removeTree(dir) }
        let port = freePort()
        let listener =
            #"{"name":"np","address":"127.0.0.1:\#(port)","thread_model":"netpoll","pollers":1,"filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http2","upstream_protocol":"Http2","router_config_name":"r"}}]}]}"#
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
               {"match":{"prefix":"/"},"route":{"cluster_name":"nginx","timeout":"30s"}}]}]}],"listeners":[\(listener)]}],
             "cluster_manager":{"clusters":[{"name":"nginx","hosts":[{"address":"127.0.0.1:\(nginx.port)"}]}]}}
            """
        let (p, _) = try AccessLogSupport.start(config, dir: dir)
        defer { p.stop() }
        let python = try XDSPeers.withXDSProtos()
        let staller = try SkiffProcess(
            executable: python, [HTTP2Peers.h2Script, "client", "\(port)", "stall", "/100k"])
        defer { staller.stop() }
        usleep(1_500_000)
        let load = try SkiffProcess.runCommand(
            "/usr/bin/h2load", ["-n", "200", "-c", "1", "-m", "10", "http://127.0.0.1:\(port)/4k"], timeoutSeconds: 20)
        #expect(load.output.contains("200 succeeded, 0 failed, 0 errored"), "\(load.output)")
    }

    /// A client that sends FIN right after its request still gets the answer, then the connection ends (it used to
    /// stay half-open until the idle timeout).
    @Test func halfClosedClientGetsItsAnswerThenEOF() throws {
        let rig = try HTTP2Rig(tag: "h2-half-close", idle: "20s")
        defer { rig.stop() }
        for port in rig.listeners {
            let r = try HTTP2Peers.h2Case(port, "half-close")
            #expect(r.contains("GET /plain/half bytes=0") && r.contains(#""eof": true"#), "\(port): \(r)")
            #expect(!r.contains(#""seconds": 1"#), "EOF long before the idle timeout: \(r)")
        }
    }

    /// 3,000 responses of 4 KiB (12 MB) from nginx through the upstream connection each executor shares: every byte
    /// the client takes is given back to that connection's 1 MiB window, including bytes of upstream streams that
    /// had already closed (once lost, and the connection stalled for good after about 16,000 small responses).
    @Test(.enabled(if: access("/usr/bin/h2load", X_OK) == 0 && NginxProxy.isInstalled, "needs h2load and nginx"))
    func manyStreamsKeepTheSharedUpstreamWindowOpen() throws {
        let nginx = try NginxH2Backend()
        defer { nginx.stop() }
        let dir = makeTempDirectory("h2-window")
        defer { removeTree(dir) }
        let (np, rw, admin) = (freePort(), freePort(), freePort())
        func listener(_ name: String, _ port: Int, _ model: String) -> String {
            #"{"name":"\#(name)","address":"127.0.0.1:\#(port)","thread_model":"\#(model)","pollers":1,"filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http2","upstream_protocol":"Http2","router_config_name":"r"}}]}]}"#
        }
        let config = """
            {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
               {"match":{"prefix":"/"},"route":{"cluster_name":"nginx"}}]}]}],
              "listeners":[\(listener("np", np, "netpoll")),\(listener("rw", rw, "rwloop"))]}],
             "cluster_manager":{"clusters":[{"name":"nginx","hosts":[{"address":"127.0.0.1:\(nginx.port)"}]}]},
             "admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":\(admin)}}}}
            """
        let (p, _) = try AccessLogSupport.start(config, dir: dir)
        defer { p.stop() }
        for port in [np, rw] {
            let load = try SkiffProcess.runCommand(
                "/usr/bin/h2load", ["-n", "3000", "-c", "2", "-m", "20", "http://127.0.0.1:\(port)/4k"],
                timeoutSeconds: 60)
            #expect(load.output.contains("3000 succeeded, 0 failed, 0 errored"), "\(port): \(load.output)")
        }
        // Multiplexed: a connection or two per executor, not one per stream.
        let (_, metrics) = try adminRequest(admin, "GET", "/metrics")
        let opened = metrics.split(separator: "\n").first { $0.hasPrefix("upstream_connection_total{") }
        let count = opened.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? -1
        #expect(count >= 1 && count <= 6, "\(opened ?? "none")")
    }

    @Test(.enabled(if: access("/usr/bin/h2load", X_OK) == 0, "needs h2load (nghttp2-client)"))
    func curlAndH2loadThroughBothModels() throws {
        let rig = try HTTP2Rig(tag: "h2-load")
        defer { rig.stop() }
        for port in rig.listeners {
            let health = try SkiffProcess.runCommand(
                "/usr/bin/curl",
                ["-s", "--http2-prior-knowledge", "--max-time", "5", "http://127.0.0.1:\(port)/health"])
            #expect(health.output == "ok\n", "\(health.output)")
            let moved = try SkiffProcess.runCommand(
                "/usr/bin/curl",
                [
                    "-s", "--http2-prior-knowledge", "--max-time", "5", "-o", "/dev/null", "-w",
                    "%{http_code} %{redirect_url}",
                    "http://127.0.0.1:\(port)/old/x",
                ])
            #expect(moved.output == "301 http://127.0.0.1:\(port)/new", "\(moved.output)")
            let load = try SkiffProcess.runCommand(
                "/usr/bin/h2load", ["-n", "600", "-c", "2", "-m", "20", "http://127.0.0.1:\(port)/plain/load"],
                timeoutSeconds: 60)
            #expect(load.output.contains("600 succeeded, 0 failed, 0 errored"), "\(load.output)")
            #expect(load.output.contains("600 2xx"), "\(load.output)")
        }
    }
}
