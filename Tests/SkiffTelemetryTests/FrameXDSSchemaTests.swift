import SkiffJSON
import Testing

@testable import SkiffTelemetry

/// A frame's `xds` member (the control plane's state): it round-trips with the documented keys, sits between
/// `connections` and `events_latest`, is absent when nil, and a frame without it (a file-only skiff, or an older one)
/// decodes with `xds == nil`, as an older reader skips it.
@Suite struct FrameXDSSchemaTests {
    typealias Frame = TelemetryFrame

    static var xds: Frame.XDS {
        var x = Frame.XDS()
        (x.controlPlane, x.connected, x.sinceMs, x.connects) = ("127.0.0.1:15010", true, 1_795_768_000_000, 2)
        (x.lastDisconnect, x.waiting) = ("stream ended: unavailable", 1)
        var t = Frame.XDSType()
        (t.type, t.version, t.resources, t.pushes, t.acks, t.nacks) = ("RDS", "3", 1, 4, 3, 1)
        t.lastError = "route_config r1: virtual_hosts[0].routes[0].match.safe_regex: invalid regex"
        x.types = [t]
        return x
    }

    static var populated: Frame {
        var f = FrameSchemaTests.populated
        f.xds = xds
        return f
    }

    @Test func everyXDSMemberIsSetAndRoundTrips() throws {
        let f = Self.populated
        #expect(FrameSchemaTests.defaults(in: f.jsonValue) == [])
        let bytes = f.jsonBytes
        let back = Frame(json: try JSONParser.parse(bytes))
        #expect(back == f)
        #expect(back.xds == Self.xds)
        #expect(back.xds?.totalNacks == 1)
        #expect(TelemetryLine(json: try JSONParser.parse(bytes)) == .frame(f))
    }

    @Test func wireKeysAreTheDocumentedOnes() throws {
        let v = try JSONParser.parse(Self.populated.jsonBytes)
        #expect(
            FrameSchemaTests.keys(v) == [
                "type", "seq", "ts", "uptime_ms", "interval_ms", "pid", "version", "config", "listeners", "clusters",
                "threads", "connections", "xds", "events_latest", "publisher",
            ])
        #expect(
            FrameSchemaTests.keys(v["xds"]) == [
                "control_plane", "connected", "since_ms", "connects", "last_disconnect", "waiting", "types",
            ])
        #expect(
            FrameSchemaTests.keys(v["xds"]?["types"]?.arrayValue.first) == [
                "type", "version", "resources", "pushes", "acks", "nacks", "last_error",
            ])
    }

    /// A file-only skiff's frame has no `xds` at all; reading one gives nil, not an empty state.
    @Test func absentWithoutAControlPlane() throws {
        let f = FrameSchemaTests.populated
        #expect(f.xds == nil)
        let text = String(decoding: f.jsonBytes, as: UTF8.self)
        #expect(!text.contains("\"xds\""))
        #expect(Frame(json: try JSONParser.parse(f.jsonBytes)).xds == nil)
    }

    /// A reader that predates `xds` (here: a record type without the member) still decodes the rest of the frame.
    @Test func olderReadersSkipIt() throws {
        struct OldFrame: TelemetryRecord {
            var seq: UInt64 = 0
            var version = ""
            var eventsLatest: UInt64 = 0
            init() {}
            mutating func fields<C: TelemetryCoder>(_ c: inout C) {
                c.field("seq", &seq)
                c.field("version", &version)
                c.field("events_latest", &eventsLatest)
            }
        }
        let f = Self.populated
        let old = OldFrame(json: try JSONParser.parse(f.jsonBytes))
        #expect(old.seq == f.seq && old.version == f.version && old.eventsLatest == f.eventsLatest)
    }
}
