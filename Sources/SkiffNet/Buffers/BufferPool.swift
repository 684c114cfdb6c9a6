import Synchronization

/// A free list of equally sized `ByteBuffer`s.
///
/// One pool per poller (netpoll) or per listener (rwloop), so pollers never share a lock. `acquire` and `recycle`
/// may be called from any thread; the mutex is uncontended when a poller's buffers stay on that poller, which is the
/// netpoll fast path.
///
/// The free list is a stack of unmanaged references in memory of its own, sized `maxFree` once (a buffer in it is
/// kept by one reference the stack holds): taking and giving back a buffer, several times per proxied request, moves
/// a reference with no array growth or copy-on-write check. The stack's slots and count are guarded by `free`;
/// hence `@unchecked Sendable`.
public final class BufferPool: @unchecked Sendable {
    public let bufferSize: Int
    /// Free buffers kept at most; more are freed when recycled.
    public let maxFree: Int
    /// How many of `stack`'s slots hold a free buffer.
    private let free = Mutex<Int>(0)
    private let stack: UnsafeMutablePointer<Unmanaged<ByteBuffer>>
    private let allocated = Atomic<Int>(0)

    public init(bufferSize: Int = 64 * 1024, maxFree: Int = 256) {
        self.bufferSize = bufferSize
        self.maxFree = max(0, maxFree)
        stack = .allocate(capacity: max(1, maxFree))
    }

    deinit {
        let n = free.withLock { $0 }
        for i in 0..<n { stack[i].release() }
        stack.deallocate()
    }

    /// A cleared buffer, from the free list when one is there.
    @inline(__always)
    public func acquire() -> ByteBuffer {
        let spare = free.withLock { n -> ByteBuffer? in
            guard n > 0 else { return nil }
            n -= 1
            return stack[n].takeRetainedValue()
        }
        if let b = spare {
            b.inFreeList = false
            return b
        }
        allocated.wrappingAdd(1, ordering: .relaxed)
        return ByteBuffer(capacity: bufferSize, pool: self)
    }

    func recycle(_ b: ByteBuffer) {
        assert(!b.inFreeList, "ByteBuffer released twice: two owners of one buffer")
        b.inFreeList = true
        b.clear()
        let kept = free.withLock { n -> Bool in
            guard n < maxFree else { return false }
            (stack + n).initialize(to: .passRetained(b))
            n += 1
            return true
        }
        if !kept { allocated.wrappingSubtract(1, ordering: .relaxed) }
    }

    /// Buffers alive from this pool (free or in use).
    public var allocatedCount: Int { allocated.load(ordering: .relaxed) }
    /// Buffers waiting in the free list.
    public var freeCount: Int { free.withLock { $0 } }
}
