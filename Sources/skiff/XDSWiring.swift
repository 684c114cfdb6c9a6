import Logging
import SkiffConfig
import SkiffEngine
import SkiffJSON
import SkiffTelemetry
import SkiffXDS

/// Connects the xDS client to a running server: snapshots go to the engine's reload, a file reload goes through
/// the session (so the control plane's resources stay), events go to the ring. The engine never imports SkiffXDS
/// (and so never NIO); this adapter is the only place the two meet.
///
/// Threads: built on the starting thread; the session calls `apply` on the client's stream task.
final class XDSWiring: DynamicConfigSource {
    let session: ADSSession
    let client: ADSClient

    /// Nil when the config has no `dynamic_resources`: nothing is created then.
    static func start(_ server: SkiffServer, logger: Logger) -> XDSWiring? {
        let config = server.options.config
        guard let xds = config.xds, let endpoint = ADSClient.endpoint(of: config) else { return nil }
        let engine = server.engine
        let text = server.options.configText
        let hub = engine.hub
        let session = ADSSession(
            file: config, xds: xds, controlPlane: endpoint.description,
            apply: { [weak server] snapshot in
                guard let server, !server.isStopping else { throw EngineError("the server is stopping") }
                _ = try server.engine.reload(config: snapshot, configText: text, origin: "xds")
            },
            onEvent: { e in
                hub.event(Self.telemetry(e))
                Self.log(e, logger)
            },
            onInitialized: { [weak server] in
                logger.info("xds: the control plane's first config is in: ready")
                server?.dynamicConfigInitialized()
            })
        let wiring = XDSWiring(session: session, client: ADSClient(session: session, endpoint: endpoint))
        engine.dynamicSource = wiring
        wiring.client.start()
        return wiring
    }

    private init(session: ADSSession, client: ADSClient) {
        self.session = session
        self.client = client
    }

    func reloadFile(
        _ file: SkiffConfiguration, reload: (SkiffConfiguration) throws(EngineError) -> ReloadReport
    ) throws(EngineError) -> ReloadReport {
        do {
            return try session.reloadFile(file) { merged in try reload(merged) }
        } catch let e as EngineError {
            throw e
        } catch {
            throw EngineError("\(error)")
        }
    }

    var statusJSON: JSONValue { session.status.json }

    var summary: DynamicConfigSummary {
        let s = session.status
        return DynamicConfigSummary(
            controlPlane: s.controlPlane, connected: s.connected, sinceMs: s.since, lastDisconnect: s.lastDisconnect,
            connects: s.connects, waiting: s.waiting.count,
            types: s.types.map {
                .init(
                    type: $0.type.rawValue, version: $0.version, resources: $0.resources, pushes: $0.pushes, acks: $0.acks,
                    nacks: $0.nacks, lastError: $0.lastError)
            })
    }

    /// One log line per stream opened or lost and per NACK; ACKs at debug (an EDS push a second would flood info).
    static func log(_ e: XDSEvent, _ logger: Logger) {
        switch e {
        case .connected(let cp): logger.info("\("xds: connected to the control plane at \(cp)")")
        case .disconnected(let cp, let reason):
            logger.warning("\("xds: no stream to the control plane at \(cp): \(reason); serving the last config, retrying")")
        case .ack(let t, let v, let n): logger.debug("\("xds: \(t.rawValue) version \(v) applied (\(n) resources)")")
        case .nack(let t, let v, let err):
            logger.warning("\("xds: \(t.rawValue) version \(v) refused (NACK), the previous one stays: \(err)")")
        }
    }

    static func telemetry(_ e: XDSEvent) -> TelemetryEvent.Body {
        switch e {
        case .connected(let cp): return .xdsConnected(.init(controlPlane: cp))
        case .disconnected(let cp, let reason): return .xdsDisconnected(.init(controlPlane: cp, reason: reason))
        case .ack(let t, let v, let n): return .xdsAck(.init(type: t.rawValue, version: v, resources: n))
        case .nack(let t, let v, let err): return .xdsNack(.init(type: t.rawValue, version: v, error: err))
        }
    }
}
