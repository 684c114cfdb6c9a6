import CSkiffLinux
import Glibc
import SkiffConfig
import SkiffControl
import SkiffJSON

/// Where the control socket lives unless `--control-socket` says otherwise: `$SKIFF_CONTROL_SOCKET`, else
/// `$XDG_RUNTIME_DIR/skiff/skiff.sock`, else `/run/skiff/skiff.sock` for root, else `/tmp/skiff-<uid>/skiff.sock`.
func defaultControlSocket() -> String {
    if let p = getenv("SKIFF_CONTROL_SOCKET") { return String(cString: p) }
    if let x = getenv("XDG_RUNTIME_DIR") { return String(cString: x) + "/skiff/skiff.sock" }
    if getuid() == 0 { return "/run/skiff/skiff.sock" }
    return "/tmp/skiff-\(getuid())/skiff.sock"
}

/// How long a CLI command waits for each answer from the control socket unless `--answer-timeout` says otherwise.
let defaultAnswerTimeoutNs: UInt64 = 5_000_000_000

/// A blocking client of the control socket: one request line out, reply lines in.
///
/// Every wait is bounded: connecting, sending and each awaited line give up after `answerTimeoutNs` with a
/// `CLIError` whose exit code is 2 and whose message names the socket, so a daemon that accepts and never answers
/// cannot hang `skiff ctl`, `reload` or `stop`. The server must run as the caller's uid or root (SO_PEERCRED):
/// anyone else could have put their socket at the path. Owned by one thread.
final class ControlClient {
    let fd: Int32
    let path: String
    let answerTimeoutNs: UInt64
    private var buffer: [UInt8] = []
    /// Descriptors that arrived with replies (SCM_RIGHTS: `upgrade.listeners`), in order; the caller owns them.
    var receivedDescriptors: [Int32] = []

    init(path: String, answerTimeoutNs: UInt64 = defaultAnswerTimeoutNs) throws {
        self.path = path
        self.answerTimeoutNs = answerTimeoutNs
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CLIError("socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw CLIError("control socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        // A Unix-socket connect waits (while the server's backlog is full) at most SO_SNDTIMEO.
        setTimeout(SO_SNDTIMEO, answerTimeoutNs)
        var rc: Int32
        repeat {
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        } while rc != 0 && errno == EINTR
        if rc != 0 {
            let e = errno
            close(fd)
            if e == EAGAIN || e == EWOULDBLOCK { throw timedOut("to accept the connection") }
            throw CLIError(
                "cannot reach skiff at \(path): \(String(cString: strerror(e))) (is it running? --socket PATH)")
        }
        var uid: UInt32 = 0
        var pid: Int32 = 0
        guard cskiff_peer_cred(fd, &uid, &pid) == 0 else {
            close(fd)
            throw CLIError("cannot tell who serves \(path) (SO_PEERCRED failed); refusing to talk to it")
        }
        if uid != getuid() && uid != 0 {
            close(fd)
            throw CLIError(
                "refusing to talk to \(path): it is served by uid \(uid) (pid \(pid)), not by you (uid \(getuid())) "
                    + "or root")
        }
    }

    deinit { close(fd) }

    private func setTimeout(_ option: Int32, _ ns: UInt64) {
        var tv = timeval(tv_sec: Int(ns / 1_000_000_000), tv_usec: Int(ns % 1_000_000_000) / 1000)
        _ = setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The error for an answer that did not come in time (exit code 2).
    private func timedOut(_ what: String) -> CLIError {
        CLIError(
            "no answer from skiff at \(path) within \(Self.seconds(answerTimeoutNs)) (waiting for it \(what); "
                + "--answer-timeout to wait longer)", exitCode: 2)
    }

    static func seconds(_ ns: UInt64) -> String {
        ns % 1_000_000_000 == 0 ? "\(ns / 1_000_000_000)s" : "\(ns / 1_000_000)ms"
    }

    func send(_ line: String) throws {
        let bytes = Array((line + "\n").utf8)
        setTimeout(SO_SNDTIMEO, answerTimeoutNs)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw timedOut("to read the request") }
            if n <= 0 { throw CLIError("control socket write failed: \(String(cString: strerror(errno)))") }
            off += n
        }
    }

    /// The next line, or nil at EOF. With `deadlineNs` (monotonic), gives up then with a timeout error; without,
    /// waits `answerTimeoutNs` from now.
    func readLine(deadlineNs: UInt64? = nil) throws -> [UInt8]? {
        let deadline = deadlineNs ?? (Self.monotonicNs() + answerTimeoutNs)
        while true {
            if let i = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<i])
                buffer.removeFirst(i + 1)
                return line
            }
            let now = Self.monotonicNs()
            guard now < deadline else { throw timedOut("to answer") }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let waitMs = Int32(min((deadline - now + 999_999) / 1_000_000, 60_000))
            let ready = poll(&p, 1, waitMs)
            if ready < 0 && errno != EINTR {
                throw CLIError("control socket poll failed: \(String(cString: strerror(errno)))")
            }
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            var fds = [Int32](repeating: -1, count: 64)
            var nfds: Int32 = 0
            let n = chunk.withUnsafeMutableBytes { b in
                fds.withUnsafeMutableBufferPointer { cskiff_recv_fds(fd, b.baseAddress!, 65536, $0.baseAddress!, 64, &nfds) }
            }
            receivedDescriptors += fds.prefix(Int(nfds))
            if n == 0 { return nil }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw CLIError("control socket read failed: \(String(cString: strerror(errno)))")
            }
            buffer += chunk[0..<n]
        }
    }

    /// Sends a request and returns the parsed reply; an `ok:false` reply becomes an error with its message.
    func request(_ line: String) throws -> JSONValue {
        try send(line)
        guard let reply = try readLine() else { throw CLIError("skiff closed the control connection") }
        let v: JSONValue
        do {
            v = try JSONParser.parse(reply)
        } catch {
            throw CLIError("bad reply from skiff: \(error)")
        }
        if v["ok"]?.boolValue == false { throw CLIError(v["error"]?.stringValue ?? "request failed") }
        return v
    }

    static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// A failure the CLI reports in one line; `exitCode` 2 means "no answer in time", 1 anything else.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    var exitCode: Int32
    init(_ d: String, exitCode: Int32 = 1) {
        description = d
        self.exitCode = exitCode
    }
}
