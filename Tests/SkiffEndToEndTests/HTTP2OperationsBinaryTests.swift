import Glibc
import SkiffTestSupport
import Testing

/// What an operator sees and does with HTTP/2 listeners: streams in the live request tap (`skiff ctl requests`, the
/// console's Requests view), and a graceful stop that lets a stream under way finish.
@Suite(.serialized) struct HTTP2OperationsBinaryTests {
    @Test func requestTapShowsHTTP2AndGRPCStreams() throws {
        let rig = try HTTP2Rig(tag: "h2-tap")
        defer { rig.stop() }
        let watcher = try SkiffProcess(["ctl", "requests", "--json", "--count", "2", "--for", "20s", "--socket", rig.socket])
        defer { watcher.stop() }
        #expect(watcher.waitForOutput("watching requests", seconds: 10), "\(watcher.output)")
        let unary = try HTTP2Peers.grpc(rig.netpoll, "Unary", ["--payload", "tapped"])
        #expect(unary.contains(#""code": "OK""#), "\(unary)")
        let curl = try SkiffProcess.runCommand(
            "/usr/bin/curl", ["-s", "--http2-prior-knowledge", "--max-time", "5", "http://127.0.0.1:\(rig.rwloop)/plain/tap"])
        #expect(curl.output.contains("GET /plain/tap"), "\(curl.output)")
        _ = watcher.waitForExit(seconds: 15)
        let out = watcher.output
        #expect(out.contains(#""proto":"grpc""#) && out.contains(#""path":"/skiff.test.Echo/Unary""#), "\(out)")
        #expect(out.contains(#""proto":"h2""#) && out.contains(#""path":"/plain/tap""#), "\(out)")
        #expect(out.contains(#""status":200"#), "\(out)")
    }

    /// One access log line per stream on both listeners: a gRPC call, a request with no route (NR), a call the client
    /// cancels (DC), in the listener's format with `%protocol%` Http2 and the stream's own pseudo-headers.
    @Test func accessLogsWriteALinePerStream() throws {
        let format = "%protocol% %response_code% %REQ(:path)% %RESPONSE_FLAGS% %bytes_received% %bytes_sent% %upstream_cluster%"
        let rig = try HTTP2Rig(tag: "h2-access-log") { dir in
            #"[{"log_path":"\#(dir)/access.log","log_format":"\#(format)"}]"#
        }
        defer { rig.stop() }
        for port in rig.listeners {
            let unary = try HTTP2Peers.grpc(port, "Unary", ["--payload", "logged"])
            #expect(unary.contains(#""code": "OK""#), "\(unary)")
            _ = try SkiffProcess.runCommand(
                "/usr/bin/curl", ["-s", "--http2-prior-knowledge", "--max-time", "5", "http://127.0.0.1:\(port)/nowhere"])
            _ = try HTTP2Peers.grpc(port, "Slow", ["--cancel-after-ms", "200"])
        }
        var lines: [Substring] = []
        for _ in 0..<50 {
            let text = String(decoding: (try? readFile(rig.dir + "/access.log")) ?? [], as: UTF8.self)
            lines = text.split(separator: "\n")
            if lines.count >= 6 { break }
            usleep(100_000)
        }
        #expect(lines.count == 6, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("Http2 200 /skiff.test.Echo/Unary - 11 11 grpc") }.count == 2, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("Http2 404 /nowhere NR 0 17") }.count == 2, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("Http2 0 /skiff.test.Echo/Slow DC") }.count == 2, "\(lines)")
    }

    /// SIGTERM with a stream under way: the client gets GOAWAY, the stream still gets its whole response, and Skiff
    /// exits once it is done.
    @Test func gracefulStopLetsStreamsFinish() throws {
        let rig = try HTTP2Rig(tag: "h2-stop")
        defer { rig.stop() }
        let python = try XDSPeers.withXDSProtos()
        let script = """
            import grpc, time
            ch = grpc.insecure_channel("127.0.0.1:\(rig.rwloop)")
            fn = ch.unary_unary("/skiff.test.Echo/Unary")
            print(fn(b"warm", timeout=5).decode(), flush=True)
            slow = ch.unary_unary("/skiff.test.Echo/Slow")
            print(slow(b"finished", timeout=10, metadata=(("x-sleep-ms", "700"),)).decode(), flush=True)
            """
        let client = try SkiffProcess(executable: python, ["-c", script])
        defer { client.stop() }
        #expect(client.waitForOutput("warm", seconds: 20), "\(client.output)")
        usleep(200_000)
        rig.skiff.signal(SIGTERM)
        #expect(client.waitForExit(seconds: 15) == 0, "\(client.output)")
        #expect(client.output.contains("finished"), "the stream under way completes: \(client.output)")
        #expect(rig.skiff.waitForExit(seconds: 15) != nil, "skiff exits after its streams: \(rig.skiff.output)")
    }
}
