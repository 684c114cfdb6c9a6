import Glibc
import SkiffJSON
import SkiffNet
import SkiffTelemetry
import Synchronization

/// The engine's two rings and the event side of telemetry: frames (pushed by the publisher) and events (pushed by
/// anyone: connection open/close, admin actions with the operator's uid, reloads, errors).
///
/// Threads: `event` may be called from any thread (the event ring takes a short mutex; events are not per request).
public final class TelemetryHub: ConnectionObserver, @unchecked Sendable {
    public let frames: FrameRing
    public let events: EventRing
    /// The live request tap (samples of finished requests while someone watches; see `RequestTap`).
    public let requests: RequestTap
    /// Connection open/close events are useful in the Events view but not at any price: at most this many per
    /// second are recorded; the rest are counted in `connectionEventsDropped`.
    public let connectionEventBudget: Int
    public let connectionEventsDropped = Atomic<UInt64>(0)
    private let budgetWindow = Atomic<UInt64>(0)
    private let budgetUsed = Atomic<Int>(0)

    public init(
        frameBytes: Int = 8 << 20, eventBytes: Int = 2 << 20, connectionEventBudget: Int = 1000,
        requestSamplesPerSecond: Int = RequestTap.defaultMaxPerSecond
    ) {
        requests = RequestTap(maxPerSecond: requestSamplesPerSecond)
        frames = FrameRing(capacityBytes: frameBytes)
        events = EventRing(capacityBytes: eventBytes)
        self.connectionEventBudget = connectionEventBudget
    }

    /// Wall-clock milliseconds since the epoch (events and frames carry it for people; sequence numbers order them).
    static func wallMillis() -> UInt64 { WallClock.millis() }

    /// Stamps an event with the wall clock, encodes it (`{"type":"event","ts":...,"kind":...,<members>}`) and
    /// pushes it into the event ring.
    public func event(_ body: TelemetryEvent.Body) {
        // Events are a few hundred bytes: a small first allocation (the default 4 KiB cost a large malloc per
        // connection event).
        var w = JSONWriter(capacity: 320)
        TelemetryEvent(ts: TelemetryHub.wallMillis(), body).encode(into: &w)
        w.bytes.withUnsafeBytes { _ = events.push($0) }
    }

    private func takeConnectionBudget() -> Bool {
        let second = MonotonicClock.coarse() / 1_000_000_000
        if budgetWindow.exchange(second, ordering: .relaxed) != second { budgetUsed.store(0, ordering: .relaxed) }
        if budgetUsed.wrappingAdd(1, ordering: .relaxed).newValue > connectionEventBudget {
            connectionEventsDropped.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        return true
    }

    public func connectionOpened(_ c: Connection) {
        guard takeConnectionBudget() else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: SocketAddress.maxTextLength) { peerText in
            let peerCount = c.peerAddress?.writeText(to: peerText.baseAddress!) ?? 0
            TelemetryEvent.ConnectionOpen.withLine(
                ts: TelemetryHub.wallMillis(), conn: c.id, dir: c.direction.rawValue, owner: c.label,
                peer: UnsafeBufferPointer(rebasing: peerText[..<peerCount])
            ) { _ = events.push($0) }
        }
    }

    public func connectionClosed(_ c: Connection, reason: CloseReason) {
        guard takeConnectionBudget() else { return }
        TelemetryEvent.ConnectionClose.withLine(
            ts: TelemetryHub.wallMillis(), conn: c.id, owner: c.label, reason: reason.description,
            bytesIn: c.stats.bytesRead.load(ordering: .relaxed),
            bytesOut: c.stats.bytesWritten.load(ordering: .relaxed)
        ) { _ = events.push($0) }
    }
}
