import Glibc
import SkiffJSON

/// The top-level `tracing` block.
extension ConfigDecoder {
    /// `{"enable": true, "driver": "SOFATracer", "config": {"log_path": "/var/log/skiff/trace"}}`; nil when tracing is
    /// off. Where MOSN logs an unknown driver and runs without tracing, Skiff refuses it: a mesh that believes it
    /// traces and does not is worse than a refused config.
    mutating func decodeTracing(_ v: JSONValue, at path: String) -> TracingConfig? {
        // `tracer`: MOSN's deprecated alias, read by nothing in MOSN: refused with the rest of the unknown keys.
        guard let f = fields(v, at: path, ObjectSchema(known: ["enable", "driver", "config"])) else { return nil }
        let enabled = bool(f, "enable") ?? false
        let driver = string(f, "driver")
        if let driver, driver != TracingConfig.driver {
            let why =
                TracingConfig.otherMOSNDrivers.contains(driver)
                ? "MOSN's \(quoted(driver)) driver is not supported by skiff" : "unknown tracing driver \(quoted(driver))"
            fail(f.path("driver"), "\(why) (skiff runs \"\(TracingConfig.driver)\")")
        }
        if enabled && !f.has("driver") { fail(f.path("driver"), "required when enable is true") }
        var directory: String?
        if let c = f["config"], let cf = fields(c, at: f.path("config"), ObjectSchema(known: ["log_path"])) {
            if let p = string(cf, "log_path") {
                if p.isEmpty { fail(cf.path("log_path"), "empty (leave it out for the default)") }
                directory = p
            }
        }
        guard enabled, driver == TracingConfig.driver else { return nil }
        if directory == nil {
            guard let home = Self.homeDirectory() else {
                fail(f.path("config.log_path"), "required: no HOME and no home directory for this user (the default is under it)")
                return nil
            }
            directory = TracingConfig.defaultLogDirectory(home: home)
        }
        return directory.map { TracingConfig(logDirectory: $0) }
    }

    /// `$HOME`, else the user's home directory from the password database (a service started without HOME).
    static func homeDirectory() -> String? {
        if let h = getenv("HOME"), h.pointee != 0 { return String(cString: h) }
        guard let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir, dir.pointee != 0 else { return nil }
        return String(cString: dir)
    }
}

extension SkiffConfiguration {
    /// Gives every `proxy` listener its part in `tracing` (span kind from its `type`, digest file in the directory),
    /// and the others none. The decoder calls it; so does whatever adds listeners later (the xDS snapshot).
    public mutating func stampTracing() {
        for s in servers.indices {
            for l in servers[s].listeners.indices {
                let listener = servers[s].listeners[l]
                guard let tracing, case .proxy? = listener.filterChains.first?.filters.first else {
                    servers[s].listeners[l].tracing = nil
                    continue
                }
                let kind = TraceSpanKind(listenerDirection: listener.direction)
                servers[s].listeners[l].tracing = ListenerTracing(kind: kind, digestPath: tracing.digestPath(kind))
            }
        }
    }
}
