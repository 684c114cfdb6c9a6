/// Checks `host:port`, IP literals and CIDR ranges without touching the network (no DNS at config time: a config
/// must validate the same way on a build machine as on the box it runs on).
enum AddressText {
    /// Parses `"127.0.0.1:2046"`, `"[::1]:2046"` or `"localhost:2046"`. On failure returns the message to report.
    static func hostPort(_ text: String, ports: ClosedRange<Int>) -> Result<SocketAddressSpec, Problem> {
        guard !text.isEmpty else { return .failure("empty address") }
        let host: String
        let portText: String
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure("missing ']' in \(quoted(text))") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return .failure("\(quoted(text)) has no port") }
            guard rest.first == ":" else { return .failure("expected ':' after ']' in \(quoted(text))") }
            portText = String(rest.dropFirst())
            guard isIPv6(host) else { return .failure("bad IPv6 address \(quoted(host))") }
        } else {
            let colons = text.filter { $0 == ":" }.count
            if colons == 0 { return .failure("\(quoted(text)) has no port") }
            if colons > 1 {
                return .failure("IPv6 addresses need brackets, e.g. \"[::1]:8080\" (got \(quoted(text)))")
            }
            let colon = text.firstIndex(of: ":")!
            host = String(text[..<colon])
            portText = String(text[text.index(after: colon)...])
            if host.isEmpty { return .failure("no host in \(quoted(text))") }
            if let problem = hostProblem(host) { return .failure(Problem(message: problem)) }
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return .failure("bad port \(quoted(portText)) in \(quoted(text))")
        }
        guard let port = Int(portText), ports.contains(port) else {
            return .failure("port \(portText) out of range (\(ports.lowerBound)-\(ports.upperBound))")
        }
        return .success(SocketAddressSpec(host: host, port: port))
    }

    /// Why `host` (no port, no brackets) is not an IPv4 literal or a DNS name; nil when it is fine.
    /// IPv6 literals are accepted too (for `socket_address.address`).
    static func hostProblem(_ host: String) -> String? {
        if host.isEmpty { return "empty host" }
        if host.contains(":") { return isIPv6(host) ? nil : "bad IPv6 address \(quoted(host))" }
        if host.allSatisfy({ $0 == "." || ($0.isASCII && $0.isNumber) }) {
            return isIPv4(host) ? nil : "bad IPv4 address \(quoted(host))"
        }
        return isHostName(host) ? nil : "bad host name \(quoted(host))"
    }

    /// Dotted quad, each part 0-255 without leading zeros (as Go's `net.ParseIP`).
    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for p in parts {
            guard (1...3).contains(p.count), p.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            if p.count > 1 && p.first == "0" { return false }
            guard let v = Int(p), v <= 255 else { return false }
        }
        return true
    }

    /// RFC 4291 text form: hex groups, at most one `::`, optional trailing dotted IPv4, optional `%zone`.
    static func isIPv6(_ s: String) -> Bool {
        var text = Substring(s)
        if let percent = text.firstIndex(of: "%") {
            if text[text.index(after: percent)...].isEmpty { return false }
            text = text[..<percent]
        }
        let halves = text.split(separator: "::", omittingEmptySubsequences: false)
        guard halves.count <= 2 else { return false }
        var groups = 0
        for (h, half) in halves.enumerated() {
            if half.isEmpty { continue }
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (k, part) in parts.enumerated() {
                let isLast = h == halves.count - 1 && k == parts.count - 1
                if isLast && part.contains(".") {
                    guard isIPv4(String(part)) else { return false }
                    groups += 2
                } else {
                    guard (1...4).contains(part.count), part.allSatisfy({ $0.isHexDigit }) else { return false }
                    groups += 1
                }
            }
        }
        return halves.count == 2 ? groups <= 7 : groups == 8
    }

    /// Letters, digits, `-` and `_` in dot-separated labels of 1-63 characters, 253 in all; a trailing dot is allowed.
    static func isHostName(_ s: String) -> Bool {
        var name = Substring(s)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard (1...253).contains(name.count) else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard (1...63).contains(label.count) else { return false }
            guard label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                return false
            }
            if label.hasPrefix("-") || label.hasSuffix("-") { return false }
        }
        return true
    }

    /// `"10.0.0.0/8"` from an address and a prefix length, or the reason it is not a CIDR range.
    static func cidr(address: String, length: Int) -> Result<String, Problem> {
        let maxLength: Int
        if isIPv4(address) {
            maxLength = 32
        } else if !address.contains("%"), isIPv6(address) {
            maxLength = 128
        } else {
            return .failure("bad IP address \(quoted(address))")
        }
        guard (0...maxLength).contains(length) else {
            return .failure("prefix length \(length) out of range (0-\(maxLength))")
        }
        return .success("\(address)/\(length)")
    }

    /// Checks a `"10.0.0.0/8"` string.
    static func cidr(_ text: String) -> Result<String, Problem> {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
            parts[1].count <= 3, let length = Int(parts[1])
        else { return .failure("bad CIDR range \(quoted(text)) (expected e.g. \"10.0.0.0/8\")") }
        return cidr(address: String(parts[0]), length: length)
    }
}
