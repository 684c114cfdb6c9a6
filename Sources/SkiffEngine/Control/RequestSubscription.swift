import SkiffControl
import SkiffSystem
import SkiffTelemetry

/// A control-socket client watching the live request tap (`subscribe` with `"stream":"requests"`): while it lives
/// the tap samples; its lines are the encoded `TelemetryRequestSample`s, and a `gap` line (`"ring":"requests"`) when
/// lanes overwrote samples before they were sent.
///
/// Threads: the client's thread of the control server (`next`, then `cancel` once).
final class RequestSubscription: ControlSubscription {
    /// How often the lanes are looked at while nothing is there (they have no wake-up signal: a producer never
    /// pays for one).
    static let pollNs: UInt64 = 20_000_000
    let reader: RequestTapReader
    private var reportedMissed: UInt64 = 0

    init(reader: RequestTapReader) { self.reader = reader }

    func next(timeoutNs: UInt64) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        let deadline = MonotonicClock.now() &+ timeoutNs
        while true {
            reader.poll { lines.append($0) }
            if reader.missed > reportedMissed {
                lines.append(StreamGap(ring: "requests", missed: reader.missed - reportedMissed).jsonBytes)
                reportedMissed = reader.missed
            }
            let now = MonotonicClock.now()
            if !lines.isEmpty || now >= deadline { return lines }
            MonotonicClock.sleep(ns: min(Self.pollNs, deadline - now))
        }
    }

    func cancel() { reader.close() }
}
