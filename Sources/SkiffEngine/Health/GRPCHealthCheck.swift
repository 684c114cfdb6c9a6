import SkiffHTTP2

/// The gRPC health check (`grpc.health.v1.Health/Check`, gRPC's health-checking protocol): one HTTP/2 request on a
/// fresh connection, judged by its `grpc-status` and the answer's `status` (SERVING passes). Pure like the other
/// probes: the request is the bytes an HTTP/2 client session writes for it, and an answer is judged by replaying the
/// same request on a fresh session and feeding it the bytes read so far, so no state lives between reads.
enum GRPCHealthCheck {
    static let path = "/grpc.health.v1.Health/Check"

    /// The connection preface, SETTINGS, and the request: HEADERS (POST, `te: trailers`) and one DATA frame carrying
    /// `HealthCheckRequest{service}` (field 1, a string; empty asks about the whole server).
    static func request(service: String, authority: String) -> [UInt8] {
        let session = HTTP2Session(role: .client)
        submit(on: session, service: service, authority: authority)
        var bytes: [UInt8] = []
        _ = session.drainOutput { bytes.append(contentsOf: $0) }
        return bytes
    }

    static func verdict(_ answer: UnsafeRawBufferPointer, service: String, authority: String, closed: Bool)
        -> HealthProbe.Verdict
    {
        let session = HTTP2Session(role: .client)
        let reader = AnswerReader()
        session.delegate = reader
        submit(on: session, service: service, authority: authority)
        _ = session.drainOutput { _ in }
        if case .failure = session.receive(answer) { return .fail("L7RSP bad HTTP/2 answer") }
        if let status = reader.httpStatus, status != 200 { return .fail("L7STS \(status)") }
        if let reset = reader.resetCode { return .fail("L7RSP stream reset \(reset)") }
        guard let grpcStatus = reader.grpcStatus else {
            if closed { return answer.isEmpty ? .fail("L7RSP empty response") : .fail("L7RSP incomplete answer") }
            return .needMore
        }
        guard grpcStatus == "0" else { return .fail("L7STS grpc-status \(grpcStatus)") }
        switch servingStatus(reader.body) {
        case 1?: return .pass("L7OK")
        case 2?: return .fail("L7RSP NOT_SERVING")
        case 3?: return .fail("L7RSP SERVICE_UNKNOWN")
        case let other?: return .fail("L7RSP status \(other)")
        case nil: return .fail("L7RSP bad HealthCheckResponse")
        }
    }

    private static func submit(on session: HTTP2Session, service: String, authority: String) {
        let headers = HTTP2HeaderBlock()
        headers.append(":method", "POST")
        headers.append(":scheme", "http")
        headers.append(":path", path)
        headers.append(":authority", authority)
        headers.append("content-type", "application/grpc")
        headers.append("te", "trailers")
        headers.append("user-agent", "skiff-health")
        guard let stream = session.submitRequest(headers, endStream: false) else { return }
        let name = Array(service.utf8)
        var message: [UInt8] = name.isEmpty ? [] : [0x0a] + varint(name.count) + name
        message = [0, UInt8(message.count >> 24 & 0xff), UInt8(message.count >> 16 & 0xff),
            UInt8(message.count >> 8 & 0xff), UInt8(message.count & 0xff)] + message
        message.withUnsafeBytes { session.sendData(stream: stream, $0, endStream: true) }
    }

    static func varint(_ n: Int) -> [UInt8] {
        var v = UInt64(n)
        var out: [UInt8] = []
        repeat {
            let b = UInt8(v & 0x7f)
            v >>= 7
            out.append(v == 0 ? b : b | 0x80)
        } while v != 0
        return out
    }

    /// `HealthCheckResponse.status` (field 1, a varint) from one length-prefixed gRPC message; 0 (UNKNOWN) when the
    /// field is absent (proto3's default), nil when the bytes are not such a message.
    static func servingStatus(_ body: [UInt8]) -> Int? {
        guard body.count >= 5, body[0] == 0 else { return nil }
        let length = Int(body[1]) << 24 | Int(body[2]) << 16 | Int(body[3]) << 8 | Int(body[4])
        guard body.count == 5 + length else { return nil }
        var i = 5
        var status = 0
        while i < body.count {
            let key = body[i]
            i += 1
            guard key & 0x07 == 0 else { return nil }  // only varint fields are expected
            var v = 0
            var shift = 0
            while true {
                guard i < body.count, shift < 64 else { return nil }
                let b = body[i]
                i += 1
                v |= Int(b & 0x7f) << shift
                shift += 7
                if b & 0x80 == 0 { break }
            }
            if key >> 3 == 1 { status = v }
        }
        return status
    }

    /// What the replayed session saw of stream 1.
    private final class AnswerReader: HTTP2SessionDelegate {
        var httpStatus: Int?
        var grpcStatus: String?
        var body: [UInt8] = []
        var resetCode: UInt32?

        func http2Headers(stream: Int32, _ block: HTTP2HeaderBlock, kind: HTTP2HeadersKind, endStream: Bool) {
            if kind == .response, let s = block.value(":status") { httpStatus = Int(s) }
            if let g = block.value("grpc-status") { grpcStatus = g }
        }

        func http2Data(stream: Int32, _ bytes: UnsafeRawBufferPointer) {
            if body.count + bytes.count <= HealthProbe.maxAnswerBytes { body.append(contentsOf: bytes) }
        }

        func http2EndStream(stream: Int32) {}
        func http2Sent(stream: Int32, bytes: Int) {}

        func http2StreamClosed(stream: Int32, errorCode: UInt32) {
            if errorCode != 0 && grpcStatus == nil { resetCode = errorCode }
        }
    }
}
