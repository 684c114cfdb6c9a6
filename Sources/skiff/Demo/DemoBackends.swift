import CSkiffLinux
import Glibc
import SkiffNet
import Synchronization

/// Built-in loopback backends for `skiff demo`: HTTP hosts (one flapping its health check, one slow) and a Bolt
/// echo server. Thread per connection, blocking sockets: they are props, not the product.
final class DemoHTTPBackend: @unchecked Sendable {
    let name: String
    let port: Int
    let fd: Int32
    /// Seconds of a cycle during which /health answers 503 (0 = always healthy); the cycle is `flapPeriod`.
    let flapDown: Int
    let flapPeriod: Int
    /// Extra latency per request, in milliseconds (0 = none).
    let delayMs: ClosedRange<Int>
    let served = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    let started = MonotonicClock.now()

    init(name: String, flapDown: Int = 0, flapPeriod: Int = 20, delayMs: ClosedRange<Int> = 0...0) throws {
        self.name = name
        self.flapDown = flapDown
        self.flapPeriod = flapPeriod
        self.delayMs = delayMs
        fd = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)!, nonBlocking: false)
        port = Socket.localAddress(fd)!.port
        try NetThread.start(name: "demo-\(name)") { [self] in self.acceptLoop() }
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    private var healthy: Bool {
        guard flapDown > 0 else { return true }
        let s = Int((MonotonicClock.now() - started) / 1_000_000_000)
        return s % flapPeriod < flapPeriod - flapDown
    }

    private func acceptLoop() {
        AcceptLoop.run(fd, isStopping: { stopping.load(ordering: .relaxed) }) { c in
            SocketIO.setBlocking(c, true)
            do { try NetThread.start(name: "demo-conn") { [self] in self.serve(c) } } catch { Glibc.close(c) }
        }
        Glibc.close(fd)
    }

    private func serve(_ c: Int32) {
        defer { Glibc.close(c) }
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while !stopping.load(ordering: .relaxed) {
            // One request head (the demo's clients send no bodies).
            var headEnd: Int?
            while headEnd == nil {
                if let i = find(buf, [13, 10, 13, 10]) {
                    headEnd = i
                    break
                }
                let n = chunk.withUnsafeMutableBytes { recv(c, $0.baseAddress!, 16384, 0) }
                if n <= 0 { return }
                buf += chunk[0..<n]
            }
            let head = String(decoding: buf[0..<headEnd!], as: UTF8.self)
            buf.removeFirst(headEnd! + 4)
            let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            let close = head.lowercased().contains("connection: close")
            var status = 200
            var body = "hello from \(name) \(path)\n"
            if path == "/health" {
                status = healthy ? 200 : 503
                body = healthy ? "ok\n" : "flapping\n"
            } else {
                served.wrappingAdd(1, ordering: .relaxed)
                if delayMs.upperBound > 0 { usleep(UInt32(Int.random(in: delayMs)) * 1000) }
            }
            let resp = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Service Unavailable")\r\ncontent-type: text/plain\r\ncontent-length: \(body.utf8.count)\r\n\(close ? "connection: close\r\n" : "")\r\n\(body)"
            let bytes = Array(resp.utf8)
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeBytes { send(c, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                off += n
            }
            if close { return }
        }
    }
}

/// A Bolt v1 echo server: answers every request with its content, heartbeats with heartbeats.
final class DemoBoltBackend: @unchecked Sendable {
    let port: Int
    let fd: Int32
    let served = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)

    init() throws {
        fd = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)!, nonBlocking: false)
        port = Socket.localAddress(fd)!.port
        try NetThread.start(name: "demo-bolt") { [self] in
            AcceptLoop.run(fd, isStopping: { stopping.load(ordering: .relaxed) }) { c in
                SocketIO.setBlocking(c, true)
                do { try NetThread.start(name: "demo-bolt-conn") { [self] in self.serve(c) } } catch { Glibc.close(c) }
            }
            Glibc.close(fd)
        }
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    private func serve(_ c: Int32) {
        defer { Glibc.close(c) }
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(c, $0.baseAddress!, 65536, 0) }
            if n <= 0 { return }
            buf += chunk[0..<n]
            var out: [UInt8] = []
            while buf.count >= 22 {
                let cmd = Int(buf[2]) << 8 | Int(buf[3])
                let id = Array(buf[5..<9])
                let classLen = Int(buf[14]) << 8 | Int(buf[15])
                let headerLen = Int(buf[16]) << 8 | Int(buf[17])
                let contentLen = Int(buf[18]) << 24 | Int(buf[19]) << 16 | Int(buf[20]) << 8 | Int(buf[21])
                let total = 22 + classLen + headerLen + contentLen
                guard buf.count >= total else { break }
                let content = cmd == 0 ? [] : Array(buf[(total - contentLen)..<total])
                if cmd != 0 { served.wrappingAdd(1, ordering: .relaxed) }
                out += [0x01, 0x00, 0x00, UInt8(cmd == 0 ? 0 : 2), 0x01] + id + [buf[9], 0, 0, 0, 0, 0, 0]
                    + [UInt8(content.count >> 24 & 0xff), UInt8(content.count >> 16 & 0xff),
                       UInt8(content.count >> 8 & 0xff), UInt8(content.count & 0xff)] + content
                buf.removeFirst(total)
            }
            var off = 0
            while off < out.count {
                let w = out.withUnsafeBytes { send(c, $0.baseAddress! + off, out.count - off, Int32(MSG_NOSIGNAL)) }
                if w <= 0 { return }
                off += w
            }
        }
    }
}

func find(_ hay: [UInt8], _ needle: [UInt8]) -> Int? {
    guard hay.count >= needle.count else { return nil }
    for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
        var ok = true
        for j in 1..<needle.count where hay[i + j] != needle[j] {
            ok = false
            break
        }
        if ok { return i }
    }
    return nil
}
