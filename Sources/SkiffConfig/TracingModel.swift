/// MOSN's top-level `tracing` block, as Skiff acts on it (docs/tracing.md): the `SOFATracer` driver only.
///
/// With it on, every listener whose filter is `proxy` takes part: HTTP and Bolt requests carry SOFA's trace id and
/// rpc id upstream (generated when absent, the rpc id extended for a call made inside a traced request), HTTP requests
/// carry a W3C `traceparent`, and each request adds a line to a digest log in SOFATracer's JSON shape:
/// `rpc-server-digest.log` for `ingress` listeners, `rpc-client-digest.log` for the others.
public struct TracingConfig: Sendable, Equatable {
    /// `config.log_path`: the directory of the digest logs (MOSN's default `$HOME/logs/tracelog/mosn`).
    public var logDirectory: String

    public init(logDirectory: String) {
        self.logDirectory = logDirectory
    }

    /// The driver Skiff runs (`driver` is case-sensitive, as in MOSN).
    public static let driver = "SOFATracer"
    /// MOSN's drivers Skiff refuses by name (each traces HTTP only, through a collector Skiff has no client for).
    public static let otherMOSNDrivers = ["Zipkin", "jaeger", "SkyWalking", "otel", "PluginDriver"]

    /// MOSN's default directory for `home` (`$HOME`).
    public static func defaultLogDirectory(home: String) -> String { Self.join(home, "logs/tracelog/mosn") }

    /// Where a listener of `kind` writes its digest lines.
    public func digestPath(_ kind: TraceSpanKind) -> String { Self.join(logDirectory, kind.digestFileName) }

    private static func join(_ directory: String, _ name: String) -> String {
        (directory.hasSuffix("/") ? String(directory.dropLast()) : directory) + "/" + name
    }
}

/// Which side of a call a listener's spans are, from its `type`: `ingress` listeners receive calls for the local
/// application (server spans), every other listener carries the application's calls out (client spans).
public enum TraceSpanKind: String, Sendable, Equatable {
    case server
    case client

    public init(listenerDirection: String?) {
        self = listenerDirection == "ingress" ? .server : .client
    }

    /// The digest log's file name in the tracing directory.
    public var digestFileName: String {
        switch self {
        case .server: "rpc-server-digest.log"
        case .client: "rpc-client-digest.log"
        }
    }
}

/// What one listener does for tracing: its span kind and the digest file its lines go to. Set on the listener's
/// config (`ListenerConfig.tracing`) from the top-level block, so a reload that changes it is a listener change.
public struct ListenerTracing: Sendable, Equatable {
    public var kind: TraceSpanKind
    /// The digest log's path.
    public var digestPath: String

    public init(kind: TraceSpanKind, digestPath: String) {
        self.kind = kind
        self.digestPath = digestPath
    }
}
