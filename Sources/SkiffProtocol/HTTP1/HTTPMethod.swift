/// A request method, recognised without creating a `String`.
///
/// Methods are case-sensitive (RFC 9110 §9.1): `get` is a valid token but `.other`, and is forwarded as sent. The
/// exact bytes stay available through `HTTPRequestHead.methodRange`.
public enum HTTPMethod: UInt8, Sendable {
    case get, head, post, put, delete, options, patch, trace, connect, other

    /// Recognises `bytes[start..<start+count]`, which the parser has already checked to be a token.
    @inline(__always)
    /// The method named by `b` (a whole token, such as HTTP/2's `:method`).
    public init(_ b: UnsafeRawBufferPointer) { self.init(b, start: 0, count: b.count) }

    init(_ b: UnsafeRawBufferPointer, start s: Int, count: Int) {
        switch count {
        case 3:
            if b[s] == 0x47, b[s + 1] == 0x45, b[s + 2] == 0x54 {  // GET
                self = .get
            } else if b[s] == 0x50, b[s + 1] == 0x55, b[s + 2] == 0x54 {  // PUT
                self = .put
            } else {
                self = .other
            }
        case 4:
            if HTTPMethod.matches(b, s, "HEAD") {
                self = .head
            } else if HTTPMethod.matches(b, s, "POST") {
                self = .post
            } else {
                self = .other
            }
        case 5:
            if HTTPMethod.matches(b, s, "PATCH") {
                self = .patch
            } else if HTTPMethod.matches(b, s, "TRACE") {
                self = .trace
            } else {
                self = .other
            }
        case 6:
            self = HTTPMethod.matches(b, s, "DELETE") ? .delete : .other
        case 7:
            if HTTPMethod.matches(b, s, "OPTIONS") {
                self = .options
            } else if HTTPMethod.matches(b, s, "CONNECT") {
                self = .connect
            } else {
                self = .other
            }
        default:
            self = .other
        }
    }

    /// Exact (case-sensitive) comparison; the caller guarantees `literal.utf8CodeUnitCount` bytes are readable.
    @inline(__always)
    private static func matches(_ b: UnsafeRawBufferPointer, _ s: Int, _ literal: StaticString) -> Bool {
        let p = literal.utf8Start
        for k in 0..<literal.utf8CodeUnitCount where b[s + k] != p[k] { return false }
        return true
    }
}

extension HTTPMethod {
    /// GET, HEAD, OPTIONS and TRACE (RFC 9110 §9.2.1): the only requests a proxy may forward in parallel with
    /// others from the same pipelined connection (RFC 9112 §9.3.2). Unknown methods count as unsafe.
    @inline(__always)
    public var isSafe: Bool {
        switch self {
        case .get, .head, .options, .trace: return true
        default: return false
        }
    }
}
