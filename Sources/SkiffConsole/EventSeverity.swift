import SkiffTelemetry

/// How much an event matters to an operator, which the Events view shows as its colour: errors red, warnings
/// yellow, recoveries green, operator actions in the accent colour, the rest plain.
public enum EventSeverity: Sendable, Equatable {
    case error, warning, recovery, action, info

    /// Connection open/close events: hidden from the Events view unless `c` shows them.
    public static let connectionPrefix = "conn."

    public static func of(_ e: ConsoleEvent) -> EventSeverity {
        func field(_ key: String) -> String { e.fields.first { $0.key == key }?.value ?? "" }
        switch e.kind {
        case "engine.error": return .error
        case "host.health": return field("to").hasPrefix("UP") ? .recovery : .error
        case "host.drain_timeout": return .warning
        case "host.drained": return .recovery
        // The control plane: a lost stream or a refused update leaves Skiff serving an older config.
        case "xds.nack", "xds.disconnected": return .warning
        case "xds.connected": return .recovery
        case "host.admin", "admin.reload", "admin.stop", "admin.upgrade", "config.reload": return .action
        case ConsoleLogEvent.kind:
            switch field("level") {
            case "critical", "error": return .error
            case "warning": return .warning
            default: return .info
            }
        default: return e.kind.contains("error") ? .error : .info
        }
    }

    public var role: ColorRole {
        switch self {
        case .error: return .bad
        case .warning: return .warn
        case .recovery: return .ok
        case .action: return .accent
        case .info: return .normal
        }
    }
}
