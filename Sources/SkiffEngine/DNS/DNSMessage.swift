import Glibc

/// DNS on the wire (RFC 1035), as much as STRICT_DNS and LOGICAL_DNS clusters need: a query with one question for A
/// or AAAA records, and the addresses and lowest TTL of its answer. Everything read from the network is bounds-checked;
/// a malformed answer is a failure with its reason, never a trap.
enum DNSMessage {
    enum RecordType: UInt16, Sendable {
        case a = 1
        case aaaa = 28
    }

    /// The addresses answered (as text: `10.0.0.1`, `2001:db8::1`) and the lowest TTL among them, in seconds.
    struct Answer: Equatable, Sendable {
        var addresses: [String]
        var minTTL: UInt32
    }

    /// A query for `name` (at most 253 bytes, labels of 1-63), recursion desired; nil when `name` cannot be one.
    static func query(id: UInt16, name: String, type: RecordType) -> [UInt8]? {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        guard !trimmed.isEmpty, trimmed.utf8.count <= 253 else { return nil }
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count) else { return nil }
            out.append(UInt8(bytes.count))
            out += bytes
        }
        out += [0, UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), 0, 1]
        return out
    }

    /// The answer to query `id` for `type`: its addresses (an empty list when the name has none of that type), or
    /// why there is none (`NXDOMAIN`, `SERVFAIL`, truncated, malformed).
    static func parseAnswer(_ m: [UInt8], id: UInt16, type: RecordType) -> Result<Answer, DNSFailure> {
        guard m.count >= 12 else { return .failure(.malformed("shorter than a header")) }
        guard UInt16(m[0]) << 8 | UInt16(m[1]) == id else { return .failure(.malformed("answer to another query")) }
        guard m[2] & 0x80 != 0 else { return .failure(.malformed("not a response")) }
        guard m[2] & 0x02 == 0 else { return .failure(.truncated) }
        let rcode = m[3] & 0x0f
        guard rcode == 0 else { return .failure(.rcode(rcode)) }
        let questions = Int(m[4]) << 8 | Int(m[5])
        let answers = Int(m[6]) << 8 | Int(m[7])
        var at = 12
        for _ in 0..<questions {
            guard let end = skipName(m, at) else { return .failure(.malformed("bad question name")) }
            at = end + 4
        }
        var out = Answer(addresses: [], minTTL: .max)
        for _ in 0..<answers {
            guard let end = skipName(m, at), end + 10 <= m.count else { return .failure(.malformed("bad answer record")) }
            let rtype = UInt16(m[end]) << 8 | UInt16(m[end + 1])
            let ttl = UInt32(m[end + 4]) << 24 | UInt32(m[end + 5]) << 16 | UInt32(m[end + 6]) << 8 | UInt32(m[end + 7])
            let length = Int(m[end + 8]) << 8 | Int(m[end + 9])
            let data = end + 10
            guard data + length <= m.count else { return .failure(.malformed("record longer than the message")) }
            if rtype == type.rawValue {
                guard length == (type == .a ? 4 : 16) else { return .failure(.malformed("bad address length")) }
                out.addresses.append(addressText(m[data..<(data + length)]))
                out.minTTL = min(out.minTTL, ttl)
            }
            at = data + length
        }
        if out.addresses.isEmpty { out.minTTL = 0 }
        return .success(out)
    }

    /// The offset just past the (possibly compressed) name at `at`, or nil when it runs off the message.
    private static func skipName(_ m: [UInt8], _ start: Int) -> Int? {
        var at = start
        while at < m.count {
            let length = Int(m[at])
            if length == 0 { return at + 1 }
            if length & 0xc0 == 0xc0 { return at + 2 <= m.count ? at + 2 : nil }  // a pointer ends the name
            guard length & 0xc0 == 0 else { return nil }
            at += 1 + length
        }
        return nil
    }

    private static func addressText(_ bytes: ArraySlice<UInt8>) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var raw = Array(bytes)
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "::" }
        return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// Why a name has no answer.
enum DNSFailure: Error, Equatable, Sendable, CustomStringConvertible {
    case rcode(UInt8)
    case truncated
    case malformed(String)
    case timeout
    case badName
    case socket(Int32)
    /// The engine is stopping.
    case cancelled

    var description: String {
        switch self {
        case .rcode(3): "no such name (NXDOMAIN)"
        case .rcode(2): "server failure (SERVFAIL)"
        case .rcode(5): "refused"
        case .rcode(let r): "error code \(r)"
        case .truncated: "answer truncated (TCP is not used)"
        case .malformed(let why): "malformed answer: \(why)"
        case .timeout: "no answer from any server"
        case .badName: "not a DNS name"
        case .cancelled: "cancelled (stopping)"
        case .socket(let e): "socket error: \(String(cString: strerror(e)))"
        }
    }
}
