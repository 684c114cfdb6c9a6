import SkiffJSON
import Testing

@testable import SkiffTelemetry

/// The direct connection event lines are the bytes the generic event encoding gives, escapes included.
@Suite struct ConnectionEventLinesTests {
    static let owners = ["listener http", "cluster \"q\\uoted\"", "", "名前\n\t", "bell\u{07}\u{1F}"]

    @Test(arguments: owners)
    func openMatchesTheGenericEncoding(_ owner: String) {
        var peer = "[::1]:51234"
        let direct = peer.withUTF8 { peer in
            TelemetryEvent.ConnectionOpen.withLine(
                ts: 1_765_000_000_123, conn: 42, dir: "inbound", owner: owner, peer: peer
            ) { String(decoding: $0, as: UTF8.self) }
        }
        var generic = JSONWriter(capacity: 64)
        TelemetryEvent(
            ts: 1_765_000_000_123,
            .connectionOpen(.init(conn: 42, dir: "inbound", owner: owner, peer: "[::1]:51234"))
        ).encode(into: &generic)
        #expect(direct == String(decoding: generic.bytes, as: UTF8.self))
    }

    @Test(arguments: owners)
    func closeMatchesTheGenericEncoding(_ owner: String) {
        let direct = TelemetryEvent.ConnectionClose.withLine(
            ts: 7, conn: UInt64.max, owner: owner, reason: "read error: \"reset\"", bytesIn: 0, bytesOut: 123_456
        ) { String(decoding: $0, as: UTF8.self) }
        var generic = JSONWriter(capacity: 64)
        TelemetryEvent(
            ts: 7,
            .connectionClose(
                .init(conn: UInt64.max, owner: owner, reason: "read error: \"reset\"", bytesIn: 0, bytesOut: 123_456))
        ).encode(into: &generic)
        #expect(direct == String(decoding: generic.bytes, as: UTF8.self))
    }
}
