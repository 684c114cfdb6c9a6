import SkiffJSON

/// The connection open/close event lines written straight from their values into stack memory, byte for byte what
/// encoding a `TelemetryEvent` with the same payload writes (`ConnectionEventLinesTests` compares them): a proxy may
/// open and close thousands of connections a second, and building the event value, walking its members through the
/// generic coder and growing an array cost several thousand instructions an event.
extension TelemetryEvent {
    /// Room for a line's fixed parts: keys, punctuation, the kind and three 20-digit numbers.
    static let fixedLineBytes = 192

    /// Calls `body` with `{"type":"event","ts":...,"kind":"...","conn":...` followed by what `members` writes and
    /// `}`, in stack memory of the fixed part plus `extraBytes`: what both connection events share.
    static func withLine<R>(
        kind: StaticString, ts: UInt64, conn: UInt64, extraBytes: Int, _ members: (inout JSONLineBuffer) -> Void,
        _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: fixedLineBytes + extraBytes) { memory in
            var line = JSONLineBuffer(memory)
            line.raw("{\"type\":\"event\",\"ts\":")
            line.digits(ts)
            line.raw(",\"kind\":\"")
            line.raw(kind)
            line.raw("\",\"conn\":")
            line.digits(conn)
            members(&line)
            line.byte(UInt8(ascii: "}"))
            return body(line.bytes)
        }
    }
}

extension TelemetryEvent.ConnectionOpen {
    /// Calls `body` with `{"type":"event","ts":...,"kind":"conn.open","conn":...,"dir":...,"owner":...,"peer":...}`.
    /// `peer` is the address as UTF-8 (`SocketAddress.writeText`).
    public static func withLine<R>(
        ts: UInt64, conn: UInt64, dir: String, owner: String, peer: UnsafeBufferPointer<UInt8>,
        _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        let extra =
            JSONLineBuffer.quotedCapacity(dir.utf8.count) + JSONLineBuffer.quotedCapacity(owner.utf8.count)
            + JSONLineBuffer.quotedCapacity(peer.count)
        return TelemetryEvent.withLine(kind: kind, ts: ts, conn: conn, extraBytes: extra, { line in
            line.raw(",\"dir\":")
            line.quoted(dir)
            line.raw(",\"owner\":")
            line.quoted(owner)
            line.raw(",\"peer\":")
            line.quoted(peer)
        }, body)
    }
}

extension TelemetryEvent.ConnectionClose {
    /// Calls `body` with `{"type":"event","ts":...,"kind":"conn.close","conn":...,"owner":...,"reason":...,`
    /// `"bytes_in":...,"bytes_out":...}`.
    public static func withLine<R>(
        ts: UInt64, conn: UInt64, owner: String, reason: String, bytesIn: UInt64, bytesOut: UInt64,
        _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        let extra = JSONLineBuffer.quotedCapacity(owner.utf8.count) + JSONLineBuffer.quotedCapacity(reason.utf8.count)
        return TelemetryEvent.withLine(kind: kind, ts: ts, conn: conn, extraBytes: extra, { line in
            line.raw(",\"owner\":")
            line.quoted(owner)
            line.raw(",\"reason\":")
            line.quoted(reason)
            line.raw(",\"bytes_in\":")
            line.digits(bytesIn)
            line.raw(",\"bytes_out\":")
            line.digits(bytesOut)
        }, body)
    }
}
