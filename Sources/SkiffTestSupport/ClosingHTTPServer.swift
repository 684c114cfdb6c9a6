import Glibc
import SkiffNet
import Synchronization

/// An HTTP backend that answers ONE request per connection, flushes the response, and closes the connection a few
/// milliseconds later (`shutdown(SHUT_WR)`, then `close`), as an HTTP/1.0 server does, and as any server does at an
/// idle timeout or a max-requests limit. A request the proxy sent on the connection meanwhile is never read (the
/// kernel resets the connection). Thread per connection. The body is `"<name> <path>"`.
public final class ClosingHTTPServer: ThreadPerConnectionServer, @unchecked Sendable {
    public enum Style: Sendable {
        /// `HTTP/1.0 200`, no keep-alive: the response itself says the connection ends.
        case http10
        /// `HTTP/1.0 200` with `Connection: keep-alive`, closed all the same.
        case http10KeepAlive
        /// `HTTP/1.1 200` (keep-alive by default), closed all the same.
        case http11
    }
    public let name: String
    public let style: Style
    public let closeDelayMicros: UInt32
    public let answered = Atomic<Int>(0)

    public init(name: String, style: Style, closeDelayMicros: UInt32 = 4000) throws {
        self.name = name
        self.style = style
        self.closeDelayMicros = closeDelayMicros
        try super.init(name: "closing-http", connectionStackSize: 256 * 1024)
    }

    /// Reads one request head (requests here carry no body), answers, waits, half-closes; the caller closes.
    override func serve(_ fd: Int32) {
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        let end: [UInt8] = [13, 10, 13, 10]
        while !isStopping {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, 16384, 0) }
            if n <= 0 { return }
            buf += chunk[0..<n]
            guard let headEnd = firstIndex(of: end, in: buf) else { continue }
            let line = String(decoding: buf[0..<(buf.firstIndex(of: 13) ?? headEnd)], as: UTF8.self)
            let parts = line.split(separator: " ")
            let path = parts.count > 1 ? String(parts[1]) : "?"
            let body = Array("\(name) \(path)".utf8)
            let head: String
            switch style {
            case .http10: head = "HTTP/1.0 200 OK\r\ncontent-length: \(body.count)\r\n\r\n"
            case .http10KeepAlive: head = "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: \(body.count)\r\n\r\n"
            case .http11: head = "HTTP/1.1 200 OK\r\ncontent-length: \(body.count)\r\n\r\n"
            }
            let out = Array(head.utf8) + body
            var off = 0
            while off < out.count {
                let w = out.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, out.count - off, Int32(MSG_NOSIGNAL)) }
                if w <= 0 { return }
                off += w
            }
            answered.wrappingAdd(1, ordering: .relaxed)
            usleep(closeDelayMicros)
            Glibc.shutdown(fd, Int32(SHUT_WR))
            return
        }
    }

    private func firstIndex(of pattern: [UInt8], in b: [UInt8]) -> Int? {
        guard b.count >= pattern.count else { return nil }
        for i in 0...(b.count - pattern.count) where b[i] == pattern[0] && Array(b[i..<(i + pattern.count)]) == pattern {
            return i
        }
        return nil
    }
}
