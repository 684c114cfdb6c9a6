import Glibc
import SkiffNet
import SkiffTestSupport
import Testing

@testable import SkiffEngine

/// `/metrics` for TLS listeners and clusters: the `skiff_tls_*` families with their labels, every failure reason
/// (zeros too), plaintext only for inspector listeners, certificate expiry as an epoch gauge; promtool accepts it.
@Suite(.serialized) struct TLSMetricsEngineTests {
    @Test func tlsFamiliesArePrometheusValid() throws {
        let fx = try TLSEngineFixture(publishIntervalMs: 1000)
        defer { fx.stop() }
        // One failed handshake on front (plaintext on a TLS port).
        let wrong = try TestSocket.connect(port: fx.front)
        defer { wrong.close() }
        try wrong.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(waitUntil { fx.endpoint("front")?.stats.failures(.notTLS) == 1 })

        let text = String(decoding: AdminAPI.prometheus(fx.engine), as: UTF8.self)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("# TYPE skiff_tls_handshakes_total counter"))
        #expect(lines.contains("# TYPE skiff_tls_certificate_expiry_seconds gauge"))
        #expect(lines.contains(#"skiff_tls_handshakes_total{listener="front"} 0"#))
        #expect(lines.contains(#"skiff_tls_handshakes_total{cluster="back"} 0"#))
        #expect(lines.contains(#"skiff_tls_resumed_total{listener="back"} 0"#))
        #expect(lines.contains(#"skiff_tls_handshake_failures_total{listener="front",reason="not_tls"} 1"#))
        #expect(lines.contains(#"skiff_tls_handshake_failures_total{cluster="back",reason="timeout"} 0"#))
        // Every reason for every owner (three listeners, one cluster), so rate() has a series from the start.
        let failures = lines.filter { $0.hasPrefix("skiff_tls_handshake_failures_total{") }
        #expect(failures.count == 4 * TLSFailureReason.allCases.count)
        for reason in TLSFailureReason.allCases {
            #expect(failures.contains { $0.contains(#"{listener="mixed",reason="\#(reason)"}"#) })
        }
        // Plaintext: the inspector listener only.
        #expect(lines.filter { $0.hasPrefix("skiff_tls_plaintext_total{") } == [#"skiff_tls_plaintext_total{listener="mixed"} 0"#])
        #expect(lines.contains(#"skiff_tls_records_total{cluster="back"} 0"#))
        #expect(lines.contains(#"skiff_tls_writes_total{listener="front"} 0"#))
        let expiry = try #require(fx.endpoint("front")?.contexts.all[0].leafNotAfter)
        #expect(lines.contains(#"skiff_tls_certificate_expiry_seconds{listener="front"} \#(expiry)"#))
        // The cluster presents no certificate: no expiry series for it. The plaintext cluster has no TLS series.
        #expect(!lines.contains { $0.hasPrefix(#"skiff_tls_certificate_expiry_seconds{cluster="#) })
        #expect(!lines.contains { $0.hasPrefix("skiff_tls_") && $0.contains(#"cluster="echo""#) })

        // promtool's findings, less MOSN's counter names kept without _total (docs/metrics.md).
        #expect(try PromtoolCheck.problems(text) == [])
    }
}
