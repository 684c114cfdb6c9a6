import Glibc
import SkiffEngine
import SkiffNet
import SkiffTelemetry
import SkiffTestSupport
import Testing

/// A real TLS connection through an engine shows up in the frames subscribers receive: the connection's handshake
/// results (both directions: the client's view of a listener, Skiff's view of an upstream), and each listener's and
/// cluster's counters, failures by reason, inspector plaintext and certificate expiry.
@Suite(.serialized) struct TLSTelemetryEngineTests {
    @Test func aTLSConnectionAndTheCountersAppearInPublishedFrames() throws {
        let fx = try TLSEngineFixture()
        defer { fx.stop() }
        let client = try SteppedTLSClient(port: fx.front)
        defer { client.stop() }
        #expect(client.process.waitForOutput("connected"), "\(client.process.output)")
        var cursor = fx.engine.hub.frames.latestSeq

        // Accepted, no handshake yet: the connection is published without TLS fields.
        let pending = fx.awaitFrame(after: &cursor) { f in
            (f.connections?.changed ?? []).first { $0.owner == "front" && $0.dir == "inbound" }
        }
        let id = try #require(pending, "the front connection never showed up").id
        #expect(pending?.tls == nil)

        // The handshake moves no application byte, yet the next frames carry the connection again, with its TLS.
        client.open("handshake")
        #expect(client.process.waitForOutput("handshake TLSv1.3"), "\(client.process.output)")
        let resent = fx.awaitFrame(after: &cursor) { f in
            (f.connections?.changed ?? []).first { $0.id == id && $0.tls != nil }
        }
        let inbound = try #require(resent, "no frame re-sent the connection with its TLS fields")
        #expect(inbound.bytesIn == 0 && inbound.bytesOut == 0)
        let tls = try #require(inbound.tls)
        #expect(tls.version == "TLSv1.3")
        #expect(tls.cipher.hasPrefix("TLS_") && client.process.output.contains(tls.cipher))
        #expect(tls.sni == "localhost")
        #expect(tls.alpn == "http/1.1")
        #expect(!tls.resumed)
        #expect(tls.peerCN.isEmpty && tls.peerSANs.isEmpty)  // the client sent no certificate

        // Data through the chain: front (TLS) -> cluster back (TLS client) -> listener back (TLS) -> echo.
        client.open("send")
        #expect(client.process.waitForOutput("echoed ping"), "\(client.process.output)")

        // A plaintext client on the TLS port fails its handshake (not_tls); one on the inspector port is plaintext.
        let wrong = try TestSocket.connect(port: fx.front)
        defer { wrong.close() }
        try wrong.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let plain = try TestSocket.connect(port: fx.mixed)
        defer { plain.close() }
        try plain.send("ping")
        #expect(try plain.receive(exactly: 4) == Array("ping".utf8))

        let counted = fx.awaitFrame(after: &cursor) { f -> TelemetryFrame? in
            let front = f.listeners.first { $0.name == "front" }?.tls
            let mixed = f.listeners.first { $0.name == "mixed" }?.tls
            guard (front?.handshakes ?? 0) >= 1, front?.failures["not_tls"] == 1, mixed?.plaintext == 1 else { return nil }
            return f
        }
        let f = try #require(counted, "no frame counted the handshakes, the failure and the plaintext connection")
        let front = try #require(f.listeners.first { $0.name == "front" }?.tls)
        #expect(front.handshakes == 1 && front.resumed == 0 && front.plaintext == nil)
        #expect(front.failures == ["not_tls": 1])
        #expect(front.records >= 1 && front.writes >= 1)  // the echoed ping went back as a record
        let expiry = try #require(fx.endpoint("front")?.contexts.all[0].leafNotAfter)
        #expect(front.certExpiry == Int(expiry))
        #expect(front.certExpiry.map { $0 > Int(f.ts / 1000) } == true)
        // tcp_proxy opens its upstream on accept, so the refused client above may have made (or begun) a hop too.
        let back = try #require(f.listeners.first { $0.name == "back" }?.tls)
        #expect(back.handshakes >= 1, "\(back)")
        #expect(back.failures.keys.allSatisfy { $0 == "peer_closed" }, "\(back)")
        #expect(f.listeners.first { $0.name == "mixed" }?.tls?.handshakes == 0)
        let cluster = try #require(f.clusters.first { $0.name == "back" }?.tls)
        #expect(cluster.handshakes >= 1 && cluster.records >= 1, "\(cluster)")
        #expect(cluster.certExpiry == nil)  // it presents no client certificate
        #expect(f.clusters.first { $0.name == "echo" }?.tls == nil)

        // The full table: Skiff's side of the upstream hop sees the back listener's certificate.
        let table = fx.engine.publisher.fullFrame().connections?.table ?? []
        let upstream = try #require(table.first { $0.owner == "back" && $0.dir == "outbound" }?.tls)
        #expect(upstream.version == "TLSv1.3" && upstream.sni == "localhost")
        #expect(upstream.peerCN == "localhost")
        #expect(upstream.peerSANs.contains("DNS:localhost") && upstream.peerSANs.contains("127.0.0.1"))
        let backInbound = try #require(table.first { $0.owner == "back" && $0.dir == "inbound" }?.tls)
        #expect(backInbound.sni == "localhost" && backInbound.alpn.isEmpty)
        // Plaintext connections carry no TLS: the inspector's plaintext branch, the echo cluster's hop.
        #expect(table.contains { $0.owner == "mixed" && $0.dir == "inbound" && $0.tls == nil })
        #expect(table.contains { $0.owner == "echo" && $0.tls == nil })
    }
}
