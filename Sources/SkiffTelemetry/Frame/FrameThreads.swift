extension TelemetryFrame {
    /// Both thread models: netpoll pollers, worker shards, rwloop's thread counts.
    public struct Threads: TelemetryRecord {
        public var pollers: [Poller] = []
        public var workers: [Worker] = []
        public var rwloop = RWLoop()
        /// Per listener: what its thread model costs (`FrameThreadDetail.swift`).
        public var listeners: [ListenerCost] = []

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("pollers", &pollers)
            c.field("workers", &workers)
            c.field("rwloop", &rwloop)
            c.field("listeners", &listeners)
        }
    }

    /// One netpoll poller (an epoll loop on its thread).
    public struct Poller: TelemetryRecord {
        /// The poller group (named after its listener, or `health`).
        public var group = ""
        public var index: Int = 0
        public var tid: Int = 0
        /// Descriptors registered.
        public var fds: Int = 0
        public var wakeups: UInt64 = 0
        public var events: UInt64 = 0
        public var cpuMs: UInt64 = 0

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("group", &group)
            c.field("index", &index)
            c.field("tid", &tid)
            c.field("fds", &fds)
            c.field("wakeups", &wakeups)
            c.field("events", &events)
            c.field("cpu_ms", &cpuMs)
        }

        /// `group/index`, stable across frames (for rates).
        public var id: String { "\(group)/\(index)" }
    }

    /// One worker shard of a listener's pool.
    public struct Worker: TelemetryRecord {
        public var pool = ""
        public var index: Int = 0
        public var tid: Int = 0
        public var busy = false
        public var queue: Int = 0
        public var maxQueue: Int = 0
        public var processed: UInt64 = 0
        public var cpuMs: UInt64 = 0

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("pool", &pool)
            c.field("index", &index)
            c.field("tid", &tid)
            c.field("busy", &busy)
            c.field("queue", &queue)
            c.field("max_queue", &maxQueue)
            c.field("processed", &processed)
            c.field("cpu_ms", &cpuMs)
        }

        /// `pool/index`, stable across frames (for rates).
        public var id: String { "\(pool)/\(index)" }
    }

    /// rwloop's threads: a reader and a writer per connection.
    public struct RWLoop: TelemetryRecord {
        public var readers: Int = 0
        public var writers: Int = 0
        public var connections: Int = 0
        public var spawnFailures: UInt64 = 0
        /// Thread by thread (at most `RWLoop.maxThreadRows`, the busiest connections first).
        public var threads: [RWThread] = []
        public static let maxThreadRows = 256

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("readers", &readers)
            c.field("writers", &writers)
            c.field("connections", &connections)
            c.field("spawn_failures", &spawnFailures)
            c.field("threads", &threads)
        }
    }
}
