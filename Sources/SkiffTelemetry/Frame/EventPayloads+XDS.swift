extension TelemetryEvent {
    /// `xds.connected`: an ADS stream to the control plane is open.
    public struct XDSConnected: EventPayload {
        public static let kind: StaticString = "xds.connected"
        public var controlPlane = ""

        public init() {}
        public init(controlPlane: String) { self.controlPlane = controlPlane }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("control_plane", &controlPlane)
        }
    }

    /// `xds.disconnected`: the ADS stream ended; the last applied config keeps serving while Skiff reconnects.
    public struct XDSDisconnected: EventPayload {
        public static let kind: StaticString = "xds.disconnected"
        public var controlPlane = ""
        public var reason = ""

        public init() {}
        public init(controlPlane: String, reason: String) {
            self.controlPlane = controlPlane
            self.reason = reason
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("control_plane", &controlPlane)
            c.field("reason", &reason)
        }
    }

    /// `xds.ack`: an update of one resource type (`CDS`, `EDS`, `LDS`, `RDS`) was applied.
    public struct XDSAck: EventPayload {
        public static let kind: StaticString = "xds.ack"
        public var type = ""
        public var version = ""
        public var resources: Int = 0

        public init() {}
        public init(type: String, version: String, resources: Int) {
            self.type = type
            self.version = version
            self.resources = resources
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("type", &type)
            c.field("version", &version)
            c.field("resources", &resources)
        }
    }

    /// `xds.nack`: an update was refused (`error` names the resource and field); that type keeps its previous state.
    public struct XDSNack: EventPayload {
        public static let kind: StaticString = "xds.nack"
        public var type = ""
        public var version = ""
        public var error = ""

        public init() {}
        public init(type: String, version: String, error: String) {
            self.type = type
            self.version = version
            self.error = error
        }

        public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
            c.field("type", &type)
            c.field("version", &version)
            c.field("error", &error)
        }
    }
}
