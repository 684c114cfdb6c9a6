import Glibc

/// A fixed-capacity byte buffer with read and write indices, recycled through a `BufferPool`.
///
/// Ownership: exactly one owner at a time. A buffer read from a socket belongs to the handler it is delivered to;
/// queued for writing, it belongs to the write queue, which releases it to its pool once written. Not thread-safe;
/// handing it to another thread hands over ownership.
public final class ByteBuffer: @unchecked Sendable {
    /// Start of storage; `capacity` bytes.
    public let base: UnsafeMutableRawPointer
    public let capacity: Int
    /// First unread byte.
    public var readerIndex: Int = 0
    /// First unwritten byte.
    public var writerIndex: Int = 0
    /// Where `release()` returns it; nil for buffers allocated outside a pool.
    let pool: BufferPool?
    /// True while the buffer sits in its pool's free list: releasing it again is a bug (two owners), caught by an
    /// assertion in debug builds, where the tests run.
    var inFreeList = false

    init(capacity: Int, pool: BufferPool?) {
        self.base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        self.capacity = capacity
        self.pool = pool
    }

    /// A buffer not tied to a pool (tests, control paths).
    public convenience init(capacity: Int) {
        self.init(capacity: capacity, pool: nil)
    }

    /// A buffer holding a copy of `bytes` (tests, control paths; allocates).
    public convenience init(copying bytes: some Collection<UInt8>) {
        self.init(capacity: max(1, bytes.count), pool: nil)
        write(bytes)
    }

    deinit { base.deallocate() }

    @inline(__always) public var readableBytes: Int { writerIndex - readerIndex }
    @inline(__always) public var writableBytes: Int { capacity - writerIndex }
    @inline(__always) public var readPointer: UnsafeMutableRawPointer { base + readerIndex }
    @inline(__always) public var writePointer: UnsafeMutableRawPointer { base + writerIndex }

    /// The unread bytes, valid until the buffer is changed or released.
    @inline(__always) public var readableView: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + readerIndex, count: readableBytes)
    }

    @inline(__always) public func clear() {
        readerIndex = 0
        writerIndex = 0
    }

    /// Appends as many of `bytes` as fit; returns how many were written.
    @discardableResult
    public func write(_ bytes: some Collection<UInt8>) -> Int {
        var n = 0
        for b in bytes {
            if writerIndex == capacity { break }
            base.storeBytes(of: b, toByteOffset: writerIndex, as: UInt8.self)
            writerIndex += 1
            n += 1
        }
        return n
    }

    /// Appends raw bytes; returns how many fitted.
    @discardableResult
    public func write(_ raw: UnsafeRawBufferPointer) -> Int {
        let n = min(raw.count, writableBytes)
        if n > 0, let src = raw.baseAddress { (base + writerIndex).copyMemory(from: src, byteCount: n) }
        writerIndex += n
        return n
    }

    /// A copy of the unread bytes (tests and control paths only: allocates).
    public func readableArray() -> [UInt8] { Array(readableView) }

    /// Returns the buffer to its pool (or frees it). The caller must not touch it afterwards.
    @inline(__always) public func release() {
        pool?.recycle(self)
    }
}
