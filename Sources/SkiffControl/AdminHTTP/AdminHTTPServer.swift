import CSkiffLinux
import Glibc
import SkiffProtocol
import SkiffSystem
import Synchronization

/// A small HTTP/1.1 server for the admin API and `/metrics`: loopback by default, one thread per connection,
/// keep-alive, bounded heads and bodies, no chunked bodies. Request heads are parsed by SkiffProtocol's HTTP/1
/// parser, the proxy's own (`AdminRequestParser`).
///
/// Threads: one accept thread, one thread per connection (at most `maxConnections`; one more gets `503` and is
/// closed). Handlers run on the connection's thread. Reads and writes block with a timeout (SO_RCVTIMEO and
/// SO_SNDTIMEO), so an idle or stuck client holds only its own thread, and only for `ioTimeoutNs`.
/// Thread-safe: routes may be added and the server stopped from any thread.
///
/// ```swift
/// let admin = AdminHTTPServer(configuration: .init(host: "127.0.0.1", port: 34902))
/// admin.route("GET", "/api/v1/stats") { _ in .json(engine.statsJSON()) }
/// admin.route("POST", "/api/v1/hosts/*/*/state") { req in
///     engine.setState(cluster: req.pathParameters[0], host: req.pathParameters[1], body: req.body)
/// }
/// try admin.start()
/// ```
public final class AdminHTTPServer: Sendable {
    public struct Configuration: Sendable {
        /// IPv4 or IPv6 address to listen on (`127.0.0.1`, `::1`, `0.0.0.0`).
        public var host: String
        /// 0 picks a free port (see `port` after `start`).
        public var port: Int
        public var maxConnections = 64
        /// Request line and headers (431 beyond).
        public var maxHeadBytes = 16 * 1024
        /// The request line alone (414 beyond).
        public var maxRequestLineBytes = 8 * 1024
        /// Header lines (431 beyond).
        public var maxHeaders = 100
        public var maxBodyBytes = 64 * 1024
        /// Per read and per write; also how long an idle keep-alive connection stays open.
        public var ioTimeoutNs: UInt64 = 10_000_000_000
        /// How long `stop()` lets connections answer the request they are on before closing them.
        public var drainTimeoutNs: UInt64 = 2_000_000_000
        /// How long `stop()` then waits for connection threads (they wake at once: stop shuts their sockets down).
        public var stopTimeoutNs: UInt64 = 5_000_000_000
        /// SO_REUSEPORT: only for a binary upgrade from a skiff that did not hand its admin socket over (an older
        /// version, which set it on its own socket). Otherwise the port is never shared: a second skiff asking for
        /// it is refused with "address already in use".
        public var reusePort = false
        /// A listening socket to serve instead of binding one: the running skiff's, received in a binary upgrade
        /// (SCM_RIGHTS). The server owns it from `start` on.
        public var inheritedFD: Int32? = nil
        /// Who may read and change state (see `AdminAccessPolicy`); by default the policy for `host` without a token.
        public var access: AdminAccessPolicy? = nil

        public init(host: String = "127.0.0.1", port: Int) {
            self.host = host
            self.port = port
        }

        /// The limits SkiffProtocol's parser enforces on each request head.
        var limits: HTTPLimits {
            HTTPLimits(maxRequestLine: maxRequestLineBytes, maxHeaderBytes: maxHeadBytes, maxHeaders: maxHeaders)
        }
    }

    /// Counters, relaxed atomics.
    public struct Stats: Sendable, Equatable {
        public var connectionsActive: Int
        public var connectionsTotal: Int
        public var requests: Int
        public var refusedConnections: Int
        /// Requests answered 403 by the access policy.
        public var forbidden: Int
    }

    let configuration: Configuration
    private let router = Mutex(AdminRouter())
    private let threads = ServerThreads()
    private let stopping = Atomic<Bool>(false)

    private struct State {
        var started = false
        var stopped = false
        var listenFD: Int32 = -1
        var boundPort = 0
        var connections: [Int: Int32] = [:]
        /// Connections waiting for their next request after answering one (keep-alive): `stop` closes these at
        /// once, while a connection with a request on its way (a fresh one included) gets to answer it.
        var idle: Set<Int> = []
        var nextID = 0
    }
    private let state = Mutex(State())
    private let _connectionsTotal = Atomic<Int>(0)
    private let _requests = Atomic<Int>(0)
    private let _refused = Atomic<Int>(0)
    private let _forbidden = Atomic<Int>(0)
    let access: AdminAccessPolicy

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.access =
            configuration.access
            ?? .forAddress(host: configuration.host, port: configuration.port, token: nil)
    }

    /// The port listened on (the chosen one when `configuration.port` was 0); 0 before `start`.
    public var port: Int { state.withLock { $0.boundPort } }

    public var stats: Stats {
        Stats(
            connectionsActive: state.withLock { $0.connections.count },
            connectionsTotal: _connectionsTotal.load(ordering: .relaxed),
            requests: _requests.load(ordering: .relaxed),
            refusedConnections: _refused.load(ordering: .relaxed),
            forbidden: _forbidden.load(ordering: .relaxed))
    }

    /// Adds a route. Routes are tried in the order added; `HEAD` is served by `GET` routes (without the body).
    /// A path that matches some route but not the method gets `405` with `Allow`; no match at all gets `404`.
    public func route(_ method: String, _ pattern: AdminPathPattern, _ handler: @escaping AdminHandler) {
        router.withLock { $0.add(method, pattern, handler) }
    }

    /// Binds, listens and starts the accept thread.
    public func start() throws(ControlError) {
        let context = "admin http \(configuration.host):\(configuration.port)"
        let fresh = state.withLock { s -> Bool in
            defer { s.started = true }
            return !s.started
        }
        guard fresh else { throw ControlError(context, "already started (a stopped server cannot restart)") }
        let (fd, port): (Int32, Int)
        if let inherited = configuration.inheritedFD {
            (fd, port) = (inherited, TCPListener.localPort(inherited))
            // Both processes accept on it during the handover: a poll that saw a connection the other one took must
            // not leave this accept thread blocked.
            SocketIO.setBlocking(fd, false)
        } else {
            (fd, port) = try TCPListener.open(
                host: configuration.host, port: configuration.port, context: context,
                reusePort: configuration.reusePort)
        }
        state.withLock {
            $0.listenFD = fd
            $0.boundPort = port
        }
        if !threads.start(name: "skiff-admin-accept", { [self] in acceptLoop(fd) }) {
            state.withLock { $0.stopped = true }
            SocketIO.close(fd)
            throw ControlError(context, "cannot start the accept thread")
        }
    }

    /// A duplicate of the listening socket while the server runs, for a binary upgrade to hand over (the caller
    /// closes it); nil otherwise. Taken under the lock `stop` takes, so the original is open while it is copied.
    public func duplicateListeningDescriptor() -> Int32? {
        state.withLock { s in
            guard s.started, !s.stopped, s.listenFD >= 0 else { return nil }
            let fd = fcntl(s.listenFD, F_DUPFD_CLOEXEC, 3)
            return fd >= 0 ? fd : nil
        }
    }

    /// Stops accepting; connections waiting for their next request are closed at once, those with a request on its
    /// way answer it (with `Connection: close`) for up to `drainTimeoutNs`, then the rest are closed; waits for the
    /// threads (up to `stopTimeoutNs`). Idempotent.
    ///
    /// The listening socket is closed by the accept thread (within 200 ms), never shut down: after a binary upgrade
    /// the new process serves the same socket, and a shutdown would stop it listening there too. For the same reason
    /// a connection this process accepted just before stopping is answered, not cut: its client cannot tell.
    public func stop() {
        let running = state.withLock { s -> Bool in
            guard s.started, !s.stopped, s.listenFD >= 0 else { return false }
            s.stopped = true
            stopping.store(true, ordering: .sequentiallyConsistent)
            for id in s.idle { if let fd = s.connections[id] { _ = shutdown(fd, Int32(SHUT_RDWR)) } }
            return true
        }
        guard running else { return }
        let deadline = MonotonicClock.now() + configuration.drainTimeoutNs
        while MonotonicClock.now() < deadline && !state.withLock({ $0.connections.isEmpty }) {
            MonotonicClock.sleep(ns: 5_000_000)
        }
        state.withLock { s in
            for fd in s.connections.values { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
        threads.waitForOthers(timeoutNs: configuration.stopTimeoutNs)
    }

    /// Marks a connection as waiting for its next request (or not); false when the server is stopping, in which
    /// case an idle connection should close rather than wait.
    private func setIdle(_ id: Int, _ idle: Bool) -> Bool {
        state.withLock { s in
            if idle {
                guard !s.stopped else { return false }
                s.idle.insert(id)
            } else {
                s.idle.remove(id)
            }
            return true
        }
    }

    var isStopping: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    // MARK: - Connections

    private func acceptLoop(_ listenFD: Int32) {
        AcceptLoop.run(listenFD, isStopping: { isStopping }, admit: admit)
        SocketIO.close(listenFD)
    }

    private func admit(_ fd: Int32) {
        let id = state.withLock { s -> Int? in
            guard !s.stopped, s.connections.count < configuration.maxConnections else { return nil }
            let id = s.nextID
            s.nextID += 1
            s.connections[id] = fd
            return id
        }
        guard let id else {
            _refused.add(1, ordering: .relaxed)
            refuse(fd, 503, "too many admin connections")
            return
        }
        _connectionsTotal.add(1, ordering: .relaxed)
        let started = threads.start(name: "skiff-admin-conn") { [self] in
            serve(fd, id: id)
            state.withLock {
                _ = $0.connections.removeValue(forKey: id)
                $0.idle.remove(id)
            }
            SocketIO.close(fd)
        }
        if !started {
            state.withLock { _ = $0.connections.removeValue(forKey: id) }
            refuse(fd, 503, "server busy")
        }
    }

    private func refuse(_ fd: Int32, _ status: Int, _ message: String) {
        let bytes = Self.serialize(
            .text(message, status: status), minorVersion: 1, keepAlive: false, includeBody: true, extraHeaders: [])
        _ = bytes.withUnsafeBytes { SocketIO.send(fd, $0, blocking: false) }
        _ = shutdown(fd, Int32(SHUT_WR))
        SocketIO.close(fd)
    }

    /// One connection's request loop, on its own thread.
    private func serve(_ fd: Int32, id: Int) {
        SocketIO.setBlocking(fd, true)
        SocketIO.setTimeouts(fd, receiveNs: configuration.ioTimeoutNs, sendNs: configuration.ioTimeoutNs)
        _ = cskiff_set_int_opt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let remote = TCPListener.peerAddress(fd)
        var buffer: [UInt8] = []
        var scratch: [UInt8] = []
        var answered = 0
        let chunk = 16 * 1024

        /// Reads more into `buffer`; false on end of stream, timeout or error.
        func readMore() -> Bool {
            scratch.removeAll(keepingCapacity: true)
            guard case .done(let n) = SocketIO.read(fd, into: &scratch, max: chunk), n > 0 else { return false }
            buffer.append(contentsOf: scratch)
            return true
        }

        var parser = AdminRequestParser(limits: configuration.limits, bodyLimit: configuration.maxBodyBytes)
        // Also while stopping: the request on its way is answered (with `Connection: close`), see `stop`.
        while true {
            let head: AdminRequestParser.Head
            let consumed: Int
            switch parser.parse(buffer) {
            case .incomplete:
                if buffer.isEmpty && answered > 0 {
                    // Between requests: `stop` may close this one at once.
                    guard setIdle(id, true) else { return }
                    let more = readMore()
                    _ = setIdle(id, false)
                    guard more else { return }
                } else {
                    guard readMore() else { return }
                }
                continue
            case .failure(let status, let message):
                send(fd, .text(message, status: status), minorVersion: 1, keepAlive: false, includeBody: true)
                Self.lingeringClose(fd)
                return
            case .complete(let h, let c):
                head = h
                consumed = c
            }
            let total = consumed + head.contentLength
            if buffer.count < total && head.expectContinue && head.minorVersion >= 1 {
                guard SocketIO.sendAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
            }
            while buffer.count < total {
                guard readMore() else { return }
            }
            let body = Array(buffer[consumed..<total])
            buffer.removeSubrange(0..<total)
            parser.reset()
            _requests.add(1, ordering: .relaxed)

            let (response, extra) = respond(to: head, body: body, remote: remote, fd: fd)
            let keepAlive = head.keepAlive && !isStopping
            guard
                send(
                    fd, response, minorVersion: head.minorVersion, keepAlive: keepAlive,
                    includeBody: head.method != "HEAD", extraHeaders: extra)
            else { return }
            answered += 1
            if !keepAlive { return }
        }
    }

    private func respond(
        to head: AdminRequestParser.Head, body: [UInt8], remote: String, fd: Int32
    ) -> (AdminResponse, [(name: String, value: String)]) {
        var path = Substring(head.target)
        var query = Substring("")
        if let q = head.target.firstIndex(of: "?") {
            path = head.target[..<q]
            query = head.target[head.target.index(after: q)...]
        }
        let match = router.withLock { $0 }.match(method: head.method, path: String(path))
        switch match {
        case .found(let handler, let parameters):
            let headers = head.headers.map { (name: $0.name, value: $0.value) }
            let uid: UInt32?
            switch access.decide(method: head.method, headers: headers, peerUID: { LocalPeer.uid(ofConnection: fd) }) {
            case .allow(let who): uid = who
            case .deny(let status, let reason):
                _forbidden.add(1, ordering: .relaxed)
                return (.text(reason, status: status), [])
            }
            var request = AdminRequest(
                method: head.method, target: head.target, path: String(path), query: String(query),
                pathParameters: parameters, headers: headers, body: body, remoteAddress: remote)
            request.peerUID = uid
            return (handler(request), [])
        case .methodNotAllowed(let allow):
            return (
                .text(
                    "method \(head.method) not allowed on \(path); allowed: \(allow.joined(separator: ", "))",
                    status: 405),
                [("Allow", allow.joined(separator: ", "))]
            )
        case .notFound:
            return (.text("not found: \(path)", status: 404), [])
        case .badPath:
            return (.text("bad percent-encoding in path", status: 400), [])
        }
    }

    @discardableResult
    private func send(
        _ fd: Int32, _ response: AdminResponse, minorVersion: Int, keepAlive: Bool, includeBody: Bool,
        extraHeaders: [(name: String, value: String)] = []
    ) -> Bool {
        SocketIO.sendAll(
            fd,
            Self.serialize(
                response, minorVersion: minorVersion, keepAlive: keepAlive, includeBody: includeBody,
                extraHeaders: extraHeaders))
    }

    /// After an error answer the client may still be sending (a refused body, the rest of a huge head). Closing with
    /// unread input makes TCP send a reset, which can destroy the answer before the client reads it; so stop writing,
    /// read and drop what comes for a moment, then let the caller close.
    static func lingeringClose(_ fd: Int32, maxBytes: Int = 1 << 20, timeoutNs: UInt64 = 500_000_000) {
        _ = shutdown(fd, Int32(SHUT_WR))
        SocketIO.setTimeouts(fd, receiveNs: 100_000_000, sendNs: 100_000_000)
        let deadline = MonotonicClock.now() + timeoutNs
        var drained = 0
        var sink: [UInt8] = []
        while drained < maxBytes && MonotonicClock.now() < deadline {
            sink.removeAll(keepingCapacity: true)
            guard case .done(let n) = SocketIO.read(fd, into: &sink, max: 16 * 1024), n > 0 else { return }
            drained += n
        }
    }

    /// The response's bytes. `Content-Length` is always the body's length (also for `HEAD`, where the body is left
    /// out). CR and LF in header names or values are dropped so a handler cannot split the response.
    static func serialize(
        _ response: AdminResponse, minorVersion: Int, keepAlive: Bool, includeBody: Bool,
        extraHeaders: [(name: String, value: String)]
    ) -> [UInt8] {
        func clean(_ s: String) -> String { String(s.unicodeScalars.filter { $0 != "\r" && $0 != "\n" }) }
        var head = "HTTP/1.1 \(response.status) \(AdminResponse.reason(response.status))\r\n"
        head += "Content-Type: \(clean(response.contentType))\r\n"
        head += "Content-Length: \(response.body.count)\r\n"
        for (name, value) in extraHeaders + response.headers {
            head += "\(clean(name)): \(clean(value))\r\n"
        }
        if !keepAlive {
            head += "Connection: close\r\n"
        } else if minorVersion == 0 {
            head += "Connection: keep-alive\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if includeBody { bytes.append(contentsOf: response.body) }
        return bytes
    }
}
