/// The event ring: health transitions, admin actions and who did them, reloads, connection open/close, errors.
///
/// Same semantics and read API as ``FrameRing`` (bounded bytes, overwrite oldest, sequence numbers from 1, readers
/// with cursors and exact `missed` counts, never a torn event), but **any thread may push**: the health checker, the
/// control socket, the engine, connection close paths. Concurrent pushes are serialised by a `Mutex` held only while
/// the event's bytes are written into the ring (a few hundred nanoseconds): events are rare, never one per request,
/// so the lock is not on the hot path's budget. Readers never take it.
///
/// ```swift
/// events.push(writer.bytes)                 // any thread
/// let next = events.read(after: cursor, into: &event)
/// ```
public final class EventRing: Sendable {
    let ring: ByteRing

    /// - Parameters:
    ///   - capacityBytes: total buffer size (at least 64); every event costs its size rounded up to 8, plus 16.
    ///   - maxFrames: an additional bound on retained events (the sequence index costs 8 bytes per event);
    ///     defaults to `capacityBytes / 64`, rounded up to a power of two.
    public init(capacityBytes: Int, maxFrames: Int? = nil) {
        ring = ByteRing(capacityBytes: capacityBytes, maxFrames: maxFrames, multiProducer: true)
    }

    /// Appends an event, overwriting the oldest as needed. Any thread.
    ///
    /// - Returns: the event's sequence number, or 0 if it exceeds `capacityBytes / 2` (counted in ``rejected``).
    @discardableResult
    public func push(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        ring.push(bytes)
    }

    /// Appends an event held in an array. Any thread.
    @discardableResult
    public func push(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { ring.push($0) }
    }

    /// Copies the first retained event after `seq` into `event` (resized to fit, capacity kept). Any thread.
    ///
    /// `after: 0` returns the oldest retained event. On `.none`, `event` is left untouched.
    public func read(after seq: UInt64, into event: inout [UInt8]) -> FrameRead {
        ring.read(after: seq, into: &event)
    }

    /// Blocks the calling thread until an event newer than `seq` exists or `timeoutNs` elapse (monotonic clock).
    ///
    /// - Returns: whether a newer event exists. For subscriber threads; never call it on a poller.
    public func wait(after seq: UInt64, timeoutNs: UInt64) -> Bool {
        ring.wait(after: seq, timeoutNs: timeoutNs)
    }

    /// Sequence number of the newest event; 0 before the first push.
    public var latestSeq: UInt64 { ring.latestSeq }
    /// Sequence number of the oldest retained event; 0 while empty.
    public var oldestSeq: UInt64 { ring.oldestSeq }
    /// Number of retained events.
    public var count: Int { ring.count }
    /// Buffer size given at init.
    public var capacityBytes: Int { ring.capacityBytes }
    /// Bytes taken by retained events, 16-byte headers and padding included.
    public var usedBytes: Int { ring.usedBytes }
    /// Events refused for being larger than half the capacity.
    public var rejected: UInt64 { ring.rejected }
}
