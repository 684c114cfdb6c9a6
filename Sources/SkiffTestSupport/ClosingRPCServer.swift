import Glibc
import SkiffNet
import Synchronization

/// A Bolt v1 or Dubbo backend that answers ONE request per connection and closes it a few milliseconds later
/// (`shutdown(SHUT_WR)`, then `close`), as servers with a one-request-per-connection limit do (and any server at an
/// idle timeout or a max-requests limit). Whatever else the proxy multiplexed onto the connection meanwhile is never
/// answered; bytes left unread make the kernel reset the connection. Thread per connection.
///
/// `mode` picks what the one answer is: a whole response, half of one (then the close: a response cut mid-way), or
/// none at all (the request is read and the connection closed unanswered).
public final class ClosingRPCServer: ThreadPerConnectionServer, @unchecked Sendable {
    public enum Mode: Sendable { case answer, cutResponse, silent }
    public let kind: RPCTestServer.Kind
    public let name: String
    public let mode: Mode
    /// How long after writing the answer the connection is closed.
    public let closeDelayMicros: UInt32
    /// Requests read whole (the one each connection answers, and any extra that arrived in the same reads).
    public let requestsRead = Atomic<Int>(0)
    /// Requests answered (whole responses written).
    public let answered = Atomic<Int>(0)
    /// Connections the peer closed before sending a whole request (a proxy should open none of these).
    public let unused = Atomic<Int>(0)

    public init(kind: RPCTestServer.Kind, name: String, mode: Mode = .answer, closeDelayMicros: UInt32 = 4000) throws {
        self.kind = kind
        self.name = name
        self.mode = mode
        self.closeDelayMicros = closeDelayMicros
        try super.init(name: "closing", connectionStackSize: 256 * 1024)
    }

    /// Reads until one whole request (heartbeats are answered on the way), answers it per `mode`, waits, closes.
    override func serve(_ fd: Int32) {
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !isStopping {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, 65536, 0) }
            if n <= 0 {
                if !isStopping { unused.wrappingAdd(1, ordering: .relaxed) }
                return
            }
            buf += chunk[0..<n]
            while let (length, response, isHeartbeat) = frame(buf) {
                buf.removeFirst(length)
                if isHeartbeat {
                    _ = SocketIO.sendAll(fd, response)
                    continue
                }
                requestsRead.wrappingAdd(1, ordering: .relaxed)
                // Requests that came in the same reads are read and dropped: never answered.
                while let (extra, _, _) = frame(buf) {
                    requestsRead.wrappingAdd(1, ordering: .relaxed)
                    buf.removeFirst(extra)
                }
                switch mode {
                case .answer:
                    _ = SocketIO.sendAll(fd, response)
                    answered.wrappingAdd(1, ordering: .relaxed)
                case .cutResponse:
                    _ = SocketIO.sendAll(fd, Array(response.prefix(response.count / 2)))
                case .silent:
                    break
                }
                usleep(closeDelayMicros)
                Glibc.shutdown(fd, Int32(SHUT_WR))
                return
            }
        }
    }

    /// The first whole frame of `b`: its length, the response to it, and whether it is a heartbeat.
    private func frame(_ b: [UInt8]) -> (Int, [UInt8], Bool)? {
        switch kind {
        case .bolt:
            guard let f = RPCFrames.parseBolt(b) else { return nil }
            if f.cmd == 0 {
                let hb: [UInt8] = [0x01, 0x00] + RPCFrames.be16(0) + [0x01] + RPCFrames.be32(f.id) + [0x01]
                    + RPCFrames.be16(0) + RPCFrames.be16(0) + RPCFrames.be16(0) + RPCFrames.be32(0)
                return (f.length, hb, true)
            }
            return (f.length, RPCFrames.boltResponse(id: f.id, content: Array("\(name):".utf8) + f.content), false)
        case .dubbo:
            guard let f = RPCFrames.parseDubbo(b) else { return nil }
            if f.flag & 0x20 != 0 {
                return (f.length, [0xda, 0xbb, 0x22, 20] + RPCFrames.be64(f.id) + RPCFrames.be32(1) + [0x4e], true)
            }
            // The request's last hessian string is its payload; echo it.
            return (f.length, RPCFrames.dubboResponse(id: f.id, payload: "\(name):\(RPCFrames.dubboPayload(f.body))"), false)
        }
    }
}
