import SkiffJSON

/// The connection open/close event lines written straight from their values, byte for byte what encoding a
/// `TelemetryEvent` with the same payload writes (`ConnectionEventLinesTests` compares them): a proxy may open and
/// close thousands of connections a second, and building the event value, walking its members through the generic
/// coder and copying its strings cost several thousand instructions an event.
extension TelemetryEvent {
    /// `{"type":"event","ts":...,"kind":...,"conn":...` — what both connection events start with.
    static func beginLine(kind: StaticString, ts: UInt64, conn: UInt64, into w: inout JSONWriter) {
        w.beginObject()
        w.key(TelemetryLine.typeKey)
        w.string(type)
        w.key("ts")
        w.uint(ts)
        w.key("kind")
        w.string(kind)
        w.key("conn")
        w.uint(conn)
    }
}

extension TelemetryEvent.ConnectionOpen {
    /// `{"type":"event","ts":...,"kind":"conn.open","conn":...,"dir":...,"owner":...,"peer":...}`
    public static func encodeLine(
        ts: UInt64, conn: UInt64, dir: String, owner: String, peer: String, into w: inout JSONWriter
    ) {
        TelemetryEvent.beginLine(kind: kind, ts: ts, conn: conn, into: &w)
        w.key("dir")
        w.string(dir)
        w.key("owner")
        w.string(owner)
        w.key("peer")
        w.string(peer)
        w.endObject()
    }
}

extension TelemetryEvent.ConnectionClose {
    /// `{"type":"event","ts":...,"kind":"conn.close","conn":...,"owner":...,"reason":...,"bytes_in":...,`
    /// `"bytes_out":...}`
    public static func encodeLine(
        ts: UInt64, conn: UInt64, owner: String, reason: String, bytesIn: UInt64, bytesOut: UInt64,
        into w: inout JSONWriter
    ) {
        TelemetryEvent.beginLine(kind: kind, ts: ts, conn: conn, into: &w)
        w.key("owner")
        w.string(owner)
        w.key("reason")
        w.string(reason)
        w.key("bytes_in")
        w.uint(bytesIn)
        w.key("bytes_out")
        w.uint(bytesOut)
        w.endObject()
    }
}
