import Foundation
import Glibc
import SkiffTestSupport
import Synchronization
import Testing

@testable import SkiffNet

/// The TLS transport under plain connection handlers: an echo listener with a server context and an outbound client
/// connection to it, on both thread models, byte-exact both ways.
@Suite struct TLSTransportTests {
    static let certDir = TLSFixtures.directory

    static func serverEndpoint(inspector: Bool = false, stats: TLSStats = TLSStats()) throws -> TLSServerEndpoint {
        let s = TLSSettings(
            role: .server, path: "test.tls_context", certChainPEM: try TLSFixtures.read("server.pem"),
            privateKeyPEM: try TLSFixtures.read("server.key"))
        return TLSServerEndpoint(contexts: try TLSServerContexts([s]), inspector: inspector, stats: stats)
    }

    static func clientEndpoint(serverName: String = "localhost", stats: TLSStats = TLSStats()) throws
        -> TLSClientEndpoint
    {
        let s = TLSSettings(
            role: .client, path: "test.cluster.tls_context", caPEM: try TLSFixtures.read("ca.pem"),
            serverName: serverName)
        return TLSClientEndpoint(context: try TLSContext(s), stats: stats)
    }

    @Test(arguments: NetModel.allCases)
    func echoesThroughTLSBothWays(model: NetModel) throws {
        let h = try ModelHarness(model)
        let echo = EchoHandler()
        let serverStats = TLSStats()
        let l = try h.listen(echo, tls: try Self.serverEndpoint(stats: serverStats))
        defer { h.stop(l) }
        let client = RecordingHandler()
        let clientStats = TLSStats()
        var options = ConnectionOptions()
        options.tls = try Self.clientEndpoint(stats: clientStats)
        let c = h.connect(port: l.address.port, handler: client, options: options)
        let data = patternBytes(count: 3_000_000, seed: 11)
        var offset = 0
        while offset < data.count {
            let n = min(50_000, data.count - offset)
            data[offset..<offset + n].withUnsafeBytes { c.write(copying: $0) }
            offset += n
        }
        _ = waitUntil(seconds: 20) { client.received.withLock { $0.count } >= data.count }
        #expect(client.isConnected)
        #expect(client.received.withLock { $0 } == data)
        let info = try #require(c.tlsInfo)
        #expect(info.version == "TLSv1.3")
        #expect(info.serverName == "localhost")
        #expect(serverStats.handshakes.load(ordering: .relaxed) == 1)
        #expect(clientStats.handshakes.load(ordering: .relaxed) == 1)
        #expect(clientStats.records.load(ordering: .relaxed) >= UInt64(data.count / 16384))
        c.close()
    }

    @Test(arguments: NetModel.allCases)
    func aClientThatDoesNotTrustTheServerFailsAndIsCounted(model: NetModel) throws {
        let h = try ModelHarness(model)
        let echo = EchoHandler()
        let l = try h.listen(echo, tls: try Self.serverEndpoint())
        defer { h.stop(l) }
        let client = RecordingHandler()
        let clientStats = TLSStats()
        var options = ConnectionOptions()
        options.tls = try Self.clientEndpoint(serverName: "not-the-name.example", stats: clientStats)
        _ = h.connect(port: l.address.port, handler: client, options: options)
        _ = waitUntil(seconds: 10) { client.closeReason.withLock { $0 } != nil }
        #expect(client.closeReason.withLock { $0 } == .tlsHandshakeFailed(.untrustedCertificate))
        #expect(!client.isConnected)
        #expect(clientStats.failures(.untrustedCertificate) == 1)
    }

    @Test(arguments: NetModel.allCases)
    func plaintextToATLSPortIsRefusedAndCounted(model: NetModel) throws {
        let h = try ModelHarness(model)
        let stats = TLSStats()
        let l = try h.listen(EchoHandler(), tls: try Self.serverEndpoint(stats: stats))
        defer { h.stop(l) }
        let s = try TestSocket.connect(port: l.address.port)
        defer { s.close() }
        try s.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let answer = (try? s.receiveToEOF(limit: 4096)) ?? []  // closed, maybe reset (our bytes went unread)
        #expect(answer.count < 64)  // at most an alert, never an echo
        _ = waitUntil(seconds: 5) { stats.failures(.notTLS) > 0 }
        #expect(stats.failures(.notTLS) == 1)
    }

    /// The filter hears of an inbound TLS connection only once its handshake is done: a refused client costs it
    /// nothing (a tcp_proxy would otherwise have opened an upstream connection for it).
    @Test(arguments: NetModel.allCases)
    func aRefusedHandshakeNeverReachesTheFilter(model: NetModel) throws {
        final class CountingDelegate: ListenerDelegate, @unchecked Sendable {
            let accepted = Atomic<Int>(0)
            let echo = EchoHandler()
            func listener(_ l: Listener, accepted c: Connection) -> (any ConnectionHandler)? {
                accepted.wrappingAdd(1, ordering: .relaxed)
                #expect(c.tlsInfo != nil, "handed over before its handshake finished")
                return echo
            }
        }
        let h = try ModelHarness(model)
        let stats = TLSStats()
        let delegate = CountingDelegate()
        let l = try h.listen(delegate, tls: try Self.serverEndpoint(stats: stats))
        defer { h.stop(l) }
        let s = try TestSocket.connect(port: l.address.port)
        try s.send(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        _ = try? s.receiveToEOF(limit: 4096)
        s.close()
        _ = waitUntil(seconds: 5) { stats.failures(.notTLS) > 0 }
        #expect(stats.failures(.notTLS) == 1)
        #expect(delegate.accepted.load(ordering: .relaxed) == 0)
        let client = RecordingHandler()
        var options = ConnectionOptions()
        options.tls = try Self.clientEndpoint()
        let c = h.connect(port: l.address.port, handler: client, options: options)
        Array("after".utf8).withUnsafeBytes { c.write(copying: $0) }
        _ = waitUntil(seconds: 10) { client.received.withLock { $0.count } >= 5 }
        #expect(client.received.withLock { $0 } == Array("after".utf8))
        #expect(delegate.accepted.load(ordering: .relaxed) == 1)
        c.close()
    }

    /// A cluster's next connection to a host resumes the session (TLS 1.3 ticket) the last one got, and the one
    /// after that too (each resumption brings a new ticket): upstream connection churn costs no full handshakes.
    @Test(arguments: NetModel.allCases)
    func upstreamConnectionsResumeTheirHostsSession(model: NetModel) throws {
        let h = try ModelHarness(model)
        let serverStats = TLSStats()
        let l = try h.listen(EchoHandler(), tls: try Self.serverEndpoint(stats: serverStats))
        defer { h.stop(l) }
        let clientStats = TLSStats()
        var options = ConnectionOptions()
        options.tls = try Self.clientEndpoint(stats: clientStats)
        var resumed: [Bool] = []
        for i in 0..<3 {
            let client = RecordingHandler()
            let c = h.connect(port: l.address.port, handler: client, options: options)
            // An echo proves the handshake done and, under TLS 1.3, that the server's ticket has arrived with it.
            Array("ping \(i)".utf8).withUnsafeBytes { c.write(copying: $0) }
            _ = waitUntil(seconds: 10) { client.received.withLock { $0.count } >= 6 }
            #expect(client.received.withLock { $0 } == Array("ping \(i)".utf8))
            resumed.append(c.tlsInfo?.resumed ?? false)
            c.close()
            usleep(20_000)
        }
        #expect(resumed == [false, true, true])
        #expect(clientStats.resumed.load(ordering: .relaxed) == 2)
        #expect(serverStats.resumed.load(ordering: .relaxed) == 2)
    }

    @Test(arguments: NetModel.allCases)
    func inspectorServesPlaintextAndTLSOnOnePort(model: NetModel) throws {
        let h = try ModelHarness(model)
        let stats = TLSStats()
        let l = try h.listen(EchoHandler(), tls: try Self.serverEndpoint(inspector: true, stats: stats))
        defer { h.stop(l) }
        let s = try TestSocket.connect(port: l.address.port)
        defer { s.close() }
        try s.send(Array("plain hello".utf8))
        #expect(try s.receive(exactly: 11) == Array("plain hello".utf8))
        let client = RecordingHandler()
        var options = ConnectionOptions()
        options.tls = try Self.clientEndpoint()
        let c = h.connect(port: l.address.port, handler: client, options: options)
        Array("tls hello".utf8).withUnsafeBytes { c.write(copying: $0) }
        _ = waitUntil(seconds: 10) { client.received.withLock { $0.count } >= 9 }
        #expect(client.received.withLock { $0 } == Array("tls hello".utf8))
        #expect(stats.plaintext.load(ordering: .relaxed) == 1)
        #expect(stats.handshakes.load(ordering: .relaxed) == 1)
        c.close()
    }

    @Test(arguments: NetModel.allCases)
    func aStalledHandshakeTimesOut(model: NetModel) throws {
        let h = try ModelHarness(model)
        let stats = TLSStats()
        var settings = TLSSettings(
            role: .server, path: "t", certChainPEM: try TLSFixtures.read("server.pem"),
            privateKeyPEM: try TLSFixtures.read("server.key"))
        settings.handshakeTimeoutNs = 300_000_000
        let ep = TLSServerEndpoint(contexts: try TLSServerContexts([settings]), inspector: false, stats: stats)
        let l = try h.listen(EchoHandler(), tls: ep)
        defer { h.stop(l) }
        let s = try TestSocket.connect(port: l.address.port)
        defer { s.close() }
        try s.send([0x16, 0x03, 0x01])  // the start of a record, then nothing
        let answer = try s.receiveToEOF(limit: 4096)
        #expect(answer.count < 64)
        #expect(stats.failures(.timeout) == 1)
    }
}

/// The test certificates in `Tests/Fixtures/tls` (made by `scripts/make-test-certs.sh`).
enum TLSFixtures {
    static var directory: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.pathComponents.count > 1 && url.lastPathComponent != "Tests" { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures/tls").path
    }

    static func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
    }
}
