import Glibc
import SkiffNet
import Synchronization

/// A blocking, thread-per-connection TCP server on 127.0.0.1 for tests: echoes (and on EOF echoes the rest, then
/// half-closes), or sinks without reading, or greets and closes. Counts connections and bytes.
public final class EchoServer: ThreadPerConnectionServer, @unchecked Sendable {
    public enum Mode: Sendable {
        /// Echo everything; on EOF, FIN back.
        case echo
        /// Accept and never read (a slow reader).
        case sink
        /// Send `greeting` and then close.
        case greet([UInt8])
    }

    public let mode: Mode
    public let bytesEchoed = Atomic<Int>(0)

    public init(mode: Mode = .echo, port: Int = 0) throws {
        self.mode = mode
        try super.init(name: "echo", port: port)
    }

    override func serve(_ fd: Int32) {
        switch mode {
        case .sink:
            while !isStopping { usleep(20_000) }
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
    }
}
