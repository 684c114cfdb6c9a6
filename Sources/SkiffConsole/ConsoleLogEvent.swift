import SkiffJSON
import SkiffTelemetry

/// A log line of the process the console runs in (`skiff start --tui` without a log file), shown in the Events view
/// as a `log` event. It never leaves the process: no control-socket subscriber sees it.
public enum ConsoleLogEvent {
    public static let kind = "log"

    public static func event(ts: UInt64, level: String, label: String, message: String) -> TelemetryEvent {
        TelemetryEvent(
            ts: ts,
            .other(
                kind: kind,
                fields: [
                    JSONMember(key: "level", value: .string(level)), JSONMember(key: "from", value: .string(label)),
                    JSONMember(key: "message", value: .string(message)),
                ]))
    }
}
