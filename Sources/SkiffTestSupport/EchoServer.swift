import Glibc
import SkiffNet
import Synchronization

/// A blocking, thread-per-connection TCP server on 127.0.0.1 for tests: echoes (and on EOF echoes the rest, then
/// half-closes), or sinks without reading, or greets and closes. Counts connections and bytes.
public final class EchoServer: @unchecked Sendable {
    public enum Mode: Sendable {
        /// Echo everything; on EOF, FIN back.
        case echo
        /// Accept and never read (a slow reader).
        case sink
        /// Send `greeting` and then close.
        case greet([UInt8])
    }

    public let port: Int
    public let mode: Mode
    let listenFD: Int32
    let stopping = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    public let connections = Atomic<Int>(0)
    public let bytesEchoed = Atomic<Int>(0)
    private let open = Mutex<[Int32]>([])

    public init(mode: Mode = .echo, port: Int = 0) throws {
        self.mode = mode
        listenFD = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: port)!, nonBlocking: false)
        self.port = Socket.localAddress(listenFD)!.port
        try NetThread.start(name: "echo-accept", stackSize: 256 * 1024) { [self] in self.acceptLoop() }
    }

    private func acceptLoop() {
        defer { Glibc.close(listenFD) }
        while !stopping.load(ordering: .relaxed) {
            let fd = Socket.acceptBlocking(listenFD)
            if fd < 0 {
                if stopping.load(ordering: .relaxed) { break }
                continue
            }
            connections.wrappingAdd(1, ordering: .relaxed)
            open.withLock { $0.append(fd) }
            try? NetThread.start(name: "echo-conn", stackSize: 256 * 1024) { [self] in self.serve(fd) }
        }
    }

    private func serve(_ fd: Int32) {
        switch mode {
        case .sink:
            while !stopping.load(ordering: .relaxed) { usleep(20_000) }
        case .greet(let g):
            _ = g.withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, g.count, Int32(MSG_NOSIGNAL)) }
            Glibc.shutdown(fd, Int32(SHUT_WR))
            usleep(50_000)
        case .echo:
            let buf = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 16)
            defer { buf.deallocate() }
            loop: while true {
                let n = Glibc.read(fd, buf, 65536)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                var off = 0
                while off < n {
                    let w = Glibc.send(fd, buf + off, n - off, Int32(MSG_NOSIGNAL))
                    if w < 0 && errno == EINTR { continue }
                    if w <= 0 { break loop }
                    off += w
                }
                bytesEchoed.wrappingAdd(n, ordering: .relaxed)
            }
            Glibc.shutdown(fd, Int32(SHUT_WR))
            // Wait for the peer's close so the FIN exchange completes.
            _ = Glibc.read(fd, buf, 1)
        }
        open.withLock {
            $0.removeAll { $0 == fd }
            Glibc.close(fd)
        }
    }

    /// Stops accepting and closes every connection.
    public func stop() {
        // Only the first stop touches the socket; the accept thread closes it once it has seen the flag, so this
        // never shuts down (and the thread never accepts on) a number another test's socket has reused since.
        guard !stopRequested.exchange(true, ordering: .relaxed) else { return }
        Glibc.shutdown(listenFD, Int32(SHUT_RDWR))
        stopping.store(true, ordering: .relaxed)
        // Under the lock: a number in the list is still this server's socket (closing happens under it too).
        open.withLock { for fd in $0 { Glibc.shutdown(fd, Int32(SHUT_RDWR)) } }
    }
}
