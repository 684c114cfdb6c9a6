import Glibc

/// A connection's queue of buffers waiting to be written, drained by gathering up to `maxCoalesce` of them into one
/// writev (the same code for both thread models).
///
/// A growable ring (no `removeFirst` on a large array). Not thread-safe: the owning `Connection` guards it with its
/// lock; only that connection's single flusher (its poller, or its writer thread) consumes.
struct WriteQueue {
    private var ring: ContiguousArray<ByteBuffer?>
    private var head = 0
    private(set) var count = 0
    /// Unwritten bytes across all queued buffers.
    private(set) var bytes = 0

    init(initialCapacity: Int = 8) {
        var cap = 1
        while cap < initialCapacity { cap <<= 1 }
        ring = ContiguousArray(repeating: nil, count: cap)
    }

    var isEmpty: Bool { count == 0 }

    /// Whether the last queued buffer was made by the connection itself for copied bytes (`Connection.write(copying:)`),
    /// so more copies may be appended to it; never true for a caller's buffer, which the caller may still read.
    private var tailIsOwn = false

    mutating func append(_ b: ByteBuffer, ownTail: Bool = false) {
        if count == ring.count { grow() }
        ring[(head + count) & (ring.count - 1)] = b
        count += 1
        bytes += b.readableBytes
        tailIsOwn = ownTail
    }

    /// Copies `source` onto the end of the last queued buffer when the queue made it and it has room; returns the
    /// copy (to edit in place), or nil. A flush in progress gathered only the bytes that were there before, and
    /// `consume` counts bytes, so an append behind it is written by the next writev.
    mutating func appendToOwnTail(_ source: UnsafeRawBufferPointer) -> UnsafeMutableRawBufferPointer? {
        guard tailIsOwn, count > 0, let base = source.baseAddress,
            let last = ring[(head + count - 1) & (ring.count - 1)], last.writableBytes >= source.count
        else { return nil }
        let destination = last.writePointer
        destination.copyMemory(from: base, byteCount: source.count)
        last.writerIndex += source.count
        bytes += source.count
        return UnsafeMutableRawBufferPointer(start: destination, count: source.count)
    }

    private mutating func grow() {
        var bigger = ContiguousArray<ByteBuffer?>(repeating: nil, count: ring.count * 2)
        for i in 0..<count { bigger[i] = ring[(head + i) & (ring.count - 1)] }
        ring = bigger
        head = 0
    }

    /// Fills `iov` with up to `max` buffers from the front; returns how many and their total bytes.
    func gather(into iov: UnsafeMutablePointer<iovec>, max: Int) -> (count: Int, bytes: Int) {
        let n = Swift.min(max, count)
        var total = 0
        for i in 0..<n {
            let b = ring[(head + i) & (ring.count - 1)].unsafelyUnwrapped
            iov[i] = iovec(iov_base: b.readPointer, iov_len: b.readableBytes)
            total += b.readableBytes
        }
        return (n, total)
    }

    /// Drops `written` bytes from the front, releasing buffers fully written.
    mutating func consume(_ written: Int) {
        var left = written
        bytes -= written
        while left > 0 {
            let b = ring[head].unsafelyUnwrapped
            let r = b.readableBytes
            if left >= r {
                left -= r
                ring[head] = nil
                head = (head + 1) & (ring.count - 1)
                count -= 1
                b.release()
            } else {
                b.readerIndex += left
                left = 0
            }
        }
        // Empty buffers queued by a caller would otherwise sit at the front forever.
        while count > 0, let b = ring[head], b.readableBytes == 0 {
            ring[head] = nil
            head = (head + 1) & (ring.count - 1)
            count -= 1
            b.release()
        }
    }

    /// Releases everything (on close).
    mutating func removeAll() {
        while count > 0 {
            ring[head]?.release()
            ring[head] = nil
            head = (head + 1) & (ring.count - 1)
            count -= 1
        }
        bytes = 0
    }
}
