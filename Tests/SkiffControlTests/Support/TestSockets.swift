import Glibc
import SkiffJSON
import SkiffSystem
import Synchronization

@testable import SkiffControl

/// A unique path under /tmp for one test's socket.
func uniqueSocketPath(_ name: String) -> String {
    let n = socketPathCounter.add(1, ordering: .relaxed).newValue
    return "/tmp/skiff-ctl-\(getpid())-\(n)-\(name).sock"
}
private let socketPathCounter = Atomic<Int>(0)

/// Polls `condition` every 5 ms until it holds or `seconds` pass.
func eventually(within seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = MonotonicClock.now() + UInt64(seconds * 1e9)
    while MonotonicClock.now() < deadline {
        if condition() { return true }
        MonotonicClock.sleep(ns: 5_000_000)
    }
    return condition()
}

/// The member `key` of a JSON object.
func member(_ value: JSONValue?, _ key: String) -> JSONValue? {
    guard case .object(let members)? = value else { return nil }
    return members.first(where: { $0.key == key })?.value
}

/// A blocking socket client with receive and send timeouts, so no test can hang on a read.
final class TestSocket {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var closed = false

    init(fd: Int32, timeoutSeconds: Double = 5) {
        self.fd = fd
        let ns = UInt64(timeoutSeconds * 1e9)
        SocketIO.setTimeouts(fd, receiveNs: ns, sendNs: ns)
    }

    /// Connects to a Unix socket; nil when nobody listens.
    static func unix(_ path: String, timeoutSeconds: Double = 5) -> TestSocket? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        precondition(fd >= 0)
        var (addr, len) = UnixListener.address(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) }
        }
        if rc != 0 {
            Glibc.close(fd)
            return nil
        }
        return TestSocket(fd: fd, timeoutSeconds: timeoutSeconds)
    }

    /// Connects to 127.0.0.1:port.
    static func tcp(port: Int, timeoutSeconds: Double = 5) -> TestSocket? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        precondition(fd >= 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            Glibc.close(fd)
            return nil
        }
        return TestSocket(fd: fd, timeoutSeconds: timeoutSeconds)
    }

    deinit { close() }

    func close() {
        if !closed {
            closed = true
            Glibc.close(fd)
        }
    }

    func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool { SocketIO.sendAll(fd, bytes) }

    /// Reads more bytes into the buffer; false on end of stream, reset or timeout.
    private func fill() -> Bool {
        var chunk: [UInt8] = []
        guard case .done(let n) = SocketIO.read(fd, into: &chunk, max: 64 * 1024), n > 0 else { return false }
        buffer.append(contentsOf: chunk)
        return true
    }

    /// The next line without its newline; nil on end of stream, reset or timeout.
    func readLine() -> String? {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return line
            }
            guard fill() else { return nil }
        }
    }

    /// The next line parsed as JSON.
    func readJSON() -> JSONValue? {
        guard let line = readLine() else { return nil }
        return try? JSONParser.parse(line)
    }

    /// Sends one request line and reads one reply.
    func request(_ line: String) -> JSONValue? {
        guard send(line + "\n") else { return nil }
        return readJSON()
    }

    /// True when the peer closed (end of stream or reset) within the timeout; reads and drops up to `limit` bytes.
    func waitForClose(limit: Int = 64 << 20) -> Bool {
        var seen = buffer.count
        buffer.removeAll()
        while seen <= limit {
            var chunk: [UInt8] = []
            switch SocketIO.read(fd, into: &chunk, max: 256 * 1024) {
            case .done(0): return true
            case .done(let n): seen += n
            case .wouldBlock: return false  // SO_RCVTIMEO expired
            case .error(let e): return e == ECONNRESET || e == EPIPE
            }
        }
        return false
    }

    // MARK: - HTTP

    struct HTTPResponse {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? {
            headers.first(where: { $0.0.lowercased() == name.lowercased() })?.1
        }
    }

    /// Reads one response (Content-Length framed; `head` skips the body, as for a HEAD request).
    func readHTTPResponse(head: Bool = false) -> HTTPResponse? {
        var headEnd: Int? = nil
        while headEnd == nil {
            if let r = findHeadEnd() {
                headEnd = r
            } else if !fill() {
                return nil
            }
        }
        let headText = String(decoding: buffer[..<headEnd!], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [(String, String)] = []
        for line in lines where !line.isEmpty {
            let parts = line.split(separator: ":", maxSplits: 1)
            headers.append((String(parts[0]), parts.count > 1 ? String(parts[1]).trimmed : ""))
        }
        buffer.removeSubrange(0..<(headEnd! + 4))
        let length = head ? 0 : Int(headers.first(where: { $0.0.lowercased() == "content-length" })?.1 ?? "0") ?? 0
        while buffer.count < length {
            guard fill() else { return nil }
        }
        let body = Array(buffer[..<length])
        buffer.removeSubrange(0..<length)
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    private func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4)
        where buffer[i] == 0x0D && buffer[i + 1] == 0x0A && buffer[i + 2] == 0x0D && buffer[i + 3] == 0x0A {
            return i
        }
        return nil
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }

    /// Splits on a separator string (Foundation-free).
    func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(self)
        while let r = rest.firstRange(of: separator) {
            parts.append(String(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}
