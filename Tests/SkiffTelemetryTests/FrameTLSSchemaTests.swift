import SkiffJSON
import Testing

@testable import SkiffTelemetry

/// The TLS members of frames: a connection's `tls` and a listener's or cluster's `tls` round-trip, carry the
/// documented keys, stay absent for plaintext, and decode tolerantly.
@Suite struct FrameTLSSchemaTests {
    typealias Frame = TelemetryFrame

    static var connectionTLS: Frame.ConnectionTLS {
        var t = Frame.ConnectionTLS()
        (t.version, t.cipher, t.sni, t.alpn, t.resumed) = ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "api.example", "h2", true)
        (t.peerCN, t.peerSANs) = ("client-1", "DNS:client-1, URI:spiffe://example/client")
        return t
    }

    static var counters: Frame.TLS {
        var t = Frame.TLS()
        (t.handshakes, t.resumed, t.plaintext) = (120, 30, 4)
        t.failures = ["unknown_sni": 3, "timeout": 1, "not_tls": 2]
        (t.records, t.writes, t.certExpiry) = (900, 600, 2_111_905_866)
        return t
    }

    /// FrameSchemaTests' every-member frame with every TLS member set too.
    static var populated: Frame {
        var f = FrameSchemaTests.populated
        f.listeners[0].tls = counters
        f.clusters[0].tls = counters
        f.connections?.changed?[0].tls = connectionTLS
        f.connections?.table?[0].tls = connectionTLS
        return f
    }

    @Test func everyTLSMemberIsSetAndRoundTrips() throws {
        let f = Self.populated
        #expect(FrameSchemaTests.defaults(in: f.jsonValue) == [])
        let bytes = f.jsonBytes
        let back = Frame(json: try JSONParser.parse(bytes))
        #expect(back == f)
        #expect(back.jsonBytes == bytes)
        #expect(back.listeners[0].tls == Self.counters)
        #expect(back.connections?.changed?[0].tls == Self.connectionTLS)
        #expect(TelemetryLine(json: try JSONParser.parse(bytes)) == .frame(f))
    }

    @Test func wireKeysAreTheDocumentedOnes() throws {
        let v = try JSONParser.parse(Self.populated.jsonBytes)
        let listener = v["listeners"]?.arrayValue.first
        #expect(FrameSchemaTests.keys(listener).last == "tls")
        #expect(
            FrameSchemaTests.keys(listener?["tls"])
                == ["handshakes", "resumed", "plaintext", "failures", "records", "writes", "cert_expiry"])
        // Failures by reason, sorted by name on the wire.
        #expect(FrameSchemaTests.keys(listener?["tls"]?["failures"]) == ["not_tls", "timeout", "unknown_sni"])
        #expect(listener?["tls"]?["failures"]?["unknown_sni"]?.uint == 3)
        let cluster = v["clusters"]?.arrayValue.first
        #expect(FrameSchemaTests.keys(cluster).last == "tls")
        let connection = v["connections"]?["changed"]?.arrayValue.first
        #expect(FrameSchemaTests.keys(connection).last == "tls")
        #expect(
            FrameSchemaTests.keys(connection?["tls"])
                == ["version", "cipher", "sni", "alpn", "resumed", "peer_cn", "peer_sans"])
    }

    /// Plaintext costs nothing: no `tls` on a plaintext connection, listener or cluster. Counters of a plain TLS
    /// listener carry no `plaintext`, a cluster without a client certificate no `cert_expiry`; `failures` is `{}`.
    @Test func plaintextCarriesNoTLSMembers() throws {
        #expect(try JSONParser.parse(Frame.Connection().jsonBytes)["tls"] == nil)
        #expect(try JSONParser.parse(Frame.Listener().jsonBytes)["tls"] == nil)
        #expect(try JSONParser.parse(Frame.Cluster().jsonBytes)["tls"] == nil)
        let bare = Frame.TLS()
        #expect(String(decoding: bare.jsonBytes, as: UTF8.self) == #"{"handshakes":0,"resumed":0,"failures":{},"records":0,"writes":0}"#)
        #expect(Frame.TLS(json: try JSONParser.parse(bare.jsonBytes)) == bare)
        // A plaintext connection record is as long as before TLS existed.
        var plain = FrameSchemaTests.populated.connections!.changed![0]
        plain.tls = nil
        #expect(!String(decoding: plain.jsonBytes, as: UTF8.self).contains("tls"))
    }

    @Test func decodingIsTolerant() throws {
        let text = #"""
            {"handshakes":"7","failures":{"timeout":2,"other":"x","peer_closed":-1,"timeout":9},"cert_expiry":"soon",
             "records":5}
            """#
        let t = Frame.TLS(json: try JSONParser.parse(text))
        #expect(t.handshakes == 0 && t.records == 5 && t.certExpiry == nil)
        // Non-numbers are skipped, negatives clamp to 0, the first of a repeated key wins.
        #expect(t.failures == ["timeout": 2, "peer_closed": 0])
        let conn = Frame.Connection(json: try JSONParser.parse(#"{"id":3,"tls":"TLSv1.3"}"#))
        #expect(conn.id == 3 && conn.tls == nil)
        let reversed = Frame.TLS(json: try JSONParser.parse(#"{"cert_expiry":10,"failures":{"b":1,"a":2},"handshakes":1}"#))
        #expect(reversed.handshakes == 1 && reversed.certExpiry == 10 && reversed.failures == ["a": 2, "b": 1])
    }

    @Test func derivedFigures() {
        let t = Self.counters
        #expect(t.totalFailures == 6)
        #expect(t.recordsPerWrite == 1.5)
        #expect(Frame.TLS().recordsPerWrite == 0)
        #expect(Self.connectionTLS.shortVersion == "TLS1.3")
        var odd = Frame.ConnectionTLS()
        odd.version = "DTLSv1.2"
        #expect(odd.shortVersion == "DTLSv1.2")
    }
}

/// Certificate expiry as people read it: a UTC date and the days left, from a frame's time.
@Suite struct CertificateExpiryTests {
    @Test func datesAreUTC() {
        #expect(CertificateExpiry.date(0) == "1970-01-01 00:00 UTC")
        #expect(CertificateExpiry.date(2_111_905_866) == "2036-12-03 08:31 UTC")
        #expect(CertificateExpiry.date(951_825_600) == "2000-02-29 12:00 UTC")  // a leap day
        #expect(CertificateExpiry.date(4_107_542_399) == "2100-02-28 23:59 UTC")  // 2100 is not a leap year
        #expect(CertificateExpiry.date(-1) == "1969-12-31 23:59 UTC")
    }

    @Test func distanceFromTheFrameTime() {
        let exp = 2_111_905_866
        let now = UInt64(exp - 3650 * 86_400) * 1000
        #expect(CertificateExpiry.relative(exp, nowMs: now) == "in 3650 days")
        #expect(CertificateExpiry.daysLeft(exp, nowMs: now) == 3650)
        #expect(CertificateExpiry.relative(exp, nowMs: UInt64(exp - 86_400 - 5) * 1000) == "in 1 day")
        #expect(CertificateExpiry.relative(exp, nowMs: UInt64(exp - 60) * 1000) == "in less than a day")
        #expect(CertificateExpiry.daysLeft(exp, nowMs: UInt64(exp - 60) * 1000) == 0)
        #expect(CertificateExpiry.relative(exp, nowMs: UInt64(exp + 60) * 1000) == "expired less than a day ago")
        #expect(CertificateExpiry.daysLeft(exp, nowMs: UInt64(exp + 60) * 1000) == -1)
        #expect(CertificateExpiry.relative(exp, nowMs: UInt64(exp + 3 * 86_400) * 1000) == "expired 3 days ago")
        #expect(CertificateExpiry.text(exp, nowMs: now) == "2036-12-03 08:31 UTC, in 3650 days")
    }
}
