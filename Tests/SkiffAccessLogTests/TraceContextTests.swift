import Glibc
import SkiffConfig
import SkiffNet
import SkiffUpstream
import Testing

@testable import SkiffAccessLog

/// A request's trace context (docs/tracing.md) as decided into its record: SOFA trace and rpc ids generated, kept,
/// extended for a call made inside a traced request; the W3C traceparent; the digest line's shape.
@Suite(.serialized) struct TraceContextTests {
    static func text(_ b: UnsafeRawBufferPointer?) -> String? { b.map { String(decoding: $0, as: UTF8.self) } }

    static func begin(
        _ r: AccessLogRecord, _ kind: TraceSpanKind, _ traceID: String?, _ rpcID: String?
    ) -> SOFATraceHeaders {
        func bytes<T>(_ s: String?, _ body: (UnsafeRawBufferPointer?) -> T) -> T {
            guard let s else { return body(nil) }
            return Array(s.utf8).withUnsafeBytes { body($0) }
        }
        return bytes(traceID) { t in bytes(rpcID) { rpc in r.beginSOFATrace(kind: kind, traceID: t, rpcID: rpc) } }
    }

    @Test func absentContextIsGenerated() {
        let r = AccessLogRecord(slots: 0)
        let send = Self.begin(r, .client, nil, nil)
        #expect(send.sendTraceID && send.sendRPCID)
        let id = Self.text(r.traceID) ?? ""
        // 8 hex digits of an address, 13 of epoch milliseconds, a 4-digit counter, the pid.
        #expect(id.prefix(8).allSatisfy(\.isHexDigit) && id.dropFirst(8).allSatisfy(\.isNumber), "\(id)")
        #expect(id.hasSuffix("\(getpid())") && id.count == 8 + 13 + 4 + "\(getpid())".count, "\(id)")
        #expect(Self.text(r.rpcID) == "0")
        let other = AccessLogRecord(slots: 0)
        _ = Self.begin(other, .client, nil, nil)
        #expect(Self.text(other.traceID) != id)
    }

    @Test func aGoodContextIsKeptAndABadOneReplaced() {
        let r = AccessLogRecord(slots: 0)
        #expect(!Self.begin(r, .client, "0a1b2c3d1700000000000100042", "0.1.1").any)
        #expect(Self.text(r.traceID) == "0a1b2c3d1700000000000100042" && Self.text(r.rpcID) == "0.1.1")
        r.reset()
        #expect(r.traceID == nil && r.rpcID == nil)
        // A trace id with no rpc id: rpc id 0, sent.
        #expect(Self.begin(r, .client, "abc", nil) == { var s = SOFATraceHeaders(); s.sendRPCID = true; return s }())
        #expect(Self.text(r.rpcID) == "0")
        // Malformed values are not passed on; a new trace starts at rpc id 0 whatever the client's rpc id was.
        for (t, rpc) in [("has space", "0.1"), (String(repeating: "a", count: 65), "0.1"), ("", "0.1")] {
            r.reset()
            let send = Self.begin(r, .client, t, rpc)
            #expect(send.sendTraceID && send.sendRPCID && Self.text(r.rpcID) == "0", "\(t)")
        }
        for rpc in ["0..1", ".1", "1.", "a", String(repeating: "1", count: 49)] {
            r.reset()
            #expect(Self.begin(r, .client, "abc", rpc).sendRPCID && Self.text(r.rpcID) == "0", "\(rpc)")
        }
    }

    @Test func callsInsideATracedRequestAreItsChildren() {
        let server = AccessLogRecord(slots: 0)
        _ = Self.begin(server, .server, "childtrace", "0.4")
        #expect(server.traceChildSlot != -1)
        let calls = (0..<3).map { _ in AccessLogRecord(slots: 0) }
        for c in calls { #expect(Self.begin(c, .client, "childtrace", "0.4").sendRPCID) }
        #expect(calls.map { Self.text($0.rpcID) } == ["0.4.2", "0.4.3", "0.4.4"])
        // Another trace, or another rpc id, is no child of it.
        let stranger = AccessLogRecord(slots: 0)
        #expect(!Self.begin(stranger, .client, "childtrace", "0.5").any)
        #expect(Self.text(stranger.rpcID) == "0.5")
        // Once the server span is over, its context is passed on unchanged.
        server.endTrace()
        let late = AccessLogRecord(slots: 0)
        #expect(!Self.begin(late, .client, "childtrace", "0.4").any && Self.text(late.rpcID) == "0.4")
    }

    @Test func theChildTableIsBoundedAndCountsWhatItCannotHold() {
        let table = TraceChildren(slots: 16)
        let key: UInt64 = 0x1234
        var slots: [Int32] = []
        for _ in 0..<16 { slots.append(table.register(key)) }
        #expect(!slots.contains(-1))
        #expect(table.register(key) == -1)
        #expect(table.overflows.load(ordering: .relaxed) == 1)
        #expect(table.nextChild(key) == 2)
        for s in slots { table.release(s) }
        #expect(table.nextChild(key) == nil)
    }

    @Test func traceparentContinuesOrStarts() {
        let r = AccessLogRecord(slots: 0)
        let incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
        Array(incoming.utf8).withUnsafeBytes { r.beginTraceparent($0) }
        let continued = Self.text(r.traceparent) ?? ""
        #expect(continued.hasPrefix("00-0af7651916cd43dd8448eb211c80319c-") && continued.hasSuffix("-00"))
        #expect(continued != incoming && continued.count == 55)
        for bad in [
            "00-00000000000000000000000000000000-b7ad6b7169203331-01", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "garbage",
        ] {
            Array(bad.utf8).withUnsafeBytes { r.beginTraceparent($0) }
            let started = Self.text(r.traceparent) ?? ""
            #expect(started.count == 55 && started.hasPrefix("00-") && started.hasSuffix("-01"), "\(bad)")
            #expect(!started.contains("0af7651916cd43dd8448eb211c80319c"), "\(bad)")
        }
    }

    @Test func digestLinesHaveSOFATracersShape() throws {
        let service = AccessLogService(report: { _ in })
        let dir = tempPath("trace")
        let tracing = ListenerTracing(kind: .server, digestPath: "\(dir)/rpc-server-digest.log")
        let log = try #require(try service.listenerLog([], tracing: tracing, listener: "l", configPath: "", path: "p"))
        #expect(log.tracing == .server)
        let cluster = try Cluster(
            config: ClusterConfig(name: "web", hosts: [HostConfig(address: SocketAddressSpec(host: "127.0.0.1", port: 8080))]))
        let r = log.makeRecord()
        r.startNs = MonotonicClock.now()
        r.endNs = r.startNs + 1_500_000
        r.proto = .bolt
        r.responseCode = 504
        r.bytesReceived = 300
        r.bytesSent = 20
        let addresses = AccessLogAddresses(local: "127.0.0.1:12200", remote: "127.0.0.1:50000")
        defer { withExtendedLifetime(addresses) {} }
        r.setDownstream(addresses)
        r.setUpstream(host: cluster.hosts[0], cluster: cluster)
        _ = Self.begin(r, .server, "digesttrace", "0.2")
        for h in log.plan.requestHeaders where h.names.first == Array("service".utf8) {
            Array("com.example.Echo".utf8).withUnsafeBytes { r.capture(h.slot, $0) }
        }
        log.write(r, executorIndex: 0)
        #expect(r.traceChildSlot == -1)
        service.stop()
        let line = fileText("\(dir)/rpc-server-digest.log")
        #expect(line.hasPrefix(#"{"timestamp":"20"#) && line.hasSuffix("}\n"), "\(line)")
        let time = Array(line.utf8.dropFirst(14).prefix(23))
        #expect(time[4] == UInt8(ascii: "-") && time[7] == UInt8(ascii: "-") && time[19] == UInt8(ascii: "."), "\(line)")
        #expect(
            line.dropFirst(14 + 23 + 1).hasPrefix(
                #","traceId":"digesttrace","spanId":"0.2","span.kind":"server","service":"com.example.Echo","method":null,"#
                    + #""protocol":"bolt","req.size":300,"resp.size":20,"baggage":null,"mosn.duration":"1.5ms","#
                    + #""result.code":"03","upstream.cluster":"web","remote.ip":"127.0.0.1:50000","remote.app":null,"#
                    + #""local.ip":"127.0.0.1:8080"}"#), "\(line)")
    }
}
