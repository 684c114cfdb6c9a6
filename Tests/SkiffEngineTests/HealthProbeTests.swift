import Glibc
import SkiffConfig
import SkiffProtocol
import Testing

@testable import SkiffEngine

/// The probes' verdicts on bytes alone, without sockets.
@Suite struct HealthProbeTests {
    static let codes: [ClosedRange<Int>] = [200...299, 302...302]

    struct StatusRow: Sendable, CustomTestStringConvertible {
        var answer: String
        var closed: Bool
        var verdict: HealthProbe.Verdict
        var testDescription: String { answer.debugDescription }
    }

    @Test(arguments: [
        StatusRow(answer: "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", closed: false, verdict: .pass("L7OK")),
        StatusRow(answer: "HTTP/1.0 204\r\n", closed: false, verdict: .pass("L7OK")),
        StatusRow(answer: "HTTP/1.1 302 Found\r\n", closed: false, verdict: .pass("L7OK")),
        StatusRow(answer: "HTTP/1.1 503 Service Unavailable\r\n", closed: false, verdict: .fail("L7STS 503")),
        StatusRow(answer: "HTTP/1.1 301 Moved\n", closed: false, verdict: .fail("L7STS 301")),
        StatusRow(answer: "HTTP/1.1 200 O", closed: false, verdict: .needMore),
        StatusRow(answer: "HTTP/1.1 200 O", closed: true, verdict: .fail("L7RSP bad status line")),
        StatusRow(answer: "", closed: true, verdict: .fail("L7RSP empty response")),
        StatusRow(answer: "SSH-2.0-OpenSSH_9.6\r\n", closed: false, verdict: .fail("L7RSP bad status line")),
        StatusRow(answer: "HTTP/1.1 2000 OK\r\n", closed: false, verdict: .fail("L7RSP bad status line")),
        StatusRow(answer: "HTTP/1.1 099 Odd\r\n", closed: false, verdict: .fail("L7RSP bad status line")),
        StatusRow(answer: "HTTP/2 200\r\n", closed: false, verdict: .fail("L7RSP bad status line")),
    ])
    func statusLine(row: StatusRow) {
        let probe = HealthProbe.http1(request: [], codes: Self.codes)
        let v = Array(row.answer.utf8).withUnsafeBytes { probe.evaluate($0, id: 0, closed: row.closed) }
        #expect(v == row.verdict)
    }

    @Test func endlessStatusLineIsRefused() {
        let probe = HealthProbe.http1(request: [], codes: [200...299])
        let junk = [UInt8](repeating: UInt8(ascii: "x"), count: HealthProbe.maxAnswerBytes + 1)
        #expect(junk.withUnsafeBytes { probe.evaluate($0, id: 0, closed: false) } == .fail("L7RSP bad status line"))
    }

    @Test func httpRequestIsExact() {
        var config = HealthCheckConfig(
            protocolName: "http1", timeout: .seconds(1), interval: .seconds(1), healthyThreshold: 1,
            unhealthyThreshold: 1)
        config.httpPath = "/health?deep=1"
        #expect(
            HealthProbe(config: config, hostHeader: "10.0.0.1:8080").requestBytes(id: 1)
                == Array(
                    "GET /health?deep=1 HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUser-Agent: skiff-health\r\nConnection: close\r\n\r\n"
                        .utf8))
        config.httpMethod = "HEAD"
        let head = String(decoding: HealthProbe(config: config, hostHeader: "h").requestBytes(id: 1), as: UTF8.self)
        #expect(head.hasPrefix("HEAD /health?deep=1 HTTP/1.1\r\nHost: h\r\n"))
        config.protocolName = "tcp"
        #expect(HealthProbe(config: config, hostHeader: "h") == .tcp)
    }

    /// The answer the codec itself would give to our heartbeat passes; another id, a request, or junk does not.
    @Test(arguments: [HealthProbe.bolt, .dubbo])
    func heartbeat(probe: HealthProbe) throws {
        let request = probe.requestBytes(id: 41)
        var info = RPCFrameInfo()
        let parsed = request.withUnsafeBytes {
            probe == .bolt ? BoltCodec.parse($0, into: &info) : DubboCodec.parse($0, into: &info)
        }
        #expect(parsed == nil)
        #expect(info.kind == .heartbeatRequest && info.requestID == 41)
        var response = [UInt8](repeating: 0, count: 256)
        let n = try #require(
            response.withUnsafeMutableBytes {
                probe == .bolt
                    ? BoltCodec.encodeHeartbeatResponse(to: info, into: $0.baseAddress!, capacity: $0.count)
                    : DubboCodec.encodeHeartbeatResponse(to: info, into: $0.baseAddress!, capacity: $0.count)
            })
        response.removeSubrange(n...)
        func verdict(_ b: [UInt8], id: UInt64 = 41, closed: Bool = false) -> HealthProbe.Verdict {
            b.withUnsafeBytes { probe.evaluate($0, id: id, closed: closed) }
        }
        #expect(verdict(response) == .pass("L7OK"))
        #expect(verdict(Array(response.prefix(n - 1))) == .needMore)
        #expect(verdict(Array(response.prefix(n - 1)), closed: true) == .fail("L7RSP bad heartbeat"))
        #expect(verdict([], closed: true) == .fail("L7RSP empty response"))
        #expect(verdict(response, id: 42) == .fail("L7RSP bad heartbeat"))
        #expect(verdict(request) == .fail("L7RSP bad heartbeat"))  // an echo is not an answer
        #expect(verdict(Array("HTTP/1.1 200 OK\r\n".utf8)) == .fail("L7RSP bad heartbeat"))
    }

    @Test func connectFailureReasons() {
        #expect(HealthProbe.connectFailure(errno: ECONNREFUSED) == "L4CON refused")
        #expect(HealthProbe.connectFailure(errno: ENETUNREACH) == "L4CON network unreachable")
        #expect(HealthProbe.connectFailure(errno: ETIMEDOUT) == "L4TOUT")
        #expect(HealthProbe.connectFailure(errno: EACCES) == "L4CON permission denied")
    }
}
