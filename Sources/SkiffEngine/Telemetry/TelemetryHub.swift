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
    /// Connection open/close events are useful in the Events view but not at any price: at most this many per
    /// second are recorded; the rest are counted in `connectionEventsDropped`.
    public let connectionEventBudget: Int
    public let connectionEventsDropped = Atomic<UInt64>(0)
    private let budgetWindow = Atomic<UInt64>(0)
    private let budgetUsed = Atomic<Int>(0)

    public init(frameBytes: Int = 8 << 20, eventBytes: Int = 2 << 20, connectionEventBudget: Int = 1000) {
        frames = FrameRing(capacityBytes: frameBytes)
        events = EventRing(capacityBytes: eventBytes)
        self.connectionEventBudget = connectionEventBudget
    }

    /// Wall-clock milliseconds since the epoch (events and frames carry it for people; sequence numbers order them).
    static func wallMillis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec / 1_000_000)
    }

    /// Encodes one event `{"type":"event","ts":...,"kind":...,<fields>}` and pushes it.
    public func event(_ kind: StaticString, _ fields: (inout JSONWriter) -> Void) {
        // Events are a few hundred bytes: a small first allocation (the default 4 KiB cost a large malloc per
        // connection event).
        var w = JSONWriter(capacity: 320)
        w.beginObject()
        w.key("type")
        w.string("event")
        w.key("ts")
        w.uint(TelemetryHub.wallMillis())
        w.key("kind")
        w.string(kind)
        fields(&w)
        w.endObject()
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
        event("conn.open") { w in
            w.key("conn")
            w.uint(c.id)
            w.key("dir")
            w.string(c.direction.rawValue)
            w.key("owner")
            w.string(c.label)
            w.key("peer")
            w.string(c.peerAddress?.description ?? "")
        }
    }

    public func connectionClosed(_ c: Connection, reason: CloseReason) {
        guard takeConnectionBudget() else { return }
        event("conn.close") { w in
            w.key("conn")
            w.uint(c.id)
            w.key("owner")
            w.string(c.label)
            w.key("reason")
            w.string(reason.description)
            let s = c.stats.snapshot
            w.key("bytes_in")
            w.uint(s.bytesRead)
            w.key("bytes_out")
            w.uint(s.bytesWritten)
        }
    }
}
