import Glibc
import SkiffNet
import Synchronization

/// The accept-and-serve core of the blocking test servers (`EchoServer`, `HTTPTestServer`, `RPCTestServer`): a
/// socket on 127.0.0.1, an accept thread running `AcceptLoop`, one thread per connection running the subclass's
/// `serve(_:)` on a blocking socket (closed when `serve` returns), and a `stop` that wakes them all.
///
/// Thread-safe: `stop` and `dropConnections` may be called from any thread, any number of times.
public class ThreadPerConnectionServer: @unchecked Sendable {
    public let port: Int
    /// Connections accepted so far.
    public let connections = Atomic<Int>(0)
    let listenFD: Int32
    private let connectionStackSize: Int
    private let stopping = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    /// Connections being served; a number is in the list exactly while it is this server's socket.
    private let open = Mutex<[Int32]>([])

    /// Listens on 127.0.0.1:`port` (0: any free port) and starts accepting; threads are named `<name>-accept` and
    /// `<name>-conn`.
    init(name: String, port: Int = 0, connectionStackSize: Int = NetThread.smallStack) throws {
        listenFD = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: port)!, nonBlocking: true)
        self.port = Socket.localAddress(listenFD)!.port
        self.connectionStackSize = connectionStackSize
        do {
            try NetThread.start(name: "\(name)-accept") { [self] in acceptLoop(name: "\(name)-conn") }
        } catch {
            Glibc.close(listenFD)
            throw error
        }
    }

    /// Serves one connection on its own thread until it returns; the connection is closed after.
    func serve(_ fd: Int32) {}

    /// True once `stop` was called; long-running `serve`s look at it.
    public var isStopping: Bool { stopping.load(ordering: .relaxed) }

    private func acceptLoop(name: String) {
        AcceptLoop.run(listenFD, pollMs: 50, isStopping: { isStopping }) { fd in
            SocketIO.setBlocking(fd, true)
            connections.wrappingAdd(1, ordering: .relaxed)
            open.withLock { $0.append(fd) }
            do {
                try NetThread.start(name: name, stackSize: connectionStackSize) { [self] in
                    serve(fd)
                    forget(fd)
                }
            } catch {
                forget(fd)
            }
        }
        Glibc.close(listenFD)
    }

    private func forget(_ fd: Int32) {
        open.withLock {
            $0.removeAll { $0 == fd }
            Glibc.close(fd)
        }
    }

    /// Stops accepting and shuts every connection down (their threads close them).
    public func stop() {
        // Only the first stop touches the socket; the accept thread closes it once it has seen the flag, so this
        // never shuts down (and the thread never accepts on) a number another test's socket has reused since.
        guard !stopRequested.exchange(true, ordering: .relaxed) else { return }
        Glibc.shutdown(listenFD, Int32(SHUT_RDWR))
        stopping.store(true, ordering: .relaxed)
        dropConnections()
    }

    /// Shuts every open connection down (a backend dying mid-flight); the server goes on accepting.
    public func dropConnections() {
        // Under the lock: a number in the list is still this server's socket (closing happens under it too).
        open.withLock { for fd in $0 { Glibc.shutdown(fd, Int32(SHUT_RDWR)) } }
    }
}
