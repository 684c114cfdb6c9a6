import Glibc
import SkiffControl
import SkiffJSON
import SkiffTelemetry

/// What probes and inventories ask the admin API (Envoy's and MOSN's paths): `GET /ready` (200 `LIVE` while serving
/// and configured; 503 with the state otherwise: a Kubernetes readiness probe), `GET /healthz` (200 `ok` while the
/// process answers and is not stopped: liveness), `GET /api/v1/version`, `GET /server_info`.
extension AdminAPI {
    static func installProbes(on server: AdminHTTPServer, engine: Engine, control: EngineControl) {
        server.route("GET", "/ready") { _ in
            control.isReady ? .text("LIVE\n") : .text("\(control.stateName.uppercased())\n", status: 503)
        }
        server.route("GET", "/healthz") { _ in
            control.stateName == "stopped" ? .text("stopped\n", status: 503) : .text("ok\n")
        }
        server.route("GET", "/api/v1/version") { _ in .json(versionJSON(engine)) }
        server.route("GET", "/server_info") { _ in .json(serverInfo(engine, control)) }
    }

    static func versionJSON(_ engine: Engine) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("version")
        w.string(engine.version)
        w.key("build")
        w.string(buildDescription)
        w.endObject()
        return w.bytes
    }

    /// How this binary was built: the configuration and the compiler (`BuildInfo`).
    static var buildDescription: String { BuildInfo.description }

    /// Uptime, pid, config path, state, readiness and each listener's thread model.
    static func serverInfo(_ engine: Engine, _ control: EngineControl) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("version")
        w.string(engine.version)
        w.key("state")
        w.string(control.stateName)
        w.key("ready")
        w.bool(control.isReady)
        w.key("pid")
        w.int(Int(getpid()))
        w.key("uptime_ms")
        w.uint(TelemetryHub.wallMillis() &- engine.publisher.startedWall)
        w.key("config_path")
        w.string(engine.configPath)
        w.key("listeners")
        w.beginArray()
        for l in engine.listeners {
            w.beginObject()
            w.key("name")
            w.string(l.name)
            w.key("address")
            w.string("\(l.address)")
            w.key("thread_model")
            w.string(l.model.rawValue)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}

/// MOSN's `POST /api/v1/update_loglevel` (`{"log_level":"DEBUG"}`): the process's log level, changed at run time.
/// MOSN's per-logger `log_path` has no meaning in Skiff's single log and is refused rather than ignored.
extension AdminAPI {
    static func installLogLevel(on server: AdminHTTPServer, control: EngineControl) {
        server.route("POST", "/api/v1/update_loglevel") { req in
            guard let body = try? JSONParser.parse(req.body), case .string(let level)? = body["log_level"] else {
                return .json(Array(#"{"error":"body: {\"log_level\": \"DEBUG\"} expected"}"#.utf8), status: 400)
            }
            if let path = body["log_path"]?.stringValue, !path.isEmpty {
                return .json(
                    Array(#"{"error":"log_path: skiff has one log; give log_level only"}"#.utf8), status: 400)
            }
            switch control.setLogLevel(level, by: "admin http \(req.remoteAddress)") {
            case .ok(let fields): return .json(fields)
            case .error(let e): return .json(Array("{\"error\":\"\(e.replacingQuotes)\"}".utf8), status: 400)
            }
        }
    }
}
