/// The header names the codec acts on, recognised once while parsing so the renderer and the proxy never compare
/// names again.
public enum HTTPHeaderName: UInt8, Sendable {
    case other = 0
    case host
    case contentLength
    case transferEncoding
    case connection
    case keepAlive
    case proxyConnection
    case te
    case trailer
    case upgrade
    case expect
    case xForwardedFor

    /// Hop-by-hop by name (RFC 9110 §7.6.1, plus the non-standard Proxy-Connection). Transfer-Encoding is not in
    /// this list: bodies are forwarded as received, so their framing header goes with them.
    @inline(__always)
    var isHopByHop: Bool {
        switch self {
        case .connection, .keepAlive, .proxyConnection, .te, .trailer, .upgrade: return true
        default: return false
        }
    }

    /// Headers a Connection token may not strip: dropping a framing header while forwarding the body would let a
    /// client smuggle a request to the upstream (`Connection: content-length`), and Host is what we routed on.
    @inline(__always)
    var isProtectedFromConnectionTokens: Bool {
        switch self {
        case .host, .contentLength, .transferEncoding: return true
        default: return false
        }
    }

    /// Recognises the header name `b[s..<s+count]`, which the parser has already checked holds only tchars.
    ///
    /// Length first, then bytes with `| 0x20`: exact here because the literals hold only lowercase letters and `-`,
    /// and no tchar other than an uppercase letter folds onto those.
    @inline(__always)
    static func classify(_ b: UnsafeRawBufferPointer, start s: Int, count: Int) -> HTTPHeaderName {
        switch count {
        case 2: return matches(b, s, "te") ? .te : .other
        case 4: return matches(b, s, "host") ? .host : .other
        case 6: return matches(b, s, "expect") ? .expect : .other
        case 7:
            if matches(b, s, "trailer") { return .trailer }
            return matches(b, s, "upgrade") ? .upgrade : .other
        case 10:
            if matches(b, s, "connection") { return .connection }
            return matches(b, s, "keep-alive") ? .keepAlive : .other
        case 14: return matches(b, s, "content-length") ? .contentLength : .other
        case 15: return matches(b, s, "x-forwarded-for") ? .xForwardedFor : .other
        case 16: return matches(b, s, "proxy-connection") ? .proxyConnection : .other
        case 17: return matches(b, s, "transfer-encoding") ? .transferEncoding : .other
        default: return .other
        }
    }

    @inline(__always)
    static func matches(_ b: UnsafeRawBufferPointer, _ s: Int, _ lower: StaticString) -> Bool {
        let p = lower.utf8Start
        for k in 0..<lower.utf8CodeUnitCount where b[s &+ k] | 0x20 != p[k] { return false }
        return true
    }
}
