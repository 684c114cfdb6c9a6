import SkiffJSON
import SkiffTelemetry
import Synchronization

/// The intervals frame readers asked for (a `subscribe` with `interval_ms`, the in-process console's `+`/`-`): the
/// publisher ticks at the shortest of them or its own interval, whichever is shorter, so a reader that asks for
/// 250 ms gets frames that fresh. An ask lasts until it is withdrawn (the reader went away).
///
/// Thread-safe: subscriber threads ask and withdraw; the publisher thread reads `shortest` once per tick.
public final class IntervalAsks: Sendable {
    private struct Asks {
        var byID: [UInt64: Int] = [:]
        var nextID: UInt64 = 1
    }
    private let asks = Mutex(Asks())

    public init() {}

    /// Registers (or with `id`, changes) an ask; returns its id.
    @discardableResult
    public func ask(_ ms: Int, id: UInt64? = nil) -> UInt64 {
        asks.withLock { a in
            let key = id ?? a.nextID
            if id == nil { a.nextID += 1 }
            a.byID[key] = ms
            return key
        }
    }

    public func withdraw(_ id: UInt64) { asks.withLock { _ = $0.byID.removeValue(forKey: id) } }

    /// The shortest interval asked for, nil when nobody asks.
    public var shortest: Int? { asks.withLock { $0.byID.values.min() } }
}

/// One paced subscriber's choice of frames: of the frames the publisher pushes (at the shortest interval anyone
/// asked for), it passes one per `intervalMs` on average, by frame time. A frame left out is not lost: its
/// connection changes (`changed`, `closed`) are folded into the next frame passed, so the subscriber's connection
/// table stays whole; counters are cumulative, so rates over the longer gap stay right.
///
/// Owned by one subscriber thread.
public struct FramePacer: Sendable {
    public var intervalMs: Int
    /// Frame time (ms) from which the next frame may pass.
    private var dueTs: UInt64 = 0
    /// Connection changes of frames left out since the last one passed (by id), and ids closed meanwhile.
    private var heldChanged: [UInt64: TelemetryFrame.Connection] = [:]
    private var heldClosed: Set<UInt64> = []

    public init(intervalMs: Int) { self.intervalMs = intervalMs }

    /// The bytes to send for this frame record, or nil to leave it out (its connection changes are kept).
    public mutating func pass(_ record: [UInt8]) -> [UInt8]? {
        guard let json = try? JSONParser.parse(record) else { return record }  // not ours to judge: sent as is
        var frame = TelemetryFrame(json: json)
        let ts = frame.ts
        guard ts >= dueTs else {
            hold(frame.connections)
            return nil
        }
        // The next one is due an interval after this one was (not after it came), so the average holds.
        let step = UInt64(intervalMs)
        dueTs = dueTs == 0 || dueTs + step < ts ? ts + step - step / 10 : dueTs + step
        guard !heldChanged.isEmpty || !heldClosed.isEmpty else { return record }
        var merged = frame.connections ?? TelemetryFrame.Connections()
        hold(frame.connections)
        if merged.table == nil {
            merged.changed = heldChanged.values.sorted { $0.id < $1.id }
            merged.closed = heldClosed.isEmpty ? nil : heldClosed.sorted()
        }
        heldChanged.removeAll()
        heldClosed.removeAll()
        frame.connections = merged
        return frame.jsonBytes
    }

    private mutating func hold(_ section: TelemetryFrame.Connections?) {
        guard let section else { return }
        for c in section.table ?? [] { heldChanged[c.id] = c }
        for c in section.changed ?? [] {
            heldChanged[c.id] = c
            heldClosed.remove(c.id)
        }
        for id in section.closed ?? [] {
            heldChanged.removeValue(forKey: id)
            heldClosed.insert(id)
        }
    }
}
