import Glibc
import SkiffNet
import Synchronization

/// A small HTTP/1.1 backend for tests, thread per connection, keep-alive. Behaviour by path:
/// - `/small` or anything unlisted: 200 with body `"<name> <path>"` (so a test sees which backend answered);
/// - `/echo`: 200 echoing the request body (Content-Length or chunked request bodies);
/// - `/headers`: 200, body = the request head as received (to check Host, X-Forwarded-For, hop-by-hop removal);
/// - `/trailers`: 200, body = the trailer fields of a chunked request body as received, one per line;
/// - `/status/NNN`: that status, body `"status NNN"`;
/// - `/slow/MS`: waits MS milliseconds, then 200;
/// - `/chunked`: 200 with a chunked body of three chunks;
/// - `/never`: reads the request and never answers;
/// - `/reset-mid-body`: sends headers promising 100000 bytes, 1000 of them, then resets the connection;
/// - `/close`: 200 with no Content-Length, body ended by closing;
/// - `/bare-lf`: 200 whose head ends its lines with a bare LF (a response a strict proxy must refuse).
/// Counts requests per path.
public final class HTTPTestServer: ThreadPerConnectionServer, @unchecked Sendable {
    public let name: String
    public let requests = Atomic<Int>(0)
    /// Requests being answered right now, and the most seen at once (how many a proxy sent in parallel).
    public let inProgress = Atomic<Int>(0)
    public let maxInProgress = Atomic<Int>(0)
    /// Requests that arrived whole (head and body).
    public let completedRequests = Atomic<Int>(0)
    private let paths = Mutex<[String: Int]>([:])
    private let completePaths = Mutex<[String: Int]>([:])

    /// Every request (but `/headers`) is answered with this status when set: a failing host.
    public let forcedStatus: Int?
    /// The same, switchable while the server runs (0 = off; `forcedStatus` wins): a host that starts failing.
    public let switchedStatus = Atomic<Int>(0)

    /// - Parameter port: 0 for any free port; a given one brings a stopped backend back on its address.
    public init(name: String = "backend", port: Int = 0, forcedStatus: Int? = nil) throws {
        self.name = name
        self.forcedStatus = forcedStatus
        try super.init(name: "http", port: port, connectionStackSize: 512 * 1024)
    }

    /// Requests for `path` whose head arrived.
    public func count(path: String) -> Int { paths.withLock { $0[path] ?? 0 } }
    /// Requests for `path` that arrived whole (head and body): what a backend would act on.
    public func completed(path: String) -> Int { completePaths.withLock { $0[path] ?? 0 } }

    private func respond(_ fd: Int32, status: Int, body: [UInt8], extra: String = "") -> Bool {
        let head = "HTTP/1.1 \(status) X\r\ncontent-length: \(body.count)\r\n\(extra)\r\n"
        return SocketIO.sendAll(fd, Array(head.utf8) + body)
    }

    /// Buffered reader over the socket.
    private struct Reader {
        let fd: Int32
        var buf: [UInt8] = []

        mutating func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, 65536, 0) }
            if n <= 0 { return false }
            buf.append(contentsOf: chunk[0..<n])
            return true
        }

        mutating func line() -> String? {
            while true {
                if let i = buf.firstIndex(of: UInt8(ascii: "\n")) {
                    let l = String(decoding: buf[0..<i], as: UTF8.self)
                    buf.removeFirst(i + 1)
                    return l.hasSuffix("\r") ? String(l.dropLast()) : l
                }
                if !fill() { return nil }
            }
        }

        mutating func bytes(_ n: Int) -> [UInt8]? {
            while buf.count < n { if !fill() { return nil } }
            let out = Array(buf[0..<n])
            buf.removeFirst(n)
            return out
        }
    }

    override func serve(_ fd: Int32) {
        var r = Reader(fd: fd)
        while !isStopping {
            guard let requestLine = r.line() else { return }
            var headLines = [requestLine]
            var headers: [(String, String)] = []
            while let l = r.line() {
                if l.isEmpty { break }
                headLines.append(l)
                if let c = l.firstIndex(of: ":") {
                    headers.append((l[..<c].lowercased(), l[l.index(after: c)...].trimmingCharacters()))
                }
            }
            let parts = requestLine.split(separator: " ")
            guard parts.count == 3 else { return }
            let method = String(parts[0])
            let path = String(parts[1])
            requests.wrappingAdd(1, ordering: .relaxed)
            paths.withLock { $0[path, default: 0] += 1 }
            let now = inProgress.wrappingAdd(1, ordering: .relaxed).newValue
            var seen = maxInProgress.load(ordering: .relaxed)
            while now > seen {
                let (swapped, actual) = maxInProgress.compareExchange(
                    expected: seen, desired: now, ordering: .relaxed)
                if swapped { break }
                seen = actual
            }
            defer { inProgress.wrappingSubtract(1, ordering: .relaxed) }
            // Body.
            var body: [UInt8] = []
            var trailerLines: [String] = []
            if let cl = headers.first(where: { $0.0 == "content-length" }).flatMap({ Int($0.1) }) {
                guard let b = r.bytes(cl) else { return }
                body = b
            } else if headers.contains(where: { $0.0 == "transfer-encoding" && $0.1.lowercased() == "chunked" }) {
                while true {
                    // Anything but plain hex digits ends the connection (a proxy under test may pass junk on).
                    guard let sizeLine = r.line(), let sizeText = sizeLine.split(separator: ";").first,
                        !sizeText.isEmpty, sizeText.allSatisfy(\.isHexDigit), sizeText.count <= 8,
                        let size = Int(sizeText, radix: 16)
                    else {
                        return
                    }
                    if size == 0 {
                        while let t = r.line(), !t.isEmpty { trailerLines.append(t) }
                        break
                    }
                    guard let chunk = r.bytes(size), r.line() != nil else { return }
                    body += chunk
                }
            }
            completePaths.withLock { $0[path, default: 0] += 1 }
            completedRequests.wrappingAdd(1, ordering: .relaxed)
            let wantsClose = headers.contains { $0.0 == "connection" && $0.1.lowercased() == "close" }
            let closeHeader = wantsClose ? "connection: close\r\n" : ""
            var ok = true
            let switched = switchedStatus.load(ordering: .relaxed)
            if let forced = forcedStatus ?? (switched != 0 ? switched : nil), path != "/headers" {
                ok = respond(fd, status: forced, body: Array("\(name) forced \(forced)".utf8), extra: closeHeader)
            } else if path == "/trailers" {
                ok = respond(fd, status: 200, body: Array(trailerLines.joined(separator: "\n").utf8), extra: closeHeader)
            } else if path == "/echo" {
                ok = respond(fd, status: 200, body: body, extra: closeHeader)
            } else if path == "/headers" {
                ok = respond(fd, status: 200, body: Array((headLines.joined(separator: "\r\n") + "\r\n").utf8), extra: closeHeader)
            } else if path.hasPrefix("/status/"), let code = Int(path.dropFirst(8)) {
                ok = respond(fd, status: code, body: Array("status \(code)".utf8), extra: closeHeader)
            } else if path.hasPrefix("/slow/"), let ms = Int(path.dropFirst(6)) {
                usleep(UInt32(ms) * 1000)
                ok = respond(fd, status: 200, body: Array("\(name) slow".utf8), extra: closeHeader)
            } else if path == "/chunked" {
                ok = SocketIO.sendAll(
                    fd, Array("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\(closeHeader)\r\n5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n".utf8))
            } else if path == "/never" {
                while !isStopping { usleep(20_000) }
                return
            } else if path == "/reset-mid-body" {
                _ = SocketIO.sendAll(fd, Array("HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n".utf8) + [UInt8](repeating: 65, count: 1000))
                usleep(50_000)
                var lin = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, socklen_t(MemoryLayout<linger>.size))
                return
            } else if path == "/bare-lf" {
                ok = SocketIO.sendAll(fd, Array("HTTP/1.1 200 OK\ncontent-length: 2\n\nok".utf8))
            } else if path == "/close" {
                _ = SocketIO.sendAll(fd, Array("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil close".utf8))
                return
            } else {
                let b = method == "HEAD" ? [] : Array("\(name) \(path)".utf8)
                let head = "HTTP/1.1 200 OK\r\ncontent-length: \(name.utf8.count + 1 + path.utf8.count)\r\n\(closeHeader)\r\n"
                ok = SocketIO.sendAll(fd, Array(head.utf8) + b)
            }
            if !ok || wantsClose { return }
        }
    }
}

extension StringProtocol {
    public func trimmingCharacters() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
