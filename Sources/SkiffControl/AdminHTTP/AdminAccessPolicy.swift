import Glibc

/// Who may do what through the admin HTTP API. Pure: the server asks it about each request, tests ask it directly.
///
/// - Reads (`GET`, `HEAD`) are open to whoever reaches the port.
/// - Mutations (every other method) are refused with `403` when they carry an `Origin` header or a `Sec-Fetch-Site`
///   other than `same-origin` or `none` (a browser sends these, so no web page can change a host's state, whatever
///   the address), and on a loopback API when their `Host` is a name other than `localhost` (a page reaching it
///   through a DNS name re-pointed at 127.0.0.1: DNS rebinding). Then:
///   - with `token` set, the request must carry `Authorization: Bearer <token>`;
///   - without a token, an API listening beyond loopback refuses every mutation (reads go on working);
///   - without a token on loopback, the connecting process must be root or run as `ownerUID` (the uid is found from
///     the kernel's socket table, as `ss -e` shows it), as on the control socket.
public struct AdminAccessPolicy: Sendable, Equatable {
    /// The API listens on a loopback address (127.0.0.0/8, ::1, `localhost`).
    public var loopbackOnly: Bool
    /// `admin.token`; nil when not configured.
    public var token: String?
    /// Besides root, the uid whose local processes may change state without a token.
    public var ownerUID: UInt32
    /// Shown in refusals: where the API listens (`0.0.0.0:34902`).
    public var address: String

    public init(loopbackOnly: Bool, token: String? = nil, ownerUID: UInt32 = getuid(), address: String = "") {
        self.loopbackOnly = loopbackOnly
        self.token = token
        self.ownerUID = ownerUID
        self.address = address
    }

    /// The policy for an API listening on `host`.
    public static func forAddress(host: String, port: Int, token: String?, ownerUID: UInt32 = getuid())
        -> AdminAccessPolicy
    {
        AdminAccessPolicy(
            loopbackOnly: isLoopback(host: host), token: token, ownerUID: ownerUID,
            address: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
    }

    public enum Decision: Sendable, Equatable {
        /// Go ahead; `uid` is the caller's when known (for the audit event).
        case allow(uid: UInt32?)
        /// Answer `status` (403) with `reason`.
        case deny(status: Int, reason: String)
    }

    /// Whether a request may go on. `peerUID` is asked only when the answer depends on it (a mutation on loopback
    /// without a token), since finding it reads the kernel's socket table.
    public func decide(
        method: String, headers: [(name: String, value: String)], peerUID: () -> UInt32?
    ) -> Decision {
        func header(_ name: String) -> String? {
            headers.first(where: { $0.name.lowercased() == name })?.value
        }
        if method == "GET" || method == "HEAD" { return .allow(uid: nil) }
        if loopbackOnly, let host = header("host"), !Self.isSafeHost(host) {
            return .deny(
                status: 403,
                reason: "Host \(host) refused: this admin API listens on loopback and takes changes only for an IP "
                    + "address or localhost (a guard against DNS rebinding)")
        }
        if let origin = header("origin") {
            return .deny(
                status: 403,
                reason: "cross-origin request refused (Origin: \(origin)): web pages may not change state here")
        }
        if let site = header("sec-fetch-site")?.lowercased(), site != "same-origin" && site != "none" {
            return .deny(
                status: 403,
                reason: "cross-site request refused (Sec-Fetch-Site: \(site)): web pages may not change state here")
        }
        if let token {
            guard let presented = Self.bearerToken(header("authorization")), Self.constantTimeEqual(presented, token)
            else {
                return .deny(
                    status: 403,
                    reason: "changing state needs the admin token: send Authorization: Bearer <admin.token>")
            }
            return .allow(uid: peerUID())
        }
        guard loopbackOnly else {
            return .deny(
                status: 403,
                reason: "the admin API listens beyond loopback (\(address)) without admin.token: reads only; set "
                    + "admin.token in the config and send Authorization: Bearer <token> to change state")
        }
        let uid = peerUID()
        guard let uid, uid == 0 || uid == ownerUID else {
            let who = uid.map { "uid \($0)" } ?? "a caller whose uid could not be found"
            return .deny(
                status: 403,
                reason: "permission denied: \(who) may not change state (only root and uid \(ownerUID), or set "
                    + "admin.token)")
        }
        return .allow(uid: uid)
    }

    /// `Bearer <token>` (scheme case-insensitive) -> the token.
    static func bearerToken(_ value: String?) -> String? {
        guard let value else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: " \t")
    }

    /// Compares without stopping at the first difference, so timing does not reveal a prefix of the token.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }

    /// A `Host` a rebinding page cannot produce: an IP literal (`127.0.0.1:34902`, `[::1]:34902`) or `localhost`.
    static func isSafeHost(_ hostHeader: String) -> Bool {
        var host = Substring(hostHeader)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            host = host[host.index(after: host.startIndex)..<close]
            return isIPv6Literal(String(host))
        }
        if let colon = host.lastIndex(of: ":") { host = host[..<colon] }
        let name = host.lowercased()
        if name == "localhost" || name == "localhost." { return true }
        var a = in_addr()
        return inet_pton(AF_INET, name, &a) == 1
    }

    private static func isIPv6Literal(_ s: String) -> Bool {
        var a = in6_addr()
        let plain = s.split(separator: "%", maxSplits: 1).first.map(String.init) ?? s
        return inet_pton(AF_INET6, plain, &a) == 1
    }

    /// 127.0.0.0/8, ::1, ::ffff:127.x.x.x and `localhost`.
    public static func isLoopback(host: String) -> Bool {
        var h = host
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, h, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, h, &v6) == 1 else { return false }
        let b = withUnsafeBytes(of: v6) { Array($0) }
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return true }
        let mapped = b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF
        return mapped && b[12] == 127
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
