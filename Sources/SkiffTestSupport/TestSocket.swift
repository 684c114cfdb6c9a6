import CSkiffLinux
import Glibc
import SkiffNet
import Synchronization

/// A blocking TCP client socket for tests, with timeouts on every call so a broken proxy fails a test instead of
/// hanging it.
public final class TestSocket: @unchecked Sendable {
    public let fd: Int32

    public init(fd: Int32) { self.fd = fd }

    /// Connects to 127.0.0.1:`port` with send/receive timeouts.
    public static func connect(port: Int, host: String = "127.0.0.1", timeoutSeconds: Int = 10) throws -> TestSocket {
        guard let addr = SocketAddress(ip: host, port: port) else { throw TestError("bad address \(host):\(port)") }
        let fd = Glibc.socket(addr.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket: errno \(errno)") }
        let s = TestSocket(fd: fd)
        s.setTimeout(seconds: timeoutSeconds)
        let rc = addr.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 {
            let e = errno
            Glibc.close(fd)
            throw TestError("connect \(addr): \(String(cString: strerror(e)))", errno: e)
        }
        _ = cskiff_set_int_opt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        return s
    }

    public func setTimeout(seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends everything or throws.
    public func send(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TestError("send: \(String(cString: strerror(errno)))", errno: errno)
            }
            off += n
        }
    }

    public func send(_ s: String) throws { try send(Array(s.utf8)) }

    /// Receives exactly `count` bytes, or throws on EOF/timeout.
    public func receive(exactly count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var off = 0
        while off < count {
            let n = out.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress! + off, count - off, 0) }
            if n == 0 { throw TestError("EOF after \(off) of \(count) bytes") }
            if n < 0 {
                if errno == EINTR { continue }
                throw TestError("recv after \(off) of \(count) bytes: \(String(cString: strerror(errno)))", errno: errno)
            }
            off += n
        }
        return out
    }

    /// Receives until EOF (or throws on timeout/error), at most `limit` bytes.
    public func receiveToEOF(limit: Int = 1 << 28) throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, 65536, 0) }
            if n == 0 { return out }
            if n < 0 {
                if errno == EINTR { continue }
                throw TestError("recv: \(String(cString: strerror(errno)))", errno: errno)
            }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// One recv: nil on EOF, throws on error or timeout.
    public func receiveSome(max: Int = 65536) throws -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: max)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, max, 0) }
            if n == 0 { return nil }
            if n < 0 {
                if errno == EINTR { continue }
                throw TestError("recv: \(String(cString: strerror(errno)))", errno: errno)
            }
            return Array(chunk[0..<n])
        }
    }

    public func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    public func close() { Glibc.close(fd) }
}

public struct TestError: Error, CustomStringConvertible {
    public var description: String
    public var errno: Int32
    public init(_ d: String, errno: Int32 = 0) {
        description = d
        self.errno = errno
    }
}

/// Hands out test ports: a walk through 20000-31999, started at a per-process offset.
private let nextTestPort = Atomic<Int>(Int(getpid()) % 12_000)

/// A port that was free a moment ago on 127.0.0.1, for a server a test starts next (prefer binding port 0 directly).
///
/// Taken below the kernel's ephemeral range (32768-60999): a port from there (what binding port 0 gives) can be
/// picked as the source port of any outgoing connection the suite makes before the server binds it, and the bind
/// then fails with "Address already in use" (seen a few times a day in full runs). Below that range only an explicit
/// bind can take it, and this walk hands each number to one test.
public func freePort() -> Int {
    for _ in 0..<12_000 {
        let port = 20_000 + nextTestPort.wrappingAdd(1, ordering: .relaxed).oldValue % 12_000
        guard let address = SocketAddress(ip: "127.0.0.1", port: port),
            let fd = try? Socket.listen(on: address, nonBlocking: false)
        else { continue }
        Glibc.close(fd)
        return port
    }
    fatalError("no free port in 20000-31999 on 127.0.0.1")
}

/// Deterministic pseudo-random bytes (xorshift), so a transfer can be checked without keeping a copy around.
public func patternBytes(count: Int, seed: UInt64) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    var x = seed | 1
    out.withUnsafeMutableBytes { p in
        var i = 0
        while i < count {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            var v = x
            for _ in 0..<8 where i < count {
                p[i] = UInt8(truncatingIfNeeded: v)
                v >>= 8
                i += 1
            }
        }
    }
    return out
}

/// Polls `condition` every 10 ms until it holds or `seconds` pass.
public func waitUntil(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = MonotonicClock.now() + UInt64(seconds * 1e9)
    while MonotonicClock.now() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// A port nobody can be listening on while this object lives: bound but not listening, so a connect is refused
/// (a `freePort()` number can be taken by another test running at the same time).
public final class DeadPort: @unchecked Sendable {
    public let port: Int
    let fd: Int32

    public init() {
        let s = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        a.sin_port = 0
        _ = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        fd = s
        port = Socket.localAddress(s)!.port
    }

    deinit { Glibc.close(fd) }
}
