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
        if threadCaching, let cache = BufferThreadCache.current, cache.pool === self, let b = cache.buffers.popLast() {
            cached.wrappingSubtract(1, ordering: .relaxed)
            b.inFreeList = false
            return b
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
        if threadCaching, let cache = BufferThreadCache.current, cache.pool === self,
            cache.buffers.count < BufferThreadCache.capacity
        {
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

    /// A cached buffer leaves its thread's cache for the shared list (`removeThreadCache`).
    func noteUncached() { cached.wrappingSubtract(1, ordering: .relaxed) }
}
