import SkiffConfig
import SkiffJSON
import SkiffProtocol

/// One fuzz target: bytes in; a crash (a trap, or `check` failing) is a finding.
struct FuzzTarget: Sendable {
    let name: String
    let summary: String
    let run: @Sendable (UnsafeRawBufferPointer) -> Void
}

/// An invariant the code under test promises; a violation stops the process so the fuzzer keeps the input.
@inline(__always)
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz invariant: \(message())") }
}

enum FuzzTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget(name: "http", summary: "HTTP/1.1 request/response heads, chunked bodies, head scanner, render", run: http),
        FuzzTarget(name: "bolt", summary: "Bolt v1 and v2 framing, parse, request-id rewrite", run: bolt),
        FuzzTarget(name: "dubbo", summary: "Dubbo 2 framing, hessian2 body walk, request-id rewrite", run: dubbo),
        FuzzTarget(name: "config", summary: "JSON parser and MOSN config decoder", run: config),
    ]

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    // MARK: HTTP/1.1

    private static let table = HTTPHeaderTable(capacity: 100)
    private static let again = HTTPHeaderTable(capacity: 100)
    nonisolated(unsafe) private static var out = [UInt8](repeating: 0, count: 128 * 1024)

    /// The first byte picks what to feed the rest to.
    static func http(_ data: UnsafeRawBufferPointer) {
        guard let mode = data.first else { return }
        let bytes = UnsafeRawBufferPointer(rebasing: data.dropFirst())
        switch mode % 4 {
        case 0: request(bytes)
        case 1:
            var head = HTTPResponseHead()
            if HTTPParser.parseResponse(bytes, into: &head, headers: table) == nil {
                check(!(head.isChunked && head.contentLength != nil), "response with both chunked and a length")
                check((100...599).contains(head.statusCode), "status \(head.statusCode) accepted")
                check(head.headLength <= bytes.count, "head longer than its input")
            }
        case 2:
            // Chunked body fed whole and byte by byte: the same answer.
            var whole = HTTPChunkedDecoder()
            let a = whole.consume(bytes)
            var split = HTTPChunkedDecoder()
            var taken = 0
            var b: HTTPBodyResult = .partial(consumed: 0)
            for i in 0..<bytes.count {
                b = split.consume(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + 1)]))
                if case .partial(let n) = b { taken += n; continue }
                if case .complete(let n) = b { b = .complete(consumed: taken + n) }
                break
            }
            switch (a, b) {
            case (.complete(let x), .complete(let y)): check(x == y, "chunked: whole took \(x), split took \(y)")
            case (.invalid, .invalid), (.partial, .partial): break
            default: check(false, "chunked: whole \(a) vs split \(b)")
            }
        default:
            var scanner = HTTPHeadScanner()
            if let n = scanner.scan(bytes) { check(n <= bytes.count, "scanner end past its input") }
        }
    }

    private static func request(_ bytes: UnsafeRawBufferPointer) {
        var head = HTTPRequestHead()
        guard HTTPParser.parseRequest(bytes, into: &head, headers: table) == nil else { return }
        check(!(head.isChunked && head.contentLength != nil), "request with both chunked and a length")
        check(head.headLength <= bytes.count, "head longer than its input")
        out.withUnsafeMutableBytes { o in
            guard
                let n = HTTPRenderer.renderRequest(
                    head: head, headers: table, source: bytes, into: o.baseAddress!, capacity: o.count)
            else { return check(false, "an accepted request failed to render") }
            check(n <= o.count, "rendered past capacity")
            guard head.version == .http11 else { return }
            var reparsed = HTTPRequestHead()
            let e = HTTPParser.parseRequest(UnsafeRawBufferPointer(rebasing: o[..<n]), into: &reparsed, headers: again)
            check(e == nil, "the rendered request is refused: \(String(describing: e))")
            check(reparsed.bodyKind == head.bodyKind, "rendering changed the body framing")
        }
    }

    // MARK: RPC

    static func bolt(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        // The protocol byte picks the codec, as the Auto listener does: 0x02 Bolt v2, anything else Bolt v1.
        if first == 0x02 { rpc(BoltV2Codec.self, data) } else { rpc(BoltCodec.self, data) }
    }

    static func dubbo(_ data: UnsafeRawBufferPointer) { rpc(DubboCodec.self, data) }

    nonisolated(unsafe) private static var info = RPCFrameInfo()
    nonisolated(unsafe) private static var frame = [UInt8](repeating: 0, count: 1 << 20)

    private static func rpc<C: RPCCodec>(_ codec: C.Type, _ bytes: UnsafeRawBufferPointer) {
        switch C.frameLength(bytes, limits: .default) {
        case .complete(let length):
            check(length <= bytes.count, "frame length \(length) past the \(bytes.count) bytes given")
            let f = UnsafeRawBufferPointer(rebasing: bytes[..<length])
            guard C.parse(f, into: &info) == nil else { return }
            for r in [info.service, info.method, info.version, info.group].compactMap({ $0 }) + info.headerNames
                + info.headerValues
            {
                check(r.lowerBound >= 0 && r.upperBound <= length, "range \(r) outside the \(length)-byte frame")
            }
            guard length <= frame.count else { return }
            // Rewriting the id to itself changes nothing; to another and back restores the frame.
            frame.withUnsafeMutableBytes { m in
                let copy = UnsafeMutableRawBufferPointer(rebasing: m[..<length])
                copy.copyMemory(from: f)
                let id = info.requestID
                C.setRequestID(id, in: copy)
                check(copy.elementsEqual(f), "setting the same request id changed the frame")
                C.setRequestID(id ^ 0x5a5a, in: copy)
                C.setRequestID(id, in: copy)
                check(copy.elementsEqual(f), "a request id round trip changed the frame")
            }
        case .incomplete(let needed):
            check(needed > bytes.count, "incomplete, yet needs only \(needed) of \(bytes.count)")
        case .invalid:
            break
        }
    }

    // MARK: Config

    static func config(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        _ = try? JSONParser.parse(bytes)
        do {
            let c = try ConfigDecoder.decode(bytes, source: "fuzz")
            _ = c.summary
        } catch {
            check(!error.errors.isEmpty, "a refused config with no error")
        }
    }
}
