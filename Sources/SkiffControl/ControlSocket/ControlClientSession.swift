import CSkiffLinux
import Glibc
import SkiffSystem

/// One client connection: reads request lines, answers them, and streams a subscription if it asked for one.
///
/// Runs on the client's own thread and owns everything in it (the fd stays open until the server's `release`
/// after `run` returns). Writes never block: output goes to `out` and leaves as fast as the client reads; a client
/// whose unsent output passes `clientBufferBytes` is dropped, so a stuck reader costs only this thread.
final class ControlClientSession {
    private let server: ControlServer
    private let fd: Int32
    private let peer: PeerCredentials
    private var reader: LineReader
    private var out = OutgoingBuffer()
    private var scratch: [UInt8] = []
    private var subscription: (any ControlSubscription)?
    /// False once the client has shut down its side (it may still read our replies and frames).
    private var inputOpen = true
    /// Set after a line over the limit: send the error, then close.
    private var closing = false
    private var closeDeadlineNs: UInt64 = 0

    private static let readChunk = 64 * 1024
    /// How long an idle, unsubscribed client's thread sleeps in poll; `stop()` wakes it sooner with shutdown().
    private static let idlePollMs: Int32 = 500
    /// How long a closing client gets to read its last error line.
    private static let closeGraceNs: UInt64 = 1_000_000_000

    init(server: ControlServer, fd: Int32) {
        self.server = server
        self.fd = fd
        self.peer = server.configuration.credentials(fd)
        self.reader = LineReader(limit: server.configuration.maxLineBytes)
    }

    func run() {
        defer { subscription?.cancel() }
        let pollIn = Int16(POLLIN)
        let pollOut = Int16(POLLOUT)
        let hangUp = Int16(POLLHUP)
        let broken = Int16(POLLERR) | Int16(POLLNVAL)
        while true {
            if server.isStopping {
                // The reply to `stop` itself (or whatever is queued) goes out if the socket takes it now.
                _ = out.flush(to: fd)
                return
            }
            if closing && (out.isEmpty || MonotonicClock.now() >= closeDeadlineNs) {
                _ = shutdown(fd, Int32(SHUT_WR))
                return
            }
            if !inputOpen && subscription == nil && out.isEmpty { return }

            var events: Int16 = 0
            if inputOpen && !closing { events |= pollIn }
            if !out.isEmpty { events |= pollOut }
            let timeout: Int32 = subscription != nil && !closing ? 0 : Self.idlePollMs
            let revents = SocketIO.poll(fd, events: events, timeoutMs: timeout)
            if revents & broken != 0 { return }
            if inputOpen && !closing && revents & (pollIn | hangUp) != 0 {
                guard readInput() else { return }
            } else if revents & hangUp != 0 {
                return  // both directions closed: nobody will read what we have
            }

            if let subscription, !closing {
                let wait = out.isEmpty ? server.configuration.subscriptionPollNs : 5_000_000
                for line in subscription.next(timeoutNs: wait) {
                    ControlReply.appendLine(line, to: &out)
                }
            }
            if out.flush(to: fd) == .failed { return }
            if out.count > server.configuration.clientBufferBytes {
                server.counters.droppedSlow()
                return
            }
        }
    }

    /// Reads what is there and handles complete lines; false when the connection failed.
    private func readInput() -> Bool {
        scratch.removeAll(keepingCapacity: true)
        switch SocketIO.read(fd, into: &scratch, max: Self.readChunk) {
        case .done(0):
            inputOpen = false
            if let last = reader.finish() { handle(last) }
        case .done:
            reader.append(scratch)
            while !closing, let event = reader.next() { handle(event) }
        case .wouldBlock:
            break
        case .error:
            return false
        }
        return true
    }

    /// Sends what is queued, then `reply` and its newline with `fds` attached in one sendmsg (so the descriptors
    /// arrive with the line that names them). A client that does not read within 2 s is closed. The caller closes
    /// `fds` afterwards.
    private func sendWithDescriptors(_ reply: [UInt8], _ fds: [Int32]) {
        let deadline = MonotonicClock.now() + 2_000_000_000
        while !out.isEmpty && MonotonicClock.now() < deadline {
            if out.flush(to: fd) == .failed { break }
            if !out.isEmpty { _ = SocketIO.poll(fd, events: Int16(POLLOUT), timeoutMs: 50) }
        }
        var line = reply
        line.append(UInt8(ascii: "\n"))
        var sent = 0
        while sent < line.count && MonotonicClock.now() < deadline {
            let r = line[sent...].withUnsafeBytes { b in
                fds.withUnsafeBufferPointer { f in
                    // Descriptors ride on the first byte only.
                    cskiff_send_fds(fd, b.baseAddress, b.count, f.baseAddress, sent == 0 ? Int32(f.count) : 0)
                }
            }
            if r > 0 {
                sent += r
            } else if r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                _ = SocketIO.poll(fd, events: Int16(POLLOUT), timeoutMs: 50)
            } else {
                break
            }
        }
        if sent < line.count {
            closing = true
            closeDeadlineNs = MonotonicClock.now()
        }
    }

    private func failLine(_ id: ControlRequestID, _ message: String) {
        if case .reply(let reply) = server.fail(id, message) { ControlReply.appendLine(reply, to: &out) }
    }

    private func handle(_ event: LineReader.Event) {
        switch event {
        case .tooLong:
            server.counters.oversize()
            server.counters.error()
            let limit = server.configuration.maxLineBytes
            ControlReply.appendLine(
                ControlReply.error(id: .none, "line too long: over \(limit) bytes; closing the connection"), to: &out)
            closing = true
            closeDeadlineNs = MonotonicClock.now() + Self.closeGraceNs
        case .line(let line):
            switch server.dispatch(line: line, peer: peer) {
            case .reply(let reply):
                ControlReply.appendLine(reply, to: &out)
            case .replyWithDescriptors(let reply, let fds):
                sendWithDescriptors(reply, fds)
                for fd in fds { SocketIO.close(fd) }  // the peer has its own copies now (or never will)
            case .subscribe(let id, let since, let intervalMs):
                if subscription != nil {
                    if case .reply(let reply) = server.fail(id, "already subscribed on this connection") {
                        ControlReply.appendLine(reply, to: &out)
                    }
                    return
                }
                if let ms = intervalMs {
                    guard let paced = server.backend.subscribe(since: since, intervalMs: ms) else {
                        failLine(id, "this server cannot pace a subscription (subscribe without interval_ms)")
                        return
                    }
                    subscription = paced
                } else {
                    subscription = server.backend.subscribe(since: since)
                }
                let fields = intervalMs.map { #"{"subscribed":true,"interval_ms":\#($0)}"# } ?? #"{"subscribed":true}"#
                let (reply, _) = ControlReply.encode(id: id, result: .ok(fields: Array(fields.utf8)))
                ControlReply.appendLine(reply, to: &out)
            case .setInterval(let id, let ms):
                guard let s = subscription else {
                    failLine(id, "not subscribed on this connection (subscribe first)")
                    return
                }
                guard s.setInterval(ms: ms) else {
                    failLine(id, "this server cannot pace a subscription")
                    return
                }
                let (reply, _) = ControlReply.encode(id: id, result: .ok(fields: Array(#"{"interval_ms":\#(ms)}"#.utf8)))
                ControlReply.appendLine(reply, to: &out)
            case .subscribeRequests(let id):
                guard subscription == nil, let (tap, maxPerSecond) = server.backend.subscribeRequests() else {
                    let why = subscription != nil ? "already subscribed on this connection" : "no request tap here"
                    if case .reply(let reply) = server.fail(id, why) { ControlReply.appendLine(reply, to: &out) }
                    return
                }
                subscription = tap
                let fields = "{\"subscribed\":true,\"stream\":\"requests\",\"max_per_second\":\(maxPerSecond)}"
                let (reply, _) = ControlReply.encode(id: id, result: .ok(fields: Array(fields.utf8)))
                ControlReply.appendLine(reply, to: &out)
            }
        }
    }
}
