extension TelemetryFrame {
    /// Per-connection records. A pushed frame carries `changed` (connections whose byte counters moved since the
    /// previous frame) and `closed` (ids gone since then); a `snapshot` carries `table`, every live connection.
    public struct Connections: TelemetryRecord {
        public var live: Int = 0
        public var changed: [Connection]?
        public var table: [Connection]?
        public var closed: [UInt64]?

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("live", &live)
            c.field("changed", &changed)
            c.field("table", &table)
            c.field("closed", &closed)
        }
    }

    /// One live connection.
    public struct Connection: TelemetryRecord {
        public var id: UInt64 = 0
        /// `inbound` (a client's) or `outbound` (to an upstream).
        public var dir = ""
        public var model = ""
        /// The listener or cluster it belongs to.
        public var owner = ""
        public var peer = ""
        public var ageMs: UInt64 = 0
        /// The thread doing its I/O.
        public var thread = ""
        /// The thread running its handler.
        public var handler = ""
        public var bytesIn: UInt64 = 0
        public var bytesOut: UInt64 = 0
        public var writev: UInt64 = 0
        public var buffers: UInt64 = 0
        /// Reading paused by back-pressure.
        public var paused = false
        /// What its TLS handshake agreed on; nil (absent) for plaintext (FrameTLS.swift).
        public var tls: ConnectionTLS?

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("id", &id)
            c.field("dir", &dir)
            c.field("model", &model)
            c.field("owner", &owner)
            c.field("peer", &peer)
            c.field("age_ms", &ageMs)
            c.field("thread", &thread)
            c.field("handler", &handler)
            c.field("bytes_in", &bytesIn)
            c.field("bytes_out", &bytesOut)
            c.field("writev", &writev)
            c.field("buffers", &buffers)
            c.field("paused", &paused)
            c.field("tls", &tls)
        }
    }
}
