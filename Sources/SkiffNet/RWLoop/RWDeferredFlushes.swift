import CSkiffLinux

/// rwloop direct writes held back until the calling thread finishes its current batch of handler work (a strand's
/// run, a worker shard's batch of events), so what handlers write in pieces — a response's head and its body,
/// several pipelined responses — leaves in one writev per connection, as a poller's end-of-turn flush does.
///
/// Threads: owned by one strand or worker shard and touched only by the thread running it, which installs it
/// (a thread-local) for as long as it runs that work. Each connection listed holds its flusher token (`.direct`)
/// until `flush` writes it.
final class RWDeferredFlushes {
    private var pending: [Connection] = []
    private var flushing: [Connection] = []

    init() {}

    /// The batch installed on the calling thread, if any.
    @inline(__always)
    static var current: RWDeferredFlushes? {
        guard let p = cskiff_current_flush_batch() else { return nil }
        return Unmanaged<RWDeferredFlushes>.fromOpaque(p).takeUnretainedValue()
    }

    /// Makes this the calling thread's batch (nil: none).
    static func install(_ batch: RWDeferredFlushes?) {
        cskiff_set_current_flush_batch(batch.map { Unmanaged.passUnretained($0).toOpaque() })
    }

    /// `c`, whose token the caller took, is written at the next `flush`.
    func add(_ c: Connection) { pending.append(c) }

    /// Writes every connection listed (and any listed meanwhile).
    func flush() {
        while !pending.isEmpty {
            swap(&pending, &flushing)
            for c in flushing { c.rwDirectFlush() }
            flushing.removeAll(keepingCapacity: true)
        }
    }
}
