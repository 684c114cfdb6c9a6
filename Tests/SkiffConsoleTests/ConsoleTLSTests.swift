import SkiffTelemetry
import Testing

@testable import SkiffConsole

/// TLS in the console, from frames encoded as the publisher sends them: the Connections view's TLS and SNI/CN
/// columns (only when something speaks TLS; SNI/CN is the first to go on a narrow screen), the connection panel's
/// handshake results, and the listener and cluster panels' counters and certificate expiry.
@Suite struct ConsoleTLSTests {
    typealias Frame = TelemetryFrame

    static func tlsConnection(sni: String, peerCN: String = "", sans: String = "") -> Frame.ConnectionTLS {
        var t = Frame.ConnectionTLS()
        (t.version, t.cipher, t.sni, t.alpn, t.resumed) = ("TLSv1.3", "TLS_AES_256_GCM_SHA384", sni, "http/1.1", false)
        (t.peerCN, t.peerSANs) = (peerCN, sans)
        return t
    }

    /// http_in and c1 speak TLS: 3 days of `ts` before the listener's certificate expires, none for the cluster's.
    static func counters(expiresInDays days: Int?, plaintext: UInt64? = nil) -> Frame.TLS {
        var t = Frame.TLS()
        (t.handshakes, t.resumed, t.plaintext) = (200, 50, plaintext)
        t.failures = ["unknown_sni": 3, "timeout": 1, "not_tls": 3]
        (t.records, t.writes) = (900, 600)
        t.certExpiry = days.map { Int(Fixtures.t0 / 1000) + $0 * 86_400 + 3600 }
        return t
    }

    /// f1 with TLS on http_in (inspector) and c1; connections: a TLS client of http_in, a plaintext tcp_in one and a
    /// TLS upstream connection of c1, and a resumed inbound one with a client certificate.
    static func frame(listenerExpiryDays: Int? = 400) -> Frame {
        var f = Fixtures.f1
        f.listeners[0].tls = counters(expiresInDays: listenerExpiryDays, plaintext: 4)
        f.clusters[0].tls = counters(expiresInDays: nil)
        var table = f.connections!.table!
        table[0].tls = tlsConnection(sni: "api.example.com")
        table[1].tls = nil
        var up = Fixtures.connection(
            4, model: "netpoll", owner: "c1", peer: "10.0.0.4:8080", ageMs: 3000, thread: "poller-0", handler: "http1",
            bytesIn: 5, bytesOut: 6, writev: 1, buffers: 1, paused: false)
        up.dir = "outbound"
        up.tls = tlsConnection(
            sni: "backend.internal", peerCN: "backend.internal", sans: "DNS:backend.internal, IP:10.0.0.4")
        var mtls = Fixtures.connection(
            5, model: "netpoll", owner: "http_in", peer: "192.168.1.20:50010", ageMs: 1000, thread: "poller-1",
            handler: "http1", bytesIn: 1, bytesOut: 1, writev: 1, buffers: 1, paused: false)
        mtls.tls = tlsConnection(sni: "", peerCN: "client-7", sans: "URI:spiffe://example/client-7")
        mtls.tls?.resumed = true
        mtls.tls?.version = "TLSv1.2"
        mtls.tls?.alpn = ""
        table += [up, mtls]
        f.connections?.table = table
        return f
    }

    static func model(_ f: Frame = frame()) -> ConsoleModel {
        let m = ConsoleModel()
        m.ingest(line: Fixtures.line(f))
        return m
    }

    @Test func connectionsViewShowsTheTLSVersionAndTheName() {
        let t = Fixtures.render(Self.model(), Fixtures.state(.connections, w: 120), 120).text()
        #expect(t[2].hasPrefix("     ID OWNER   PEER               TLS       AGE THREAD   HANDLER"), "\(t[2])")
        #expect(t[2].hasSuffix("SNI/CN") || t[2].contains("SNI/CN "), "\(t[2])")
        let row1 = t.first { $0.hasPrefix("      1 ") }!
        #expect(row1.contains("TLS1.3") && row1.hasSuffix("api.example.com"), "\(row1)")
        let row2 = t.first { $0.hasPrefix("      2 ") }!
        #expect(row2.contains("192.168.1.11:50001 -"), "\(row2)")
        #expect(row2.hasSuffix(" -"), "\(row2)")
        // Outbound: the certificate the upstream showed; inbound without SNI: the client certificate's CN.
        #expect(t.first { $0.hasPrefix("      4 ") }!.hasSuffix("backend.internal"))
        let row5 = t.first { $0.hasPrefix("      5 ") }!
        #expect(row5.contains("TLS1.2") && row5.hasSuffix("client-7"), "\(row5)")
    }

    @Test func aNarrowScreenDropsTheNameThenTheHandler() {
        let t = Fixtures.render(Self.model(), Fixtures.state(.connections, w: 100), 100).text()
        #expect(t[2].contains(" TLS ") && !t[2].contains("SNI/CN"), "\(t[2])")
        #expect(t[2].hasSuffix("STATE"), "\(t[2])")
        #expect(!t[2].contains("HANDLER"), "\(t[2])")  // the next to go
        #expect(t.first { $0.hasPrefix("      1 ") }!.contains("TLS1.3"))
    }

    /// Without TLS anywhere the view is what it always was.
    @Test func noTLSColumnsWithoutTLS() {
        let t = Fixtures.render(Fixtures.model(), Fixtures.state(.connections, w: 120), 120).text()
        #expect(!t[2].contains("TLS") && !t[2].contains("SNI/CN"), "\(t[2])")
        #expect(t[2].hasSuffix("STATE"))
    }

    @Test func theFilterFindsTLSConnections() {
        let m = Self.model()
        var s = Fixtures.state(.connections)
        s.filter = "tls1.3"
        #expect(ConsoleTables.rowCount(.connections, m.snapshot, s) == 2)
        s.filter = "backend.internal"
        #expect(ConsoleTables.rowCount(.connections, m.snapshot, s) == 1)
        s.filter = "client-7 tls1.2"
        #expect(ConsoleTables.rowCount(.connections, m.snapshot, s) == 1)
    }

    @Test func connectionPanelShowsTheHandshake() {
        let m = Self.model()
        let inbound = DetailsPanel.text(.connection(1), m.snapshot)
        #expect(inbound.contains("TLS"))
        #expect(inbound.contains("version TLSv1.3   cipher TLS_AES_256_GCM_SHA384   full handshake"))
        #expect(inbound.contains("SNI api.example.com   ALPN http/1.1"))
        #expect(inbound.contains("peer certificate: none"))
        let upstream = DetailsPanel.text(.connection(4), m.snapshot)
        #expect(upstream.contains("peer certificate: CN backend.internal"))
        #expect(upstream.contains("peer SANs DNS:backend.internal, IP:10.0.0.4"))
        let resumed = DetailsPanel.text(.connection(5), m.snapshot)
        #expect(resumed.contains("version TLSv1.2   cipher TLS_AES_256_GCM_SHA384   resumed session"))
        #expect(resumed.contains("SNI (none sent)   ALPN (none agreed)"))
        #expect(resumed.contains("peer certificate: CN client-7"))
        // A plaintext connection of a plaintext listener says nothing about TLS.
        #expect(!DetailsPanel.text(.connection(2), m.snapshot).contains("TLS"))
        // A plaintext connection on a TLS listener (inspector, or not yet shaken hands) says so.
        var f = Self.frame()
        f.connections?.table?[0].tls = nil
        let pending = DetailsPanel.content(.connection(1), Self.model(f).snapshot).lines
        #expect(pending.contains { $0.text.hasPrefix("none: plaintext") && $0.role == .dim })
    }

    @Test func listenerPanelShowsTheCountersAndExpiry() {
        let m = Self.model()
        let lines = DetailsPanel.content(.listener("http_in"), m.snapshot).lines
        let text = lines.map(\.text)
        #expect(text.contains("TLS since start"))
        #expect(text.contains("handshakes 200   resumed 50 (25%)   plaintext (inspector) 4"))
        // The commonest reason first, ties by name.
        #expect(text.contains("failed handshakes 7: not_tls 3   unknown_sni 3   timeout 1"))
        #expect(lines.first { $0.text.hasPrefix("failed handshakes") }?.role == .bad)
        #expect(text.contains("records 900   writes 600   records per write 1.5"))
        let expiry = lines.first { $0.text.hasPrefix("certificate expires ") }
        #expect(expiry?.text == "certificate expires 2028-01-01 09:26 UTC, in 400 days", "\(String(describing: expiry))")
        #expect(expiry?.role == .normal)
        // A plaintext listener has no TLS section.
        #expect(!DetailsPanel.text(.listener("tcp_in"), m.snapshot).contains { $0.hasPrefix("TLS") })
    }

    @Test func expiryTurnsYellowThenRed() {
        func expiryLine(_ days: Int) -> DetailLine? {
            DetailsPanel.content(.listener("http_in"), Self.model(Self.frame(listenerExpiryDays: days)).snapshot)
                .lines.first { $0.text.hasPrefix("certificate expires ") }
        }
        #expect(expiryLine(29)?.role == .warn && expiryLine(29)?.text.hasSuffix("in 29 days") == true)
        #expect(expiryLine(30)?.role == .normal)
        let expired = expiryLine(-3)
        #expect(expired?.role == .bad && expired?.text.hasSuffix("expired 2 days ago") == true, "\(String(describing: expired))")
    }

    @Test func clusterPanelOpensOnAClusterRow() {
        let m = Self.model()
        var s = Fixtures.state(.clusters)
        _ = handle(.enter, state: &s, model: m)
        #expect(s.details == .cluster("c1"))
        let screen = Fixtures.render(m, s).text()
        #expect(screen[2].hasPrefix("┌─ cluster c1 "))
        let lines = DetailsPanel.content(.cluster("c1"), m.snapshot).lines
        let text = lines.map(\.text)
        #expect(text[0] == "load balancer LB_ROUNDROBIN   hosts 3 (0 taking new requests)")
        #expect(text.contains("active requests 4   pending 0   active connections 9"))
        #expect(text.contains("handshakes 200   resumed 50 (25%)"))
        #expect(text.contains("certificate: none presented"))
        #expect(text.contains("latency since start (10000 requests)"))
        #expect(text.contains("writes since start"))
        // A plaintext cluster says so; a cluster gone says so.
        let plain = DetailsPanel.text(.cluster("c1"), Fixtures.model().snapshot)
        #expect(plain.contains("upstream connections are plaintext"))
        #expect(DetailsPanel.text(.cluster("gone"), m.snapshot)[1].contains("not in the latest frame"))
        // The Writes view's cluster rows open it too (listeners come first).
        var w = Fixtures.state(.writes)
        _ = handle(.down, state: &w, model: m)
        _ = handle(.down, state: &w, model: m)
        _ = handle(.enter, state: &w, model: m)
        #expect(w.details == .cluster("c1"))
    }
}
