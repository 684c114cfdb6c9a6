import Glibc
import SkiffConfig
import SkiffProtocol

/// What one kind of health check sends once connected and how it judges the answer. Pure: no sockets, no clocks, so
/// the verdicts are tested on bytes alone.
///
/// Reasons follow HAProxy's `check_status` names: `L4OK`, `L4CON refused`, `L4TOUT`, `L7OK`, `L7STS 503`, `L7TOUT`,
/// `L7RSP bad status line`, `L7RSP bad heartbeat`, `L7RSP empty response`.
enum HealthProbe: Sendable, Equatable {
    /// Connecting is the check.
    case tcp
    /// Sends `request`, reads the status line; a status in `codes` passes.
    case http1(request: [UInt8], codes: [ClosedRange<Int>])
    /// Sends a Bolt v1 heartbeat, expects its heartbeat response.
    case bolt
    /// Sends a Dubbo heartbeat event, expects the event response.
    case dubbo
    /// Calls `grpc.health.v1.Health/Check` for `service` over HTTP/2 (h2c); SERVING passes (`GRPCHealthCheck`).
    case grpc(service: String, authority: String)

    enum Verdict: Sendable, Equatable {
        case needMore
        case pass(String)
        case fail(String)
    }

    /// A status line longer than this, or an RPC answer larger than this, is refused.
    static let maxAnswerBytes = 4096
    static let rpcLimits = RPCLimits(maxFrameBytes: maxAnswerBytes, maxHeaders: 8)

    /// The probe for `config.protocolName` ("http1", "tcp", "bolt", "dubbo", "grpc"; the decoder normalised it).
    /// `hostHeader` is the HTTP `Host` value.
    init(config: HealthCheckConfig, hostHeader: String) {
        switch config.protocolName {
        case "http1":
            let method = config.httpMethod ?? "GET"
            let path = config.httpPath ?? "/"
            let text =
                "\(method) \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: skiff-health\r\nConnection: close\r\n\r\n"
            self = .http1(request: Array(text.utf8), codes: config.httpCodes)
        case "bolt": self = .bolt
        case "dubbo": self = .dubbo
        case "grpc": self = .grpc(service: config.grpcService ?? "", authority: hostHeader)
        default: self = .tcp
        }
    }

    /// True when the check ends as soon as the connection is up.
    var connectOnly: Bool { self == .tcp }

    /// Writes what to send once connected; `id` is the heartbeat's request id. Returns the byte count, nil when
    /// `capacity` is too small (then `requestBytes(id:)` gives the bytes).
    func writeRequest(id: UInt64, into out: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        switch self {
        case .tcp: return 0
        case .http1(let request, _):
            guard request.count <= capacity else { return nil }
            request.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return request.count
        case .bolt: return BoltCodec.encodeHeartbeatRequest(id: id, into: out, capacity: capacity)
        case .dubbo: return DubboCodec.encodeHeartbeatRequest(id: id, into: out, capacity: capacity)
        case .grpc(let service, let authority):
            let request = GRPCHealthCheck.request(service: service, authority: authority)
            guard request.count <= capacity else { return nil }
            request.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return request.count
        }
    }

    /// The request as an array (tests, and requests larger than a pooled buffer).
    func requestBytes(id: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64 * 1024)
        let n = out.withUnsafeMutableBytes { writeRequest(id: id, into: $0.baseAddress!, capacity: $0.count) } ?? 0
        out.removeSubrange(n...)
        return out
    }

    /// Judges the bytes received so far. `closed`: the peer finished (EOF or close), so no more will come.
    func evaluate(_ answer: UnsafeRawBufferPointer, id: UInt64, closed: Bool) -> Verdict {
        switch self {
        case .tcp: return .pass("L4OK")
        case .http1(_, let codes): return Self.statusVerdict(answer, codes: codes, closed: closed)
        case .bolt: return Self.heartbeatVerdict(BoltCodec.self, answer, id: id, okStatus: 0, closed: closed)
        case .dubbo:
            return Self.heartbeatVerdict(
                DubboCodec.self, answer, id: id, okStatus: Int(Dubbo.Status.ok), closed: closed)
        case .grpc(let service, let authority):
            return GRPCHealthCheck.verdict(answer, service: service, authority: authority, closed: closed)
        }
    }

    /// `HTTP/1.x SP 3DIGIT [SP reason] CRLF`: only the status line is read; the rest of the answer is not waited for.
    static func statusVerdict(_ b: UnsafeRawBufferPointer, codes: [ClosedRange<Int>], closed: Bool) -> Verdict {
        guard let lf = b.firstIndex(of: UInt8(ascii: "\n")) else {
            if b.count > maxAnswerBytes || (closed && !b.isEmpty) { return .fail("L7RSP bad status line") }
            return closed ? .fail("L7RSP empty response") : .needMore
        }
        let end = lf > 0 && b[lf - 1] == UInt8(ascii: "\r") ? lf - 1 : lf
        guard let code = statusCode(UnsafeRawBufferPointer(rebasing: b[..<end])) else {
            return .fail("L7RSP bad status line")
        }
        return codes.contains { $0.contains(code) } ? .pass("L7OK") : .fail("L7STS \(code)")
    }

    /// The code of a status line (without its line end), nil when it is not one.
    static func statusCode(_ line: UnsafeRawBufferPointer) -> Int? {
        let prefix: [UInt8] = Array("HTTP/1.".utf8)
        guard line.count >= 12, line.starts(with: prefix) else { return nil }
        func digit(_ i: Int) -> Int? {
            let d = Int(line[i]) - 48
            return (0...9).contains(d) ? d : nil
        }
        guard digit(7) != nil, line[8] == UInt8(ascii: " "), let a = digit(9), let b = digit(10), let c = digit(11)
        else { return nil }
        guard line.count == 12 || line[12] == UInt8(ascii: " ") else { return nil }
        let code = a * 100 + b * 10 + c
        return (100...599).contains(code) ? code : nil
    }

    /// A complete heartbeat response with our `id` and the protocol's OK status passes; anything else fails.
    static func heartbeatVerdict<C: RPCCodec>(
        _ codec: C.Type, _ b: UnsafeRawBufferPointer, id: UInt64, okStatus: Int, closed: Bool
    ) -> Verdict {
        switch C.frameLength(b, limits: rpcLimits) {
        case .invalid:
            return .fail("L7RSP bad heartbeat")
        case .incomplete:
            if closed { return b.isEmpty ? .fail("L7RSP empty response") : .fail("L7RSP bad heartbeat") }
            return .needMore
        case .complete(let n):
            var info = RPCFrameInfo()
            if C.parse(UnsafeRawBufferPointer(rebasing: b[..<n]), into: &info, limits: rpcLimits) != nil {
                return .fail("L7RSP bad heartbeat")
            }
            guard info.kind == .heartbeatResponse, info.requestID == id, info.status == okStatus else {
                return .fail("L7RSP bad heartbeat")
            }
            return .pass("L7OK")
        }
    }

    /// `L4CON refused`, `L4CON network unreachable`, ... for a failed connect.
    static func connectFailure(errno e: Int32) -> String {
        switch e {
        case ECONNREFUSED: return "L4CON refused"
        case ENETUNREACH: return "L4CON network unreachable"
        case EHOSTUNREACH: return "L4CON host unreachable"
        case ECONNRESET: return "L4CON reset"
        case ETIMEDOUT: return "L4TOUT"
        default: return "L4CON \(String(cString: strerror(e)).lowercased())"
        }
    }
}
