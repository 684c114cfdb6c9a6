import Glibc
import SkiffNet
import Synchronization

/// Bolt v1 and Dubbo 2 frames built by hand from the wire layouts, for tests (independent of the codecs under test).
public enum RPCFrames {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    static func be64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(v >> (56 - 8 * UInt64($0)) & 0xff) } }

    /// A Bolt v1 request: header map with `service` (and any extra headers), content bytes.
    public static func boltRequest(id: Int, service: String, content: [UInt8], timeoutMs: Int = 3000, oneway: Bool = false,
                                   extraHeaders: [(String, String)] = []) -> [UInt8] {
        let cls = Array("com.alipay.sofa.rpc.core.request.SofaRequest".utf8)
        var header: [UInt8] = []
        for (k, v) in [("service", service)] + extraHeaders {
            header += be32(k.utf8.count) + Array(k.utf8) + be32(v.utf8.count) + Array(v.utf8)
        }
        return [0x01, oneway ? 0x02 : 0x01] + be16(1) + [0x01] + be32(id) + [0x01] + be32(timeoutMs)
            + be16(cls.count) + be16(header.count) + be32(content.count) + cls + header + content
    }

    /// A Bolt v1 response with status 0.
    public static func boltResponse(id: Int, content: [UInt8], status: Int = 0) -> [UInt8] {
        let cls = Array("com.alipay.sofa.rpc.core.response.SofaResponse".utf8)
        return [0x01, 0x00] + be16(2) + [0x01] + be32(id) + [0x01] + be16(status) + be16(cls.count) + be16(0)
            + be32(content.count) + cls + content
    }

    /// A Bolt v1 heartbeat request.
    public static func boltHeartbeat(id: Int) -> [UInt8] {
        [0x01, 0x01] + be16(0) + [0x01] + be32(id) + [0x01] + be32(-1 & 0xffff_ffff) + be16(0) + be16(0) + be32(0)
    }

    /// (total length, id, cmdcode, type, status, content) of a Bolt v1 frame at the start of `b`, or nil if incomplete.
    public static func parseBolt(_ b: [UInt8]) -> (length: Int, id: Int, cmd: Int, type: Int, status: Int, content: [UInt8])? {
        guard b.count >= 20 else { return nil }
        let type = Int(b[1])
        let cmd = Int(b[2]) << 8 | Int(b[3])
        let id = Int(b[5]) << 24 | Int(b[6]) << 16 | Int(b[7]) << 8 | Int(b[8])
        let isResponse = type == 0
        let fixed = isResponse ? 20 : 22
        guard b.count >= fixed else { return nil }
        let o = isResponse ? 12 : 14
        let status = isResponse ? Int(b[10]) << 8 | Int(b[11]) : 0
        let classLen = Int(b[o]) << 8 | Int(b[o + 1])
        let headerLen = Int(b[o + 2]) << 8 | Int(b[o + 3])
        let contentLen = Int(b[o + 4]) << 24 | Int(b[o + 5]) << 16 | Int(b[o + 6]) << 8 | Int(b[o + 7])
        let total = fixed + classLen + headerLen + contentLen
        guard b.count >= total else { return nil }
        return (total, id, cmd, type, status, Array(b[(total - contentLen)..<total]))
    }

    /// A Dubbo 2 two-way request (hessian2): dubbo version, path, version, method, types, no args, attachments.
    public static func dubboRequest(id: UInt64, service: String, method: String, payload: String) -> [UInt8] {
        func hs(_ s: String) -> [UInt8] {
            let u = Array(s.utf8)
            precondition(u.count < 32)
            return [UInt8(u.count)] + u
        }
        var body = hs("2.6.2") + hs(service) + hs("1.0.0") + hs(method) + hs("Ljava/lang/String;")
        body += hs(payload)  // one string argument
        body += [0x48] + hs("interface") + hs(service) + [0x5a]  // attachments map H ... Z
        return [0xda, 0xbb, 0xc2, 0x00] + be64(id) + be32(body.count) + body
    }

    /// A Dubbo 2 response (status 20, hessian2 value response with a string).
    public static func dubboResponse(id: UInt64, payload: String) -> [UInt8] {
        let u = Array(payload.utf8)
        let body: [UInt8] = [0x91, UInt8(u.count)] + u
        return [0xda, 0xbb, 0x02, 20] + be64(id) + be32(body.count) + body
    }

    /// The string argument of a request body built by `dubboRequest` (its sixth short hessian string), or "".
    public static func dubboPayload(_ body: [UInt8]) -> String {
        var i = 0
        for n in 0..<6 {
            guard i < body.count, body[i] < 32, i + 1 + Int(body[i]) <= body.count else { return "" }
            let len = Int(body[i])
            if n == 5 { return String(decoding: body[(i + 1)..<(i + 1 + len)], as: UTF8.self) }
            i += 1 + len
        }
        return ""
    }

    /// (length, id, flag, status, body) of a Dubbo frame at the start of `b`, or nil if incomplete.
    public static func parseDubbo(_ b: [UInt8]) -> (length: Int, id: UInt64, flag: UInt8, status: UInt8, body: [UInt8])? {
        guard b.count >= 16 else { return nil }
        let len = Int(b[12]) << 24 | Int(b[13]) << 16 | Int(b[14]) << 8 | Int(b[15])
        guard b.count >= 16 + len else { return nil }
        var id: UInt64 = 0
        for i in 4..<12 { id = id << 8 | UInt64(b[i]) }
        return (16 + len, id, b[2], b[3], Array(b[16..<(16 + len)]))
    }
}

/// A Bolt v1 or Dubbo backend for tests: answers each request with its own content prefixed by the server's name,
/// through a small pool of responder threads with random delays, so responses on one connection come back out of
/// order. Answers heartbeats. Counts connections and requests.
public final class RPCTestServer: ThreadPerConnectionServer, @unchecked Sendable {
    public enum Kind: Sendable { case bolt, dubbo }
    public let kind: Kind
    public let name: String
    public let requests = Atomic<Int>(0)
    public let heartbeats = Atomic<Int>(0)
    /// While true, requests are read and never answered (to test timeouts).
    public let silent = Atomic<Bool>(false)
    private let queue = Mutex<[(fd: Int32, frame: [UInt8])]>([])
    private let writeLocks = Mutex<[Int32: FDLock]>([:])
    final class FDLock: Sendable { let m = Mutex<Void>(()) }

    public init(kind: Kind, name: String, responders: Int = 4) throws {
        self.kind = kind
        self.name = name
        try super.init(name: "rpc")
        for _ in 0..<responders { try NetThread.start(name: "rpc-respond") { [self] in self.respondLoop() } }
    }

    override func serve(_ fd: Int32) {
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        outer: while !isStopping {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, 65536, 0) }
            if n <= 0 { break }
            buf += chunk[0..<n]
            while true {
                let len: Int
                switch kind {
                case .bolt:
                    guard let f = RPCFrames.parseBolt(buf) else { continue outer }
                    len = f.length
                    if f.cmd == 0 {
                        heartbeats.wrappingAdd(1, ordering: .relaxed)
                        let resp: [UInt8] = [0x01, 0x00] + RPCFrames.be16(0) + [0x01] + RPCFrames.be32(f.id) + [0x01]
                            + RPCFrames.be16(0) + RPCFrames.be16(0) + RPCFrames.be16(0) + RPCFrames.be32(0)
                        lockedSend(fd, resp)
                        buf.removeFirst(len)
                        continue
                    }
                    if f.type == 2 {  // oneway
                        requests.wrappingAdd(1, ordering: .relaxed)
                        buf.removeFirst(len)
                        continue
                    }
                case .dubbo:
                    guard let f = RPCFrames.parseDubbo(buf) else { continue outer }
                    len = f.length
                    if f.flag & 0x20 != 0 {  // heartbeat event
                        heartbeats.wrappingAdd(1, ordering: .relaxed)
                        lockedSend(fd, [0xda, 0xbb, 0x22, 20] + RPCFrames.be64(f.id) + RPCFrames.be32(1) + [0x4e])
                        buf.removeFirst(len)
                        continue
                    }
                }
                requests.wrappingAdd(1, ordering: .relaxed)
                let frame = Array(buf[0..<len])
                buf.removeFirst(len)
                if !silent.load(ordering: .relaxed) { queue.withLock { $0.append((fd, frame)) } }
            }
        }
    }

    private func lockedSend(_ fd: Int32, _ bytes: [UInt8]) {
        let lock = writeLocks.withLock { locks -> FDLock in
            if let l = locks[fd] { return l }
            let l = FDLock()
            locks[fd] = l
            return l
        }
        lock.m.withLock { _ in _ = SocketIO.sendAll(fd, bytes) }
    }

    private func respondLoop() {
        while !isStopping {
            guard let item = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else {
                usleep(200)
                continue
            }
            usleep(UInt32.random(in: 0...800))  // responses overtake each other
            switch kind {
            case .bolt:
                guard let f = RPCFrames.parseBolt(item.frame) else { continue }
                lockedSend(item.fd, RPCFrames.boltResponse(id: f.id, content: Array("\(name):".utf8) + f.content))
            case .dubbo:
                guard let f = RPCFrames.parseDubbo(item.frame) else { continue }
                lockedSend(item.fd, RPCFrames.dubboResponse(id: f.id, payload: "\(name):\(f.id)"))
            }
        }
    }
}
