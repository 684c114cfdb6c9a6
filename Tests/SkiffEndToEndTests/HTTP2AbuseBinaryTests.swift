import Glibc
import SkiffTestSupport
import Testing

/// Each HTTP/2 abuse case from a client that breaks the rules on purpose (hyper-h2 and hand-made frames), on both
/// thread models: what the client sees, what Skiff counts, and that the listener serves the next client.
@Suite(.serialized) struct HTTP2AbuseBinaryTests {
    @Test func abuseEndsTheConnectionOrTheStreamAndIsCounted() throws {
        let rig = try HTTP2Rig(tag: "h2-abuse", idle: "2s")
        defer { rig.stop() }
        for (port, name) in [(rig.netpoll, "h2np"), (rig.rwloop, "h2rw")] {
            let rapid = try HTTP2Peers.h2Case(port, "rapid-reset")
            #expect(rapid.contains(#""goaway": true, "error_code": 2"#), "rapid reset (CVE-2023-44487): \(rapid)")
            let continuation = try HTTP2Peers.h2Case(port, "continuation")
            #expect(continuation.contains(#""goaway": true, "error_code": 1"#), "CONTINUATION flood: \(continuation)")
            let streams = try HTTP2Peers.h2Case(port, "max-streams")
            #expect(streams.contains(#""goaway": 1"#) || streams.contains(#""201": 7"#), "101 streams over 100: \(streams)")
            let big = try HTTP2Peers.h2Case(port, "big-headers")
            #expect(big.contains(#""1": {"reset": 2}"#), "100 kB of headers over 64 KiB: \(big)")
            let flood = try HTTP2Peers.h2Case(port, "ping-flood")
            #expect(flood.contains(#""closed": true"#), "PINGs never read: \(flood)")
            let idle = try HTTP2Peers.h2Case(port, "idle")
            #expect(idle.contains(#""goaway": true, "error_code": 0"#), "idle connection: \(idle)")
            // The listener still serves.
            let ok = try HTTP2Peers.h2Case(port, "get")
            #expect(ok.contains("POST /plain/post bytes=100000"), "\(ok)")

            #expect(try rig.metric("skiff_http2_protocol_errors_total", listener: name) >= 3, "\(name)")
            #expect(try rig.metric("skiff_http2_header_list_too_large_total", listener: name) == 1, "\(name)")
            #expect(try rig.metric("skiff_http2_idle_timeouts_total", listener: name) >= 1, "\(name)")
        }
    }

    /// `stream_idle_timeout` (1 s here): a request body that stops is answered 408, a response that stalls after its
    /// headers is reset (CANCEL), each within two sweeps of the timeout, counted; the connection lives on.
    @Test func idleStreamsAreAnsweredOrResetAndCounted() throws {
        let rig = try HTTP2Rig(tag: "h2-stream-idle", idle: "10s", streamIdle: "1s")
        defer { rig.stop() }
        for (port, name) in [(rig.netpoll, "h2np"), (rig.rwloop, "h2rw")] {
            let out = try HTTP2Peers.h2Case(port, "stream-idle", ["/idle"])
            #expect(out.contains(#""1": {"headers": {":status": "408""#), "silent request body: \(out)")
            #expect(out.contains(#""x-skiff-reason": "stream idle timeout""#), "\(out)")
            #expect(out.contains(#""body": "stall", "reset": 8"#), "stalled response: \(out)")
            for stream in ["1", "3"] {
                let seconds = try #require(HTTP2Peers.seconds(of: stream, in: out), "\(out)")
                #expect(seconds >= 0.9 && seconds < 4, "stream \(stream) ended after \(seconds) s: \(out)")
            }
            #expect(try rig.metric("skiff_http2_stream_idle_timeouts_total", listener: name) == 2, "\(name)")
            let ok = try HTTP2Peers.h2Case(port, "get")
            #expect(ok.contains("POST /plain/post bytes=100000"), "\(ok)")
        }
    }
}
