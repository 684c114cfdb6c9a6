/// The metrics ring: the publisher thread pushes one encoded frame per tick, any number of readers (the in-process
/// console, control-socket subscribers streaming to `skiff top`) follow it with their own cursors.
///
/// Fixed capacity in bytes, overwrite oldest, sequence numbers from 1. **Single producer**: only the publisher
/// thread may call ``push(_:)-(UnsafeRawBufferPointer)`` (debug builds trap on two concurrent pushes). Readers may
/// be any threads and never block or slow the producer: each frame is copied out under a per-frame seqlock check
/// and retried if the producer overwrote it mid-copy, so a reader never sees a torn frame (see `ByteRing`). The hot
/// path never touches this type.
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
public final class FrameRing: Sendable {
    let ring: ByteRing

    /// - Parameters:
    ///   - capacityBytes: total buffer size (at least 64); every frame costs its size rounded up to 8, plus 16.
    ///   - maxFrames: an additional bound on retained frames (the sequence index costs 8 bytes per frame);
    ///     defaults to `capacityBytes / 64`, rounded up to a power of two.
    public init(capacityBytes: Int, maxFrames: Int? = nil) {
        ring = ByteRing(capacityBytes: capacityBytes, maxFrames: maxFrames, multiProducer: false)
    }

    /// Appends a frame, overwriting the oldest as needed. Publisher thread only.
    ///
    /// - Returns: the frame's sequence number, or 0 if it exceeds `capacityBytes / 2` (counted in ``rejected``).
    @discardableResult
    public func push(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        ring.push(bytes)
    }

    /// Appends a frame held in an array (a ``JSONWriter``'s `bytes`). Publisher thread only.
    @discardableResult
    public func push(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { ring.push($0) }
    }

    /// Copies the first retained frame after `seq` into `frame` (resized to fit, capacity kept). Any thread.
    ///
    /// `after: 0` returns the oldest retained frame. On `.none`, `frame` is left untouched.
    public func read(after seq: UInt64, into frame: inout [UInt8]) -> FrameRead {
        ring.read(after: seq, into: &frame)
    }

    /// Blocks the calling thread until a frame newer than `seq` exists or `timeoutNs` elapse (monotonic clock).
    ///
    /// - Returns: whether a newer frame exists. For subscriber threads; never call it on a poller.
    public func wait(after seq: UInt64, timeoutNs: UInt64) -> Bool {
        ring.wait(after: seq, timeoutNs: timeoutNs)
    }

    /// Sequence number of the newest frame; 0 before the first push.
    public var latestSeq: UInt64 { ring.latestSeq }
    /// Sequence number of the oldest retained frame; 0 while empty.
    public var oldestSeq: UInt64 { ring.oldestSeq }
    /// Number of retained frames.
    public var count: Int { ring.count }
    /// Buffer size given at init.
    public var capacityBytes: Int { ring.capacityBytes }
    /// Bytes taken by retained frames, 16-byte headers and padding included.
    public var usedBytes: Int { ring.usedBytes }
    /// Frames refused for being larger than half the capacity.
    public var rejected: UInt64 { ring.rejected }
}
