import SkiffConfig
import SkiffJSON

/// Configuration beyond the file: the xDS client (SkiffXDS, wired in by `skiff start`; the engine never imports it).
/// A file reload goes through it so the control plane's resources stay; the control socket, the console and
/// `/metrics` read its status.
///
/// Threads: any; implementations serialise a file reload with their own updates.
public protocol DynamicConfigSource: AnyObject, Sendable {
    /// Merges `file` (a reloaded file's config) with the dynamic resources and applies the result with `reload`;
    /// keeps `file` only if that succeeds.
    func reloadFile(
        _ file: SkiffConfiguration, reload: (SkiffConfiguration) throws(EngineError) -> ReloadReport
    ) throws(EngineError) -> ReloadReport

    /// `skiff ctl xds`: the connection and each resource type's state.
    var statusJSON: JSONValue { get }

    /// The few numbers the console's Overview line and `/metrics` show.
    var summary: DynamicConfigSummary { get }
}

/// The xDS state in numbers: connected or not, and per type (`CDS`, `EDS`, `LDS`, `RDS`) the version, resources
/// and counters.
public struct DynamicConfigSummary: Sendable, Equatable {
    public struct TypeCounts: Sendable, Equatable {
        public var type: String
        public var version: String
        public var resources: Int
        public var pushes: Int
        public var acks: Int
        public var nacks: Int
        public var lastError: String

        public init(type: String, version: String, resources: Int, pushes: Int, acks: Int, nacks: Int, lastError: String) {
            self.type = type
            self.version = version
            self.resources = resources
            self.pushes = pushes
            self.acks = acks
            self.nacks = nacks
            self.lastError = lastError
        }
    }

    public var controlPlane: String
    public var connected: Bool
    /// Wall clock (ms since the epoch) the current stream opened, or the last one was lost; 0 before any.
    public var sinceMs: UInt64
    /// Why the last stream ended or the last attempt failed ("" before any did).
    public var lastDisconnect: String
    public var connects: Int
    /// LDS listeners not bound yet (waiting for routes or endpoints).
    public var waiting: Int
    public var types: [TypeCounts]

    public init(
        controlPlane: String, connected: Bool, sinceMs: UInt64 = 0, lastDisconnect: String = "", connects: Int,
        waiting: Int, types: [TypeCounts]
    ) {
        self.controlPlane = controlPlane
        self.connected = connected
        self.sinceMs = sinceMs
        self.lastDisconnect = lastDisconnect
        self.connects = connects
        self.waiting = waiting
        self.types = types
    }
}
