import Synchronization

/// A free list of equally sized `ByteBuffer`s.
///
/// One pool per poller (netpoll) or per rwloop group, so pollers never share a lock. `acquire` and `recycle`
/// may be called from any thread; the mutex is uncontended when a poller's buffers stay on that poller, which is the
/// netpoll fast path. rwloop's many threads share their group's pool: made with `threadCaching`, each of its threads
/// keeps a few free buffers of its own (`BufferThreadCache`) and takes the mutex only when those run out or overflow.
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
    /// Threads may keep buffers of this pool in their own caches (`installThreadCache`).
    let threadCaching: Bool
    /// Buffers sitting in thread caches.
    private let cached = Atomic<Int>(0)

    public init(bufferSize: Int = 64 * 1024, maxFree: Int = 256, threadCaching: Bool = false) {
        self.bufferSize = bufferSize
        self.maxFree = max(0, maxFree)
        self.threadCaching = threadCaching
        stack = .allocate(capacity: max(1, maxFree))
    }

    deinit {
        let n = free.withLock { $0 }
        for i in 0..<n { stack[i].release() }
        stack.deallocate()
    }

    /// A cleared buffer, from the calling thread's cache or the free list when one is there.
    @inline(__always)
    public func acquire() -> ByteBuffer {
        if threadCaching, let cache = BufferThreadCache.current, cache.pool === self {
            if cache.buffers.isEmpty { refill(cache) }
            if let b = cache.buffers.popLast() {
                cached.wrappingSubtract(1, ordering: .relaxed)
                b.inFreeList = false
                return b
            }
        }
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
        if threadCaching, let cache = BufferThreadCache.current, cache.pool === self {
            if cache.buffers.count == BufferThreadCache.capacity { spill(cache) }
            cache.buffers.append(b)
            cached.wrappingAdd(1, ordering: .relaxed)
            return
        }
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
    /// Buffers waiting in the free list or in threads' caches.
    public var freeCount: Int { free.withLock { $0 } + cached.load(ordering: .relaxed) }

    /// Moves up to a batch of free buffers into `cache` (empty), under one lock.
    private func refill(_ cache: BufferThreadCache) {
        free.withLock { n in
            for _ in 0..<min(BufferThreadCache.batch, n) {
                n -= 1
                cache.buffers.append(stack[n].takeRetainedValue())
            }
        }
        cached.wrappingAdd(cache.buffers.count, ordering: .relaxed)
    }

    /// Gives a batch of `cache`'s buffers (full) back to the free list, under one lock; what the list has no room
    /// for is freed.
    private func spill(_ cache: BufferThreadCache) {
        let dropped = free.withLock { n -> Int in
            var dropped = 0
            for _ in 0..<BufferThreadCache.batch {
                let b = cache.buffers.removeLast()
                if n < maxFree {
                    (stack + n).initialize(to: .passRetained(b))
                    n += 1
                } else {
                    dropped += 1
                }
            }
            return dropped
        }
        cached.wrappingSubtract(BufferThreadCache.batch, ordering: .relaxed)
        if dropped > 0 { allocated.wrappingSubtract(dropped, ordering: .relaxed) }
    }

    /// A cached buffer leaves its thread's cache for the shared list (`removeThreadCache`).
    func noteUncached() { cached.wrappingSubtract(1, ordering: .relaxed) }
}
