extension TelemetryFrame {
    /// One rwloop thread: the reader or the writer of one connection.
    public struct RWThread: TelemetryRecord {
        public var tid: Int = 0
        /// `reader` or `writer`.
        public var role = ""
        public var conn: UInt64 = 0
        /// The listener or cluster the connection belongs to.
        public var owner = ""
        public var peer = ""
        /// `blocked in read`, `handling`, `writing`, `idle`.
        public var state = ""
        public var cpuMs: UInt64 = 0
        /// Bytes this thread moved: read (reader) or written (writer).
        public var bytes: UInt64 = 0

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("tid", &tid)
            c.field("role", &role)
            c.field("conn", &conn)
            c.field("owner", &owner)
            c.field("peer", &peer)
            c.field("state", &state)
            c.field("cpu_ms", &cpuMs)
            c.field("bytes", &bytes)
        }
    }

    /// What one listener's thread model costs, as counters (a reader divides the differences of two frames):
    /// the trade-off of netpoll and rwloop side by side.
    public struct ListenerCost: TelemetryRecord {
        public var name = ""
        public var model = ""
        public var connections: Int = 0
        /// Threads serving it now: its group's pollers (netpoll), a reader and a writer per connection plus the
        /// accept thread (rwloop), and its worker shards.
        public var threads: Int = 0
        /// CPU those threads have used (pollers shared by several listeners count for each).
        public var cpuMs: UInt64 = 0
        /// Requests (or tcp_proxy sessions) so far.
        public var requests: UInt64 = 0
        /// read + writev calls on its connections, plus its pollers' epoll_wait calls (netpoll).
        public var syscalls: UInt64 = 0
        /// Buffers queued and writev calls on its connections (buffers per writev is their ratio).
        public var buffers: UInt64 = 0
        public var writev: UInt64 = 0
        /// Memory a connection holds: thread stacks (rwloop) plus pooled buffers in use per connection.
        public var memPerCx: UInt64 = 0

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("name", &name)
            c.field("model", &model)
            c.field("connections", &connections)
            c.field("threads", &threads)
            c.field("cpu_ms", &cpuMs)
            c.field("requests", &requests)
            c.field("syscalls", &syscalls)
            c.field("buffers", &buffers)
            c.field("writev", &writev)
            c.field("mem_per_cx", &memPerCx)
        }
    }
}
