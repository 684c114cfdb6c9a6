extension TelemetryFrame {
    /// The control plane as a frame carries it (a frame's `xds`): the ADS connection and, per resource type, the
    /// accepted version and counters. Present only when Skiff runs an xDS client (the config has
    /// `dynamic_resources`); a file-only skiff's frames carry no `xds` member, and a reader that does not know it
    /// skips it.
    ///
    /// A value: built by the publisher thread, decoded on the reader's.
    public struct XDS: TelemetryRecord {
        /// `host:port` of the ADS endpoint.
        public var controlPlane = ""
        public var connected = false
        /// Wall clock (ms since the epoch) the current stream opened, or the last one was lost; 0 before any.
        public var sinceMs: UInt64 = 0
        /// Streams opened (the first one included).
        public var connects: Int = 0
        /// Why the last stream ended or the last attempt failed ("" before any did).
        public var lastDisconnect = ""
        /// LDS listeners not bound yet (waiting for their routes or endpoints).
        public var waiting: Int = 0
        /// `CDS`, `EDS`, `LDS`, `RDS`, in that order.
        public var types: [XDSType] = []

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("control_plane", &controlPlane)
            c.field("connected", &connected)
            c.field("since_ms", &sinceMs)
            c.field("connects", &connects)
            c.field("last_disconnect", &lastDisconnect)
            c.field("waiting", &waiting)
            c.field("types", &types)
        }

        /// NACKs of every type since start.
        public var totalNacks: Int { types.reduce(0) { $0 + $1.nacks } }
    }

    /// One resource type's subscription: the version last accepted ("" before any), how many resources it holds,
    /// responses received, ACKed and NACKed, and the last NACK's error ("" when none).
    ///
    /// A value: built by the publisher thread, decoded on the reader's.
    public struct XDSType: TelemetryRecord {
        public var type = ""
        public var version = ""
        public var resources: Int = 0
        public var pushes: Int = 0
        public var acks: Int = 0
        public var nacks: Int = 0
        public var lastError = ""

        public init() {}

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("type", &type)
            c.field("version", &version)
            c.field("resources", &resources)
            c.field("pushes", &pushes)
            c.field("acks", &acks)
            c.field("nacks", &nacks)
            c.field("last_error", &lastError)
        }
    }
}
