import Logging
import SkiffTelemetry
import Synchronization

/// Errors nobody waits for: on a background thread, or where no caller could be told (the last word to a binary
/// upgrade's old process, a log file reopened on SIGUSR1, a config that no longer encodes). Each one is logged at
/// error level, counted (`engine_errors` in the control socket's `stats` reply, `skiff_engine_errors_total` in
/// `/metrics`) and recorded as an `engine.error` event; none is dropped.
///
/// Thread-safe.
public final class BackgroundErrors: Sendable {
    private let counter = Atomic<UInt64>(0)
    private let logger: Logger
    private let hub: TelemetryHub

    init(logger: Logger, hub: TelemetryHub) {
        self.logger = logger
        self.hub = hub
    }

    /// Errors recorded since start.
    public var count: UInt64 { counter.load(ordering: .acquiring) }

    /// Records `error` met while doing `context` ("reopening the log file").
    public func record(_ context: String, _ error: any Error) {
        record(context, message: "\(error)")
    }

    /// Records a failure described by `message`.
    public func record(_ context: String, message: String) {
        logger.error("\("\(context): \(message)")")
        hub.event(.engineError(.init(context: context, error: message)))
        // Last: whoever sees the count sees the line and the event.
        counter.wrappingAdd(1, ordering: .releasing)
    }
}
