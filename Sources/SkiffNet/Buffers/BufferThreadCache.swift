import CSkiffLinux

/// A thread's private stock of one `BufferPool`'s free buffers, so threads that share a pool do not meet on its
/// lock for every read and write. rwloop's reader and writer threads (and whatever strand work they run) all draw
/// on their group's one pool; with a dozen busy connections its mutex was taken ~10 times a request, contended,
/// each time a futex call.
///
/// Threads: installed by the thread that uses it (`BufferPool.installThreadCache`), reached through a thread-local,
/// touched by that thread only; handed back to the pool (`removeThreadCache`) before the thread ends.
final class BufferThreadCache {
    /// Buffers kept per thread at most. A request takes and gives back two or three on each thread it crosses,
    /// not always on the same thread (a client's reader takes the buffer its request is read into, an upstream's
    /// reader may free it): an empty cache takes `batch` from the pool at once, a full one gives `batch` back.
    static let capacity = 4
    static let batch = 2

    let pool: BufferPool
    var buffers: [ByteBuffer] = []

    init(pool: BufferPool) {
        self.pool = pool
        buffers.reserveCapacity(Self.capacity)
    }

    /// The calling thread's cache, if it installed one.
    @inline(__always)
    static var current: BufferThreadCache? {
        guard let p = cskiff_current_buffer_cache() else { return nil }
        return Unmanaged<BufferThreadCache>.fromOpaque(p).takeUnretainedValue()
    }
}

extension BufferPool {
    /// Gives the calling thread its own small stock of this pool's buffers, until `removeThreadCache`. For pools
    /// made with `threadCaching` (rwloop's); a thread caches for one pool at a time.
    public func installThreadCache() {
        guard threadCaching, BufferThreadCache.current == nil else { return }
        let cache = BufferThreadCache(pool: self)
        cskiff_set_current_buffer_cache(Unmanaged.passRetained(cache).toOpaque())
    }

    /// Returns the calling thread's cached buffers to their pool and drops the cache (the thread is ending).
    public static func removeThreadCache() {
        guard let p = cskiff_current_buffer_cache() else { return }
        cskiff_set_current_buffer_cache(nil)
        let cache = Unmanaged<BufferThreadCache>.fromOpaque(p).takeRetainedValue()
        for b in cache.buffers {
            cache.pool.noteUncached()
            b.inFreeList = false
            cache.pool.recycle(b)
        }
        cache.buffers.removeAll()
    }
}
