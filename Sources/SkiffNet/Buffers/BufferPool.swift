import Synchronization

/// A free list of equally sized `ByteBuffer`s.
///
/// One pool per poller (netpoll) or per rwloop group, so pollers never share a lock. `acquire` and `recycle`
/// may be called from any thread; the mutex is uncontended when a poller's buffers stay on that poller, which is the
/// netpoll fast path. rwloop's many threads share their group's pool: made with `threadCaching`, each of its threads
/// keeps a few free buffers of its own (`BufferThreadCache`) and takes the mutex only when those run out or overflow.
public final class BufferPool: Sendable {
    public let bufferSize: Int
    /// Free buffers kept at most; more are freed when recycled.
    public let maxFree: Int
    private let free: Mutex<[ByteBuffer]>
    private let allocated = Atomic<Int>(0)
    /// Threads may keep buffers of this pool in their own caches (`installThreadCache`).
    let threadCaching: Bool
    /// Buffers sitting in thread caches.
    private let cached = Atomic<Int>(0)

    public init(bufferSize: Int = 64 * 1024, maxFree: Int = 256, threadCaching: Bool = false) {
        self.bufferSize = bufferSize
        self.maxFree = maxFree
        self.threadCaching = threadCaching
        var initial: [ByteBuffer] = []
        initial.reserveCapacity(maxFree)
        self.free = Mutex(initial)
    }

    /// A cleared buffer, from the free list when one is there.
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
        if let b = free.withLock({ $0.popLast() }) {
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
        let kept = free.withLock { list -> Bool in
            if list.count < maxFree {
                list.append(b)
                return true
            }
            return false
        }
        if !kept { allocated.wrappingSubtract(1, ordering: .relaxed) }
    }

    /// Buffers alive from this pool (free or in use).
    public var allocatedCount: Int { allocated.load(ordering: .relaxed) }
    /// Buffers waiting in the free list or in threads' caches.
    public var freeCount: Int { free.withLock { $0.count } + cached.load(ordering: .relaxed) }

    /// Moves up to a batch of free buffers into `cache` (empty), under one lock.
    private func refill(_ cache: BufferThreadCache) {
        free.withLock { list in
            for _ in 0..<min(BufferThreadCache.batch, list.count) { cache.buffers.append(list.removeLast()) }
        }
        cached.wrappingAdd(cache.buffers.count, ordering: .relaxed)
    }

    /// Gives a batch of `cache`'s buffers (full) back to the free list, under one lock; what the list has no room
    /// for is freed.
    private func spill(_ cache: BufferThreadCache) {
        let dropped = free.withLock { list -> Int in
            var dropped = 0
            for _ in 0..<BufferThreadCache.batch {
                let b = cache.buffers.removeLast()
                if list.count < maxFree { list.append(b) } else { dropped += 1 }
            }
            return dropped
        }
        cached.wrappingSubtract(BufferThreadCache.batch, ordering: .relaxed)
        if dropped > 0 { allocated.wrappingSubtract(dropped, ordering: .relaxed) }
    }

    /// A cached buffer leaves its thread's cache for the shared list (`removeThreadCache`).
    func noteUncached() { cached.wrappingSubtract(1, ordering: .relaxed) }
}
