import CSkiffLinux
import Glibc
import Synchronization

/// Process-wide counters of splice mode (a tcp_proxy direction moving bulk bytes with splice(2)), for `/metrics`.
/// Relaxed atomics, written by pollers and rwloop reader threads, read by the scraper.
public enum SpliceStats {
    /// Directions of proxied pairs switched to splice(2) since start.
    public static let routes = Atomic<UInt64>(0)
    /// Pipes open now (two descriptors each; every pipe belongs to one live route).
    public static let pipesOpen = Atomic<Int>(0)
    /// Switches refused because no pipe could be made (EMFILE, ENFILE): those directions went on copying.
    public static let pipeFailures = Atomic<UInt64>(0)
    /// Bytes moved from a pipe to a socket.
    public static let bytes = Atomic<UInt64>(0)
}

/// One direction of a proxied pair moving by splice(2): bytes go from `source`'s socket into a pipe and from the pipe
/// to `destination`'s socket without entering user space. Made by `Connection.startSplice`; the pipe is closed
/// (`release`) when either connection closes.
///
/// The pipe is filled only when empty and then emptied into the destination, so an EAGAIN from the source always
/// means the socket is empty (never that the pipe is full), and at most one pipe's worth is held per direction:
/// while the destination cannot take it, the source is not read and TCP flow control holds the sender back.
///
/// Threads: netpoll, the pair's poller only (both connections live there); rwloop, the source's reader thread only,
/// which writes to a duplicate of the destination's descriptor (`destinationFD`) so a close of the destination on
/// another thread can never leave it writing to a number the kernel has given to a new socket.
final class SpliceRoute {
    let source: Connection
    let destination: Connection
    let pipeRead: Int32
    let pipeWrite: Int32
    /// What the pipe holds at most, in bytes (F_GETPIPE_SZ).
    let capacity: Int
    /// The descriptor written to: the destination's own (netpoll), or a dup of it (rwloop).
    let destinationFD: Int32
    /// Bytes in the pipe, not yet written to the destination.
    var pipeBytes = 0
    /// The source's EOF was read; it is delivered to the handler once the pipe is empty.
    var sourceEOF = false
    /// rwloop: the destination's queue from the copying path has been written (checked before the first drain).
    var destinationQueueDrained = false
    private(set) var isOpen = true

    /// The pipe size asked for. Each pipe slot holds a page, so this bounds the bytes per splice: on loopback bulk
    /// (bench/tcp_bench.py's transfer) skiff spent about 110 ms of CPU per GiB with 64 KiB pipes, 80 with 256 KiB
    /// and 70 with 1 MiB (the copying path: 200). 256 KiB keeps most of the gain while the pipes of many bulk
    /// sessions stay under the per-user pipe allowance (`pipe-user-pages-soft`, 64 MiB by default; past it an
    /// unprivileged user's pipes are refused the size and get two pages: still correct, only more splices per byte).
    static let preferredSize = 256 * 1024

    /// A route with a new pipe, or nil (counted in `SpliceStats.pipeFailures`) when the system has no descriptor for
    /// it. `duplicateDestination`: rwloop's reader writes to a dup of the destination's descriptor.
    init?(from source: Connection, to destination: Connection, nonblocking: Bool, duplicateDestination: Bool) {
        var fds: (Int32, Int32) = (-1, -1)
        let size = withUnsafeMutableBytes(of: &fds) {
            cskiff_pipe($0.baseAddress!.assumingMemoryBound(to: Int32.self), Int32(Self.preferredSize), nonblocking ? 1 : 0)
        }
        guard size > 0 else {
            SpliceStats.pipeFailures.wrappingAdd(1, ordering: .relaxed)
            return nil
        }
        var out = destination.fd
        if duplicateDestination {
            out = fcntl(destination.fd, F_DUPFD_CLOEXEC, 0)
            if out < 0 {
                Glibc.close(fds.0)
                Glibc.close(fds.1)
                SpliceStats.pipeFailures.wrappingAdd(1, ordering: .relaxed)
                return nil
            }
        }
        self.source = source
        self.destination = destination
        self.pipeRead = fds.0
        self.pipeWrite = fds.1
        self.capacity = Int(size)
        self.destinationFD = out
        SpliceStats.routes.wrappingAdd(1, ordering: .relaxed)
        SpliceStats.pipesOpen.wrappingAdd(1, ordering: .relaxed)
    }

    /// Closes the pipe (and the destination's dup) and unlinks the route from both connections; bytes still in the
    /// pipe are dropped, as a closing connection drops its write queue. Idempotent.
    func release() {
        guard isOpen else { return }
        isOpen = false
        Glibc.close(pipeRead)
        Glibc.close(pipeWrite)
        if destinationFD != destination.fd { Glibc.close(destinationFD) }
        SpliceStats.pipesOpen.wrappingSubtract(1, ordering: .relaxed)
        if source.splice.reads === self { source.splice.reads = nil }
        if destination.splice.writes === self { destination.splice.writes = nil }
    }

    /// One splice into the pipe from the source: bytes moved, 0 at EOF, or would-block / an error.
    @inline(__always) func fill(nonblocking: Bool) -> IOResult {
        ioCall { cskiff_splice(source.fd, pipeWrite, capacity, nonblocking ? 1 : 0) }
    }

    /// One splice of what the pipe holds to the destination.
    @inline(__always) func drain(nonblocking: Bool) -> IOResult {
        ioCall { cskiff_splice(pipeRead, destinationFD, pipeBytes, nonblocking ? 1 : 0) }
    }
}

/// A connection's splice state (`Connection.splice`): the peer a full read switches to, the route its reads feed
/// and the route feeding its writes. Touched only where the route is (see `SpliceRoute`; on rwloop the candidate is
/// also written under the connection's `lock`, by the peer's thread); cleared when the connection closes (the
/// candidate is a strong reference to the peer).
struct SpliceLinks {
    /// Set by `spliceWhenBulk`: the first read that fills its buffer makes a route to this peer.
    var candidate: Connection?
    /// Where this connection's incoming bytes go instead of the handler.
    var reads: SpliceRoute?
    /// The route writing into this connection (netpoll only: its writability drains the pipe).
    var writes: SpliceRoute?
    /// netpoll: a route reads or writes this connection (set for good at the switch), so the poller hands its events
    /// to `Poller.spliceEvent`.
    var active = false
}

extension Connection {
    /// Counts one splice from a pipe to this connection's socket as one write of one buffer (the console's write
    /// figures: a splice is the write call of this path).
    @inline(__always) func noteSplicedWrite(_ n: Int, wanted: Int) {
        stats.buffersQueued.wrappingAdd(1, ordering: .relaxed)
        stats.recordWritev(buffers: 1)
        stats.bytesWritten.wrappingAdd(UInt64(n), ordering: .relaxed)
        if n < wanted { stats.partialWrites.wrappingAdd(1, ordering: .relaxed) }
        SpliceStats.bytes.wrappingAdd(UInt64(n), ordering: .relaxed)
        lastActivity.store(MonotonicClock.coarse(), ordering: .relaxed)
    }
}
