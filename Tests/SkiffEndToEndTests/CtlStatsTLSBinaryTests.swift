import Glibc
import SkiffTestSupport
import Testing

/// `skiff ctl stats` lists the TLS listeners and clusters of the frame it gets (here from a stand-in control socket
/// served by Python, since no config can turn TLS on until the decoder reads `tls_context`): handshakes, resumed,
/// inspector plaintext, failures with their reasons, records per write and certificate expiry; nothing when no
/// listener or cluster speaks TLS.
@Suite struct CtlStatsTLSBinaryTests {
    /// A `stats` reply: http (TLS, inspector), tcp (plaintext), cluster c1 (TLS without a client certificate).
    static let tlsReply = #"""
        {"id":1,"ok":true,"server":{"state":"running","engine_errors":0},"frame":{"type":"frame","seq":3,
         "ts":1795768000000,"pid":4242,"version":"0.4.0",
         "listeners":[
          {"name":"http","address":"127.0.0.1:8443","model":"netpoll","protocol":"Http1","cx_active":1,"cx_total":2,
           "rq_total":5,"writes":{},
           "tls":{"handshakes":1200,"resumed":300,"plaintext":7,"failures":{"timeout":1,"unknown_sni":3},
                  "records":900,"writes":600,"cert_expiry":1830331600}},
          {"name":"tcp","address":"127.0.0.1:9000","model":"rwloop","protocol":"tcp","sessions":1,"writes":{}}],
         "clusters":[{"name":"c1","lb":"LB_ROUNDROBIN","latency":{},"writes":{},"hosts":[],
           "tls":{"handshakes":40,"resumed":0,"failures":{},"records":80,"writes":80}}],
         "threads":{}}}
        """#.filter { $0 != "\n" }

    static let plainReply = #"""
        {"id":1,"ok":true,"frame":{"type":"frame","ts":1795768000000,"listeners":[{"name":"tcp","writes":{}}],
         "clusters":[],"threads":{}}}
        """#.filter { $0 != "\n" }

    @Test func statsListsTheTLSCounters() throws {
        let sock = "/tmp/skiff-test-\(getpid())-tlsctl-\(UInt32.random(in: 0...UInt32.max)).sock"
        let (server, script) = try startPython(
            """
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            s.bind(sys.argv[1]); s.listen(4); s.settimeout(30)
            for reply in sys.argv[2:]:
                c, _ = s.accept()
                f = c.makefile("rb")
                f.readline()
                c.sendall(reply.encode() + b"\\n")
                c.close()
            """, [sock, Self.tlsReply, Self.plainReply])
        defer {
            server.kill()
            unlink(script)
            unlink(sock)
        }
        #expect(waitUntil(seconds: 10) { access(sock, F_OK) == 0 })

        let r = try SkiffProcess.run(["ctl", "stats", "--socket", sock], timeoutSeconds: 20)
        #expect(r.status == 0, "\(r.output)")
        let lines = r.output.split(separator: "\n").map(String.init)
        let header = try #require(lines.first { $0.hasPrefix("TLS ") }, "\(r.output)")
        #expect(header.contains("HANDSHAKES") && header.contains("FAILED") && header.hasSuffix("CERT EXPIRES"))
        let http = try #require(lines.first { $0.hasPrefix("listener http ") }, "\(r.output)")
        #expect(http.contains("1.2k") && http.contains("300") && http.contains(" 7 "), "\(http)")
        #expect(http.contains("4 (unknown_sni 3, timeout 1)"), "\(http)")
        #expect(http.contains(" 1.5 "), "\(http)")
        #expect(http.hasSuffix("2028-01-01 09:26 UTC, in 400 days"), "\(http)")
        let cluster = try #require(lines.first { $0.hasPrefix("cluster c1 ") }, "\(r.output)")
        #expect(cluster.contains(" 40 ") && cluster.contains(" 1.0 ") && cluster.hasSuffix(" -"), "\(cluster)")
        #expect(!lines.contains { $0.hasPrefix("listener tcp") })

        // No TLS anywhere: no TLS table.
        let plain = try SkiffProcess.run(["ctl", "stats", "--socket", sock], timeoutSeconds: 20)
        #expect(plain.status == 0, "\(plain.output)")
        #expect(!plain.output.contains("HANDSHAKES"), "\(plain.output)")
    }
}
