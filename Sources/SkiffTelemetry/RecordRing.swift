/// Who may push into a ``RecordRing``: the type parameter that makes a frame ring and an event ring two types with
/// one implementation.
public protocol RingProducers {
    /// Whether concurrent pushes are serialised (a mutex held while the bytes are written) or forbidden.
    static var many: Bool { get }
}

/// One producer thread only (debug builds trap on two concurrent pushes).
public enum SingleProducer: RingProducers { public static var many: Bool { false } }
/// Any thread may push; pushes are serialised by a mutex readers never take.
public enum ManyProducers: RingProducers { public static var many: Bool { true } }

/// The metrics ring: the publisher thread pushes one encoded frame per tick, any number of readers (the in-process
/// console, control-socket subscribers streaming to `skiff top`) follow it with their own cursors. The hot path never
/// touches it.
///
/// ```swift
/// let ring = FrameRing(capacityBytes: 4 << 20)
/// ring.push(encoder.bytes)                                  // publisher thread, once per tick
///
/// var cursor: UInt64 = 0, frame: [UInt8] = []               // a subscriber thread
/// while running {
///     guard ring.wait(after: cursor, timeoutNs: 1_000_000_000) else { continue }
///     while case .frame(let seq, let missed) = ring.read(after: cursor, into: &frame) {
///         cursor = seq                                       // `missed` frames were lost to overwrite
///         send(frame)
///     }
/// }
/// ```
public typealias FrameRing = RecordRing<SingleProducer>

/// The event ring: health transitions, admin actions and who did them, reloads, connection open/close, errors. Any
/// thread may push (the health checker, the control socket, the engine, connection close paths); events are rare,
/// never one per request, so the push lock is not on the hot path's budget. Readers never take it.
///
/// ```swift
/// events.push(writer.bytes)                 // any thread
/// let next = events.read(after: cursor, into: &event)
/// ```
public typealias EventRing = RecordRing<ManyProducers>

/// A bounded ring of variable-size byte records with sequence numbers from 1 that overwrites the oldest: readers on
/// any thread follow it with their own cursors, get exact `missed` counts, never see a torn record and never block a
/// producer (see `ByteRing` for how).
public final class RecordRing<Producers: RingProducers>: Sendable {
    let ring: ByteRing

    /// - Parameters:
    ///   - capacityBytes: total buffer size (at least 64); every record costs its size rounded up to 8, plus 16.
    ///   - maxFrames: an additional bound on retained records (the sequence index costs 8 bytes per record);
    ///     defaults to `capacityBytes / 64`, rounded up to a power of two.
    public init(capacityBytes: Int, maxFrames: Int? = nil) {
        ring = ByteRing(capacityBytes: capacityBytes, maxFrames: maxFrames, multiProducer: Producers.many)
    }

    /// Appends a record, overwriting the oldest as needed. The producer thread (any thread for ``EventRing``).
    ///
    /// - Returns: the record's sequence number, or 0 if it exceeds `capacityBytes / 2` (counted in ``rejected``).
    @discardableResult
    public func push(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        ring.push(bytes)
    }

    /// Appends a record held in an array (a ``JSONWriter``'s `bytes`).
    @discardableResult
    public func push(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { ring.push($0) }
    }

    /// Copies the first retained record after `seq` into `record` (resized to fit, capacity kept). Any thread.
    ///
    /// `after: 0` returns the oldest retained record. On `.none`, `record` is left untouched.
    public func read(after seq: UInt64, into record: inout [UInt8]) -> FrameRead {
        ring.read(after: seq, into: &record)
    }

    /// Blocks the calling thread until a record newer than `seq` exists or `timeoutNs` elapse (monotonic clock).
    ///
    /// - Returns: whether a newer record exists. For subscriber threads; never call it on a poller.
    public func wait(after seq: UInt64, timeoutNs: UInt64) -> Bool {
        ring.wait(after: seq, timeoutNs: timeoutNs)
    }

    /// Sequence number of the newest record; 0 before the first push.
    public var latestSeq: UInt64 { ring.latestSeq }
    /// Sequence number of the oldest retained record; 0 while empty.
    public var oldestSeq: UInt64 { ring.oldestSeq }
    /// Number of retained records.
    public var count: Int { ring.count }
    /// Buffer size given at init.
    public var capacityBytes: Int { ring.capacityBytes }
    /// Bytes taken by retained records, 16-byte headers and padding included.
    public var usedBytes: Int { ring.usedBytes }
    /// Records refused for being larger than half the capacity.
    public var rejected: UInt64 { ring.rejected }
}
