import CSkiffLinux
import Glibc
import SkiffConfig

/// Where the control socket lives unless `--control-socket` says otherwise: `$SKIFF_CONTROL_SOCKET`, else
/// `$XDG_RUNTIME_DIR/skiff/skiff.sock`, else `/run/skiff/skiff.sock` for root, else `/tmp/skiff-<uid>/skiff.sock`.
func defaultControlSocket() -> String {
    if let p = getenv("SKIFF_CONTROL_SOCKET") { return String(cString: p) }
    if let x = getenv("XDG_RUNTIME_DIR") { return String(cString: x) + "/skiff/skiff.sock" }
    if getuid() == 0 { return "/run/skiff/skiff.sock" }
    return "/tmp/skiff-\(getuid())/skiff.sock"
}

/// Creates the socket's directory (mode 0700) if it is missing.
func ensureSocketDirectory(_ path: String) {
    guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
    let dir = String(path[..<slash])
    var st = stat()
    if stat(dir, &st) != 0 { mkdir(dir, 0o700) }
}

/// A blocking client of the control socket: one request line out, reply lines in.
final class ControlClient {
    let fd: Int32
    private var buffer: [UInt8] = []
    /// Descriptors that arrived with replies (SCM_RIGHTS: `upgrade.listeners`), in order; the caller owns them.
    var receivedDescriptors: [Int32] = []

    init(path: String) throws {
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
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            throw CLIError(
                "cannot reach skiff at \(path): \(String(cString: strerror(e))) (is it running? --socket PATH)")
        }
    }

    deinit { close(fd) }

    func send(_ line: String) throws {
        let bytes = Array((line + "\n").utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n <= 0 { throw CLIError("control socket write failed: \(String(cString: strerror(errno)))") }
            off += n
        }
    }

    /// The next line, or nil at EOF.
    func readLine() throws -> [UInt8]? {
        while true {
            if let i = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<i])
                buffer.removeFirst(i + 1)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            var fds = [Int32](repeating: -1, count: 64)
            var nfds: Int32 = 0
            let n = chunk.withUnsafeMutableBytes { b in
                fds.withUnsafeMutableBufferPointer { cskiff_recv_fds(fd, b.baseAddress!, 65536, $0.baseAddress!, 64, &nfds) }
            }
            receivedDescriptors += fds.prefix(Int(nfds))
            if n == 0 { return nil }
            if n < 0 {
                if errno == EINTR { continue }
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
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
