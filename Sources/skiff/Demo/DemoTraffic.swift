import CSkiffLinux
import Glibc
import SkiffNet
import Synchronization

/// The demo's clients: keep-alive HTTP clients on both thread models' listeners and a Bolt client, each paced so the
/// whole generator sends about `rate` requests per second.
final class DemoTraffic: @unchecked Sendable {
    let ok = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)

    /// Eight HTTP clients and one Bolt client, each aiming at `rate / 9` requests per second on a fixed schedule
    /// (see `DemoPacer`): a slow answer is made up for by not sleeping, so the total reaches `rate`.
    func start(httpPorts: [Int], boltPort: Int, rate: Int) throws {
        let clients = 8
        let perClientIntervalNs = UInt64(1_000_000_000) * UInt64(clients + 1) / UInt64(max(1, rate))
        for i in 0..<clients {
            let port = httpPorts[i % httpPorts.count]
            try NetThread.start(name: "demo-client") { [self] in
                self.httpLoop(port: port, pacer: DemoPacer(intervalNs: perClientIntervalNs, phase: i, of: clients + 1), seed: i)
            }
        }
        try NetThread.start(name: "demo-bolt-client") { [self] in
            self.boltLoop(port: boltPort, pacer: DemoPacer(intervalNs: perClientIntervalNs, phase: clients, of: clients + 1))
        }
    }

    func stop() { stopping.store(true, ordering: .relaxed) }

    private func connect(_ port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, let a = SocketAddress(ip: "127.0.0.1", port: port) else { return nil }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if a.withSockAddr({ Glibc.connect(fd, $0, $1) }) != 0 {
            close(fd)
            return nil
        }
        return fd
    }

    private func httpLoop(port: Int, pacer: DemoPacer, seed: Int) {
        var pacer = pacer
        let paths = ["/", "/api/items", "/api/users/42", "/static/app.js", "/search?q=skiff"]
        var n = seed
        while !stopping.load(ordering: .relaxed) {
            guard let fd = connect(port) else {
                errors.wrappingAdd(1, ordering: .relaxed)
                usleep(200_000)
                continue
            }
            var buf: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 16384)
            requests: while !stopping.load(ordering: .relaxed) {
                n += 1
                let req = Array("GET \(paths[n % paths.count]) HTTP/1.1\r\nHost: demo.local\r\n\r\n".utf8)
                if req.withUnsafeBytes({ send(fd, $0.baseAddress!, req.count, Int32(MSG_NOSIGNAL)) }) <= 0 { break }
                while true {
                    if let end = find(buf, [13, 10, 13, 10]) {
                        let head = String(decoding: buf[0..<end], as: UTF8.self).lowercased()
                        let len = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                            .flatMap { Int($0.dropFirst(15).filter { !$0.isWhitespace }) } ?? 0
                        if buf.count >= end + 4 + len {
                            if head.hasPrefix("http/1.1 200") { ok.wrappingAdd(1, ordering: .relaxed) } else {
                                errors.wrappingAdd(1, ordering: .relaxed)
                            }
                            buf.removeFirst(end + 4 + len)
                            if head.contains("connection: close") { break requests }
                            break
                        }
                    }
                    let r = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, 16384, 0) }
                    if r <= 0 {
                        errors.wrappingAdd(1, ordering: .relaxed)
                        break requests
                    }
                    buf += chunk[0..<r]
                }
                pacer.wait()
            }
            close(fd)
        }
    }

    private func boltLoop(port: Int, pacer: DemoPacer) {
        var pacer = pacer
        let cls = Array("com.alipay.sofa.rpc.core.request.SofaRequest".utf8)
        let service = Array("com.alipay.demo.EchoService:1.0".utf8)
        let header = [0, 0, 0, 7] + Array("service".utf8) + [0, 0, 0, UInt8(service.count)] + service
        var id: UInt32 = 0
        while !stopping.load(ordering: .relaxed) {
            guard let fd = connect(port) else {
                usleep(200_000)
                continue
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            while !stopping.load(ordering: .relaxed) {
                id &+= 1
                let content = Array("ping \(id)".utf8)
                let frame: [UInt8] =
                    [1, 1, 0, 1, 1, UInt8(id >> 24 & 0xff), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff), 1,
                     0, 0, 0x0b, 0xb8, 0, UInt8(cls.count), 0, UInt8(header.count), 0, 0, 0, UInt8(content.count)]
                    + cls + header + content
                if frame.withUnsafeBytes({ send(fd, $0.baseAddress!, frame.count, Int32(MSG_NOSIGNAL)) }) <= 0 { break }
                let r = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, 65536, 0) }
                if r < 20 {
                    errors.wrappingAdd(1, ordering: .relaxed)
                    break
                }
                if chunk[10] == 0 && chunk[11] == 0 { ok.wrappingAdd(1, ordering: .relaxed) } else {
                    errors.wrappingAdd(1, ordering: .relaxed)
                }
                pacer.wait()
            }
            close(fd)
        }
    }
}
