import SkiffProtocol
import Testing

/// Header-map entries set on a request the proxy forwards (the trace context): Bolt v1 and v2 (with its CRC32)
/// copied with the edited keys replaced, everything else byte for byte; Dubbo has no map to edit.
@Suite struct HeaderEditTests {
    static func edited(_ codec: any RPCCodec.Type, _ frame: [UInt8], _ pairs: [(StaticString, String)], capacity: Int = 4096)
        -> [UInt8]?
    {
        let values = pairs.map { Array($0.1.utf8) }
        return frame.withUnsafeBytes { f in
            values[0].withUnsafeBytes { v0 in
                (values.count > 1 ? values[1] : []).withUnsafeBytes { v1 in
                    var edits = RPCHeaderEdits()
                    edits.set(pairs[0].0, v0)
                    if pairs.count > 1 { edits.set(pairs[1].0, v1) }
                    return encode(capacity: capacity) { out, cap in codec.writeWithHeaders(f, edits, into: out, capacity: cap) }
                }
            }
        }
    }

    @Test(arguments: [false, true]) func boltEntriesAreReplacedAndAdded(isV2: Bool) throws {
        var b = BoltFrameBuilder()
        b.isV2 = isV2
        b.version1 = isV2 ? 2 : 1
        b.switchByte = isV2 ? 1 : 0
        b.headers = [
            ("service", "com.example.Echo"), ("rpc_trace_context.sofaRpcId", "0.1"), ("sofa_head_method_name", "echo"),
        ]
        b.content = Array("payload".utf8)
        let out = try #require(
            Self.edited(BoltCodec.self, b.bytes, [("rpc_trace_context.sofaTraceId", "t1"), ("rpc_trace_context.sofaRpcId", "0.1.2")]))
        // What an independent builder makes of the same frame with those entries.
        var want = b
        want.headers = [
            ("service", "com.example.Echo"), ("sofa_head_method_name", "echo"), ("rpc_trace_context.sofaTraceId", "t1"),
            ("rpc_trace_context.sofaRpcId", "0.1.2"),
        ]
        #expect(out == want.bytes)
        let (info, error) = parse(BoltCodec.self, out)
        #expect(error == nil)
        #expect(header(info, "rpc_trace_context.sofaRpcId", in: out) == "0.1.2")
        #expect(text(out, info.service) == "com.example.Echo" && text(out, info.method) == "echo")
    }

    @Test func boltEditsThatDoNotFitAreRefused() {
        var b = BoltFrameBuilder()
        b.headers = [("service", "s")]
        #expect(Self.edited(BoltCodec.self, b.bytes, [("rpc_trace_context.sofaTraceId", "t1")], capacity: b.bytes.count) == nil)
        // A header map past 64 KiB cannot be written.
        b.headers = [("big", String(repeating: "x", count: 65_500))]
        #expect(Self.edited(BoltCodec.self, b.bytes, [("rpc_trace_context.sofaTraceId", "t1")], capacity: 70_000) == nil)
    }

    @Test func dubboRequestsAreNotEdited() {
        let frame = dubboFrame(flag: 0xc2, id: 1, body: H.string("2.0.2"))
        #expect(Self.edited(DubboCodec.self, frame, [("rpc_trace_context.sofaTraceId", "t1")]) == nil)
    }
}
