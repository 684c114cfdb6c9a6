import SkiffTelemetry

/// The `xds` part of a frame: the control plane's connection and each resource type's version and counters, read
/// from the engine's dynamic source. Publisher thread (and the `snapshot` / `stats` callers); the source copies its
/// status under its own lock.
extension FramePublisher {
    /// Nil without a dynamic source, so a file-only skiff's frames carry no `xds` member.
    func xdsRecord() -> TelemetryFrame.XDS? {
        engine.dynamicSource.map { TelemetryFrame.XDS($0.summary) }
    }
}

extension TelemetryFrame.XDS {
    init(_ s: DynamicConfigSummary) {
        self.init()
        controlPlane = s.controlPlane
        connected = s.connected
        sinceMs = s.sinceMs
        connects = s.connects
        lastDisconnect = s.lastDisconnect
        waiting = s.waiting
        types = s.types.map { t in
            var r = TelemetryFrame.XDSType()
            r.type = t.type
            r.version = t.version
            r.resources = t.resources
            r.pushes = t.pushes
            r.acks = t.acks
            r.nacks = t.nacks
            r.lastError = t.lastError
            return r
        }
    }
}
