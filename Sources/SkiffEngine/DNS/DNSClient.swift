import Glibc
import SkiffNet

/// Asks DNS servers over UDP, one after another, until one answers: the resolver thread's only way to a name
/// (blocking; never on a poller). A server that answers NXDOMAIN or an empty list is an answer; one that does not
/// answer in `timeoutMs`, or answers garbage, gives the next server its turn, for `attempts` rounds.
struct DNSClient: Sendable {
    let servers: [SocketAddress]
    let timeoutMs: Int
    let attempts: Int

    /// `cancelled` is asked between servers and every 100 ms of a wait: a stopping engine does not wait out a
    /// resolver that does not answer.
    func resolve(
        _ name: String, _ type: DNSMessage.RecordType, cancelled: () -> Bool = { false }
    ) -> Result<DNSMessage.Answer, DNSFailure> {
        var last = DNSFailure.timeout
        for _ in 0..<max(1, attempts) {
            for server in servers {
                if cancelled() { return .failure(.cancelled) }
                let id = UInt16.random(in: 0...UInt16.max)
                guard let query = DNSMessage.query(id: id, name: name, type: type) else { return .failure(.badName) }
                switch exchange(query, with: server, cancelled: cancelled) {
                case .success(let reply):
                    switch DNSMessage.parseAnswer(reply, id: id, type: type) {
                    case .success(let answer): return .success(answer)
                    case .failure(.rcode(3)): return .failure(.rcode(3))  // the name does not exist: no use asking on
                    case .failure(let f): last = f
                    }
                case .failure(let f): last = f
                }
            }
        }
        return .failure(last)
    }

    /// One datagram out, one back (answers to other ids or from elsewhere are dropped by the connected socket and
    /// the id check).
    private func exchange(
        _ query: [UInt8], with server: SocketAddress, cancelled: () -> Bool
    ) -> Result<[UInt8], DNSFailure> {
        let fd = socket(server.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(.socket(errno)) }
        defer { close(fd) }
        let connected = server.withSockAddr { connect(fd, $0, $1) }
        guard connected == 0 else { return .failure(.socket(errno)) }
        guard send(fd, query, query.count, 0) == query.count else { return .failure(.socket(errno)) }
        var reply = [UInt8](repeating: 0, count: 4096)
        let deadline = MonotonicClock.now() &+ UInt64(timeoutMs) &* 1_000_000
        while true {
            let now = MonotonicClock.now()
            guard now < deadline else { return .failure(.timeout) }
            if cancelled() { return .failure(.cancelled) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(100, max(1, (deadline - now) / 1_000_000))))
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 { continue }  // the deadline and `cancelled` are checked at the top
            guard ready > 0 else { return .failure(.socket(errno)) }
            let n = recv(fd, &reply, reply.count, 0)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .failure(.socket(errno))  // ECONNREFUSED: nothing listens there
            }
            return .success(Array(reply[0..<n]))
        }
    }
}
