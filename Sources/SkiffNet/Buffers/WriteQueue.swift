import Glibc

/// A connection's queue of buffers waiting to be written, drained by gathering up to `maxCoalesce` of them into one
/// writev (the same code for both thread models).
///
/// A growable ring (no `removeFirst` on a large array) of buffers it owns: one reference each, held unmanaged in
/// memory of its own, so queueing and writing a buffer counts its reference once in and once out and never checks an
/// array for uniqueness (an array of optionals cost about 300 instructions per proxied request in retains, releases
/// and copy-on-write checks). Noncopyable: the storage has one owner, freed with it.
///
/// Not thread-safe: the owning `Connection` guards it with its lock; only that connection's single flusher (its
/// poller, or its writer thread) consumes.
struct WriteQueue: ~Copyable {
    private var ring: UnsafeMutablePointer<Unmanaged<ByteBuffer>>
    private var capacity: Int
    private var head = 0
    private(set) var count = 0
    /// Unwritten bytes across all queued buffers.
    private(set) var bytes = 0

    init(initialCapacity: Int = 8) {
        var cap = 1
        while cap < initialCapacity { cap <<= 1 }
        capacity = cap
        ring = .allocate(capacity: cap)
    }

    deinit {
        // What is still queued goes back to its pools (a queue is normally emptied by `removeAll` on close).
        for i in 0..<count { at(i).takeRetainedValue().release() }
        ring.deallocate()
    }

    @inline(__always) private func at(_ i: Int) -> Unmanaged<ByteBuffer> { ring[(head &+ i) & (capacity &- 1)] }

    var isEmpty: Bool { count == 0 }

    /// Whether the last queued buffer was made by the connection itself for copied bytes (`Connection.write(copying:)`),
    /// so more copies may be appended to it; never true for a caller's buffer, which the caller may still read.
    private var tailIsOwn = false

    mutating func append(_ b: ByteBuffer, ownTail: Bool = false) {
        if count == capacity { grow() }
        (ring + ((head &+ count) & (capacity &- 1))).initialize(to: .passRetained(b))
        count += 1
        bytes += b.readableBytes
        tailIsOwn = ownTail
    }

    /// Copies `source` onto the end of the last queued buffer when the queue made it and it has room; returns the
    /// copy (to edit in place), or nil. A flush in progress gathered only the bytes that were there before, and
    /// `consume` counts bytes, so an append behind it is written by the next writev.
    mutating func appendToOwnTail(_ source: UnsafeRawBufferPointer) -> UnsafeMutableRawBufferPointer? {
        guard tailIsOwn, count > 0, let base = source.baseAddress else { return nil }
        let last = at(count - 1).takeUnretainedValue()
        guard last.writableBytes >= source.count else { return nil }
        let destination = last.writePointer
        destination.copyMemory(from: base, byteCount: source.count)
        last.writerIndex += source.count
        bytes += source.count
        return UnsafeMutableRawBufferPointer(start: destination, count: source.count)
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<Unmanaged<ByteBuffer>>.allocate(capacity: capacity * 2)
        for i in 0..<count { (bigger + i).initialize(to: at(i)) }
        ring.deallocate()
        ring = bigger
        capacity *= 2
        head = 0
    }

    /// Fills `iov` with up to `max` buffers from the front; returns how many and their total bytes.
    func gather(into iov: UnsafeMutablePointer<iovec>, max: Int) -> (count: Int, bytes: Int) {
        let n = Swift.min(max, count)
        var total = 0
        for i in 0..<n {
            at(i)._withUnsafeGuaranteedRef { b in
                iov[i] = iovec(iov_base: b.readPointer, iov_len: b.readableBytes)
                total += b.readableBytes
            }
        }
        return (n, total)
    }

    /// Drops `written` bytes from the front, releasing buffers fully written.
    mutating func consume(_ written: Int) {
        var left = written
        bytes -= written
        while left > 0 {
            let front = at(0)
            let r = front._withUnsafeGuaranteedRef { $0.readableBytes }
            if left >= r {
                left -= r
                dropFront()
            } else {
                front._withUnsafeGuaranteedRef { $0.readerIndex += left }
                left = 0
            }
        }
        // Empty buffers queued by a caller would otherwise sit at the front forever.
        while count > 0, at(0)._withUnsafeGuaranteedRef({ $0.readableBytes == 0 }) { dropFront() }
    }

    /// Takes the front buffer off the ring and gives it back (to its pool), with the queue's reference.
    @inline(__always)
    private mutating func dropFront() {
        let b = at(0).takeRetainedValue()
        head = (head &+ 1) & (capacity &- 1)
        count -= 1
        b.release()
    }

    /// Releases everything (on close).
    mutating func removeAll() {
        while count > 0 { dropFront() }
        bytes = 0
    }
}
