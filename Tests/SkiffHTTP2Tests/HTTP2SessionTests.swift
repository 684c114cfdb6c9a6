import Glibc
import SkiffHTTP2
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// Answers every request on one session with `<method> <path> bytes=<body bytes>`, recording what it saw.
final class EchoResponder: HTTP2SessionDelegate {
    let session: HTTP2Session
    private var methods: [Int32: String] = [:]
    private var paths: [Int32: String] = [:]
    private var bodyBytes: [Int32: Int] = [:]
    var requests = 0
    var closedWithError: [UInt32] = []

    init(limits: HTTP2Limits = HTTP2Limits()) {
        session = HTTP2Session(role: .server, limits: limits)
        session.delegate = self
    }

    func http2Headers(stream: Int32, _ block: HTTP2HeaderBlock, kind: HTTP2HeadersKind, endStream: Bool) {
        if kind == .trailers { return answer(stream) }
        requests += 1
        methods[stream] = block.value(":method") ?? "?"
        paths[stream] = block.value(":path") ?? "?"
        bodyBytes[stream] = 0
        if endStream { answer(stream) }
    }

    func http2Data(stream: Int32, _ bytes: UnsafeRawBufferPointer) { bodyBytes[stream, default: 0] += bytes.count }
    func http2Sent(stream: Int32, bytes: Int) {}
    func http2EndStream(stream: Int32) { answer(stream) }

    func http2StreamClosed(stream: Int32, errorCode: UInt32) {
        if errorCode != 0 { closedWithError.append(errorCode) }
        methods[stream] = nil
        paths[stream] = nil
        bodyBytes[stream] = nil
    }

    private func answer(_ stream: Int32) {
        let text = "\(methods[stream] ?? "?") \(paths[stream] ?? "?") bytes=\(bodyBytes[stream] ?? 0)\n"
        _ = session.respond(stream: stream, status: 200, headers: [("content-type", "text/plain")], body: Array(text.utf8))
    }
}

/// A loopback server running one `EchoResponder` per connection on a blocking socket: real HTTP/2 clients (curl,
/// h2load) against the session.
final class HTTP2EchoServer: @unchecked Sendable {
    let port: Int
    private let listenFD: Int32
    private let stopping = Atomic<Bool>(false)

    init() throws {
        listenFD = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)!, nonBlocking: true)
        port = Socket.localAddress(listenFD)!.port
        try NetThread.start(name: "h2-accept") { [self] in
            AcceptLoop.run(listenFD, pollMs: 50, isStopping: { stopping.load(ordering: .relaxed) }) { fd in
                SocketIO.setBlocking(fd, true)
                try? NetThread.start(name: "h2-conn") { Self.serve(fd) }
            }
            Glibc.close(listenFD)
        }
    }

    func stop() { stopping.store(true, ordering: .relaxed) }

    static func serve(_ fd: Int32) {
        defer { Glibc.close(fd) }
        let responder = EchoResponder()
        var buffer = [UInt8](repeating: 0, count: 16384)
        func flush() -> Bool {
            let r = responder.session.drainOutput { chunk in
                var sent = 0
                while sent < chunk.count {
                    let n = Glibc.send(fd, chunk.baseAddress! + sent, chunk.count - sent, Int32(MSG_NOSIGNAL))
                    if n <= 0 { return }
                    sent += n
                }
            }
            if case .failure = r { return false }
            return true
        }
        guard flush() else { return }
        while responder.session.isOpen {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { return }
            let r = buffer.withUnsafeBytes { responder.session.receive(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            guard flush(), case .success = r else { return }
        }
    }
}

/// Frames written by hand, for the abuse cases (no client library would send them).
enum H2Frames {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func frame(type: UInt8, flags: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
            + payload
    }

    static let emptySettings = frame(type: 0x4, flags: 0, stream: 0, [])
    /// `:method GET`, `:scheme http`, `:path /` (static table indexes 2, 6, 4) and `:authority a` (name index 1).
    static let getBlock: [UInt8] = [0x82, 0x86, 0x84, 0x41, 0x01, 0x61]

    static func get(stream: UInt32) -> [UInt8] { frame(type: 0x1, flags: 0x5, stream: stream, getBlock) }

    static func reset(stream: UInt32) -> [UInt8] { frame(type: 0x3, flags: 0, stream: stream, [0, 0, 0, 0x8]) }

    /// The error code of the first GOAWAY in `bytes` (a server's output), nil when there is none.
    static func goAwayCode(_ bytes: [UInt8]) -> UInt32? {
        var i = 0
        while i + 9 <= bytes.count {
            let n = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            if bytes[i + 3] == 0x7, i + 9 + 8 <= bytes.count {
                let p = i + 9 + 4
                return UInt32(bytes[p]) << 24 | UInt32(bytes[p + 1]) << 16 | UInt32(bytes[p + 2]) << 8 | UInt32(bytes[p + 3])
            }
            i += 9 + n
        }
        return nil
    }
}

/// The HTTP/2 server session (issue 21's first step): real clients get answers, and each abuse case ends the
/// connection with the GOAWAY it deserves.
@Suite(.serialized) struct HTTP2SessionTests {
    static func output(_ s: HTTP2Session) -> [UInt8] {
        var out: [UInt8] = []
        _ = s.drainOutput { out += $0 }
        return out
    }

    @Test func curlGetsAnswersWithPriorKnowledge() throws {
        let server = try HTTP2EchoServer()
        defer { server.stop() }
        let get = try SkiffProcess.runCommand(
            "/usr/bin/curl", ["-sS", "--http2-prior-knowledge", "--max-time", "10", "http://127.0.0.1:\(server.port)/hello"])
        #expect(get.output == "GET /hello bytes=0\n", "\(get.output)")
        let post = try SkiffProcess.runCommand(
            "/usr/bin/curl",
            ["-sS", "--http2-prior-knowledge", "--max-time", "10", "--data-binary", String(repeating: "x", count: 100_000),
             "http://127.0.0.1:\(server.port)/upload"])
        #expect(post.output == "POST /upload bytes=100000\n", "\(post.output)")
    }

    @Test(.enabled(if: access("/usr/bin/h2load", X_OK) == 0, "needs h2load (nghttp2-client)"))
    func h2loadMultiplexesManyStreams() throws {
        let server = try HTTP2EchoServer()
        defer { server.stop() }
        let r = try SkiffProcess.runCommand(
            "/usr/bin/h2load", ["-n", "2000", "-c", "2", "-m", "20", "http://127.0.0.1:\(server.port)/load"],
            timeoutSeconds: 60)
        #expect(r.output.contains("2000 succeeded, 0 failed, 0 errored"), "\(r.output)")
    }

    /// Rapid reset (CVE-2023-44487): streams opened and reset at once, past the session's burst, end the connection
    /// with a GOAWAY (libnghttp2 says INTERNAL_ERROR); the same 200 resets within the burst are served.
    @Test func rapidResetEndsTheConnection() {
        func run(burst: UInt64) -> UInt32? {
            var limits = HTTP2Limits()
            limits.resetBurst = burst
            limits.resetsPerSecond = 1
            limits.maxConcurrentStreams = 1000
            let r = EchoResponder(limits: limits)
            var input = H2Frames.preface + H2Frames.emptySettings
            var stream: UInt32 = 1
            for _ in 0..<200 {
                input += H2Frames.frame(type: 0x1, flags: 0x4, stream: stream, H2Frames.getBlock)  // no END_STREAM
                input += H2Frames.reset(stream: stream)
                stream += 2
            }
            _ = input.withUnsafeBytes { r.session.receive($0) }
            return H2Frames.goAwayCode(Self.output(r.session))
        }
        #expect(run(burst: 1000) == nil)
        #expect(run(burst: 50) == 0x2)
    }

    /// A HEADERS frame followed by CONTINUATION frames without end, past the limit: the connection ends.
    @Test func continuationFloodEndsTheConnection() {
        let r = EchoResponder()
        var input = H2Frames.preface + H2Frames.emptySettings
        input += H2Frames.frame(type: 0x1, flags: 0x1, stream: 1, H2Frames.getBlock)  // END_STREAM, no END_HEADERS
        for _ in 0..<50 { input += H2Frames.frame(type: 0x9, flags: 0, stream: 1, [0x40, 0x01, 0x78, 0x01, 0x79]) }
        let result = input.withUnsafeBytes { r.session.receive($0) }
        let failed = if case .failure = result { true } else { false }
        #expect(failed || H2Frames.goAwayCode(Self.output(r.session)) != nil)
        #expect(r.requests == 0)
    }

    /// Plain requests on one connection are answered in order; a request the client resets is closed with its code.
    @Test func requestsAndResetsByHand() {
        let r = EchoResponder()
        var input = H2Frames.preface + H2Frames.emptySettings
        input += H2Frames.get(stream: 1) + H2Frames.get(stream: 3)
        _ = input.withUnsafeBytes { r.session.receive($0) }
        #expect(r.requests == 2)
        let out = Self.output(r.session)
        #expect(H2Frames.goAwayCode(out) == nil)
        #expect(String(decoding: out, as: UTF8.self).contains("GET / bytes=0"))
        let more = H2Frames.frame(type: 0x1, flags: 0x4, stream: 5, H2Frames.getBlock) + H2Frames.reset(stream: 5)
        _ = more.withUnsafeBytes { r.session.receive($0) }
        #expect(r.closedWithError == [0x8])
    }
}
