import Glibc
import SkiffTestSupport
import Testing

/// MOSN's slow-start sample (`configs/mosn_slow_start_sample.json`, byte for byte mosn/mosn's
/// examples/codes/slow-start-sample/config.json at 707d635) runs unchanged apart from its addresses: weighted round
/// robin over three hosts of weights 1, 2 and 3, a 30 s slow start, and an `http1` health check without a path, which
/// MOSN (and now Skiff, with one warning) runs as a TCP connect.
@Suite(.serialized) struct MOSNSlowStartSampleBinaryTests {
    @Test func runsUnchangedApartFromAddresses() throws {
        let hosts = try (0..<3).map { try HTTPTestServer(name: "w\($0 + 1)") }
        defer { for h in hosts { h.stop() } }
        let (port, admin) = (freePort(), freePort())
        var text = try shippedConfig("mosn_slow_start_sample.json").replacing("127.0.0.1:2046", with: "127.0.0.1:\(port)")
            .replacing("\"0.0.0.0\"", with: "\"127.0.0.1\"").replacing("34902", with: "\(admin)")
        for (i, h) in hosts.enumerated() { text = text.replacing("127.0.0.1:808\(i)", with: "127.0.0.1:\(h.port)") }
        let path = try writeTempFile(text)
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(p.output.contains("http_check_config: missing: protocol Http1 without a path checks with a TCP connect"))

        // Every host ramps from start, together: the split follows the weights 1:2:3.
        let client = try AccessLogSupport.KeepAlive(port: port)
        for _ in 0..<600 { #expect(try client.get("/w").status == 200) }
        let counts = hosts.map { $0.count(path: "/w") }
        #expect(counts[0] > 50 && counts[0] < 150 && counts[2] > 220 && counts[2] < 380, "\(counts)")

        // The check is a TCP connect (the hosts see no HTTP request from it), every second.
        _ = waitUntil(seconds: 5) { (try? adminRequest(admin, "GET", "/metrics").body.contains("healthcheck_success")) == true }
        let metrics = try adminRequest(admin, "GET", "/metrics").body
        let successes = metrics.split(separator: "\n").first { $0.hasPrefix("healthcheck_success{") }
        #expect(successes.map { !$0.hasSuffix(" 0") } == true, "\(successes ?? "none")")
        #expect(hosts.allSatisfy { $0.count(path: "/") == 0 })
        let clusters = try adminRequest(admin, "GET", "/api/v1/clusters").body
        #expect(clusters.contains("slow_start_percent"), "\(clusters.prefix(400))")
    }
}
