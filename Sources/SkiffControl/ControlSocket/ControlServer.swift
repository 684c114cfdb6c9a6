import CSkiffLinux
import Glibc
import SkiffJSON
import SkiffSystem
import Synchronization

/// The control socket: a Unix domain stream socket speaking newline-delimited JSON both ways, so
/// `socat - UNIX-CONNECT:/run/skiff/skiff.sock` works by hand (protocol: docs/control-protocol.md).
///
/// Threads: one accept thread, one thread per client (at most `maxClients`); requests go to the `ControlBackend`
/// from the client's thread. A client's output waits in its own bounded buffer and leaves with non-blocking writes,
/// so a client that stops reading stalls nothing but its own thread and is dropped once past the bound.
/// Thread-safe: `start`, `stop` and the properties may be used from any thread, `stop` even from inside
/// `ControlBackend.handle` (the calling client then still gets its reply).
///
/// ```swift
/// let server = ControlServer(configuration: .init(path: "/run/skiff/skiff.sock"), backend: engine)
/// try server.start()
/// ...
/// server.stop()   // closes every client and removes the socket file
/// ```
public final class ControlServer: Sendable {
    public struct Configuration: Sendable {
        /// Where the socket file goes; its directory must exist.
        public var path: String
        /// Clients served at once; one more is told "too many clients" and closed.
        public var maxClients = 64
        /// Longest request line, newline excluded; a longer one closes the connection.
        public var maxLineBytes = 64 * 1024
        /// Unsent output a client may have before it is dropped (slow subscribers).
        public var clientBufferBytes = 4 * 1024 * 1024
        /// Commands the server accepts; others are answered `unknown command`. `subscribe` is the server's own.
        public var commands: Set<String> = ControlServer.standardCommands
        /// Commands only root or the owner may run.
        public var mutatingCommands: Set<String> = ControlServer.standardMutatingCommands
        /// The uid allowed to mutate besides root: the server process's own user.
        public var ownerUID: UInt32 = getuid()
        /// How a connection's peer is identified; SO_PEERCRED unless a test injects something else.
        public var credentials: @Sendable (Int32) -> PeerCredentials = ControlServer.peerCredentials
        /// How long a subscriber's thread waits in `ControlSubscription.next` when it has nothing to send.
        public var subscriptionPollNs: UInt64 = 50_000_000
        /// How long `stop()` waits for client threads (each notices within `subscriptionPollNs` or 100 ms).
        public var stopTimeoutNs: UInt64 = 5_000_000_000

        /// Take the path over from a live server (a binary upgrade): bind beside it and rename over it atomically, so
        /// the path always answers. The old server keeps its own clients and, on stop, leaves our file alone.
        public var takeOver = false
        public init(path: String) { self.path = path }
    }

    /// `subscribe`, `subscribe.interval`, `snapshot`, `hosts`, `stats`, `events`, `config.dump`, `xds`,
    /// `host.set_state`, `host.set_weight`, `reload`, `stop`, `upgrade.listeners`.
    public static let standardCommands: Set<String> = [
        "subscribe", "subscribe.interval", "snapshot", "hosts", "stats", "events", "config.dump", "xds", "log.level", "host.set_state",
        "host.set_weight",
        "reload", "stop", "upgrade.listeners",
    ]
    /// `host.set_state`, `host.set_weight`, `reload`, `stop`, `upgrade.listeners`.
    public static let standardMutatingCommands: Set<String> = [
        "log.level", "host.set_state", "host.set_weight", "reload", "stop", "upgrade.listeners",
    ]
    /// The weights `host.set_weight` accepts (0: no new traffic; the config allows 1 to 128).
    public static let hostWeights = 0...128
    /// The admin states `host.set_state` accepts.
    public static let hostStates = ["ready", "drain", "maint"]

    public let counters = ControlCounters()
    let configuration: Configuration
    let backend: any ControlBackend
    let threads = ServerThreads()

    struct Commands {
        var all: Set<String>
        var mutating: Set<String>
    }
    let commandTable: Mutex<Commands>

    enum Phase { case idle, running, stopped }
    struct State {
        var phase = Phase.idle
        var listenFD: Int32 = -1
        /// Open client fds by connection number. A client thread removes its own entry before closing the fd, so
        /// `stop()` (which shuts these down under the same lock) never touches a closed or reused fd.
        var clients: [Int: Int32] = [:]
        var nextClientID = 0
        /// The socket file we created, so `stop()` removes ours and not a successor's.
        var socketFile: (dev: UInt64, ino: UInt64)? = nil
    }
    let state = Mutex(State())
    let stopping = Atomic<Bool>(false)

    public init(configuration: Configuration, backend: any ControlBackend) {
        self.configuration = configuration
        self.backend = backend
        self.commandTable = Mutex(Commands(all: configuration.commands, mutating: configuration.mutatingCommands))
    }

    /// The socket path.
    public var path: String { configuration.path }

    /// Commands accepted; may change while running (the engine adding its own).
    public var commands: Set<String> {
        get { commandTable.withLock { $0.all } }
        set { commandTable.withLock { $0.all = newValue } }
    }

    /// Commands only uid 0 or `ownerUID` may run; a command named here is accepted even if not in `commands`.
    public var mutatingCommands: Set<String> {
        get { commandTable.withLock { $0.mutating } }
        set { commandTable.withLock { $0.mutating = newValue } }
    }

    /// What `start` would refuse, checked before anything else of the process starts (so a second skiff on a
    /// served path prints one line and leaves nothing listening): the directory (`SocketDirectory.check`), a live
    /// server at the path, or something that is not a socket there. A stale socket file is removed.
    public static func preflight(path: String) throws(ControlError) {
        try SocketDirectory.check(forSocket: path)
        try UnixListener.clearStale(path: path, context: "control socket \(path)")
    }

    /// Creates the socket (mode 0600) and starts accepting.
    ///
    /// Refuses when the directory is missing, when the path is taken by something that is not a socket, or when a
    /// live server answers there; a stale socket file (nobody listening) is replaced.
    public func start() throws(ControlError) {
        let go = state.withLock { s -> Bool in
            guard s.phase == .idle else { return false }
            s.phase = .running
            return true
        }
        guard go else {
            throw ControlError("control socket \(path)", "already started (a stopped server cannot restart)")
        }
        let listener: UnixListener
        do {
            listener = try UnixListener.open(path: path, backlog: 128, takeOver: configuration.takeOver)
        } catch {
            state.withLock { $0.phase = .stopped }
            throw error
        }
        let stillWanted = state.withLock { s -> Bool in
            guard s.phase == .running else { return false }  // stop() came first
            s.listenFD = listener.fd
            s.socketFile = listener.identity
            return true
        }
        guard stillWanted else {
            UnixListener.removeIfOurs(path: path, identity: listener.identity)
            SocketIO.close(listener.fd)
            throw ControlError("control socket \(path)", "stopped while starting")
        }
        let started = threads.start(name: "skiff-ctl-accept") { [self] in acceptLoop(listener.fd) }
        if !started {
            state.withLock { $0.phase = .stopped }
            UnixListener.removeIfOurs(path: path, identity: listener.identity)
            SocketIO.close(listener.fd)
            throw ControlError("control socket \(path)", "cannot start the accept thread")
        }
    }

    /// Stops accepting, closes every client, waits for their threads (up to `stopTimeoutNs`) and removes the socket
    /// file. Idempotent.
    public func stop() {
        let (listenFD, socketFile) = state.withLock { s -> (Int32, (dev: UInt64, ino: UInt64)?) in
            guard s.phase == .running else { return (-1, nil) }
            s.phase = .stopped
            stopping.store(true, ordering: .sequentiallyConsistent)
            return (s.listenFD, s.socketFile)
        }
        guard listenFD >= 0 else { return }
        UnixListener.removeIfOurs(path: path, identity: socketFile)
        let me = currentClientFD.withLock { $0[pthread_self()] }
        state.withLock { s in
            // Wakes the accept thread's poll and every client's blocking wait; the threads close their own fds.
            _ = shutdown(s.listenFD, Int32(SHUT_RDWR))
            for fd in s.clients.values where fd != me { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
        threads.waitForOthers(timeoutNs: configuration.stopTimeoutNs)
    }

    /// Which client fd each client thread serves, so `stop()` called from `handle` spares the caller's connection.
    let currentClientFD = Mutex<[pthread_t: Int32]>([:])

    // MARK: - Accepting

    private func acceptLoop(_ listenFD: Int32) {
        AcceptLoop.run(listenFD, isStopping: { stopping.load(ordering: .sequentiallyConsistent) }, admit: admit)
        SocketIO.close(listenFD)
    }

    private func admit(_ fd: Int32) {
        let id = state.withLock { s -> Int? in
            guard s.clients.count < configuration.maxClients, s.phase == .running else { return nil }
            let id = s.nextClientID
            s.nextClientID += 1
            s.clients[id] = fd
            return id
        }
        guard let id else {
            counters.refused()
            refuse(fd, "too many clients")
            return
        }
        counters.clientOpened()
        let started = threads.start(name: "skiff-ctl-client") { [self] in
            let me = pthread_self()
            currentClientFD.withLock { $0[me] = fd }
            ControlClientSession(server: self, fd: fd).run()
            currentClientFD.withLock { _ = $0.removeValue(forKey: me) }
            release(id: id, fd: fd)
        }
        if !started {
            state.withLock { _ = $0.clients.removeValue(forKey: id) }
            counters.clientClosed()
            refuse(fd, "server busy: cannot start a thread for this client")
        }
    }

    private func refuse(_ fd: Int32, _ message: String) {
        var line = ControlReply.error(id: .none, message)
        line.append(0x0A)
        _ = line.withUnsafeBytes { SocketIO.send(fd, $0, blocking: false) }
        _ = shutdown(fd, Int32(SHUT_WR))
        SocketIO.close(fd)
    }

    private func release(id: Int, fd: Int32) {
        state.withLock { _ = $0.clients.removeValue(forKey: id) }
        SocketIO.close(fd)
        counters.clientClosed()
    }

    var isStopping: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    // MARK: - Peer credentials

    /// SO_PEERCRED of a Unix socket; `PeerCredentials.unknown` (denied every mutation) when the call fails.
    @Sendable public static func peerCredentials(_ fd: Int32) -> PeerCredentials {
        var uid: UInt32 = 0
        var pid: Int32 = 0
        guard cskiff_peer_cred(fd, &uid, &pid) == 0 else { return .unknown }
        return PeerCredentials(uid: uid, pid: pid)
    }
}
