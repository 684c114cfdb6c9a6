import SkiffConfig

/// Picks a router's virtual host from the request's host, with MOSN's domain priority.
///
/// 1. exact host and port (`example.com:8080`);
/// 2. exact host, any port (`example.com`, `example.com:*`): the request's port is ignored;
/// 3. wildcard host with that port (`*.example.com:8080`), longest suffix first;
/// 4. wildcard host, any port (`*.example.com`), longest suffix first;
/// 5. the default (`*` or `*:*`).
///
/// A wildcard is `*` followed by any suffix (`*.example.com`, `*-bar.example.com`; MOSN's
/// `pkg/router/routers_impl.go`), and matches hosts strictly longer than the suffix. Suffixes that start with a dot
/// sit in a hash table probed at each dot of the request host (O(labels)); the rare others are kept in a short list
/// sorted longest first. Comparison is ASCII case-insensitive, IPv6 literals match with or without brackets.
///
/// Unlike MOSN, a domain without a port matches the host on any port (MOSN needs `host:*` for that), and a request
/// without a host goes to the default virtual host (MOSN finds none unless `*` is the only domain), which is what RPC
/// protocols without a host need. A malformed host (`[::1` ...) also gets only the default.
///
/// Immutable after init; any thread may call `select`.
struct VirtualHostSelector: Sendable {
    private var exact = DomainIndex()
    /// Wildcards whose suffix starts with ".", keyed by that suffix.
    private var dotWildcards = DomainIndex()
    /// Other wildcard suffixes (`*-bar.com`, `*:8080`'s empty suffix), longest first.
    private var otherWildcards: [(suffix: [UInt8], port: Int32, virtualHost: Int)] = []
    private(set) var defaultVirtualHost: Int?

    /// True when `*` is the only domain: every request gets the default without reading its host.
    private(set) var onlyDefault = false

    init(routerName: String, virtualHosts: [VirtualHostConfig]) throws(RouteTableError) {
        var owners: [String] = []  // a domain's first spelling per virtual host, for error messages
        for (v, vhost) in virtualHosts.enumerated() {
            owners.append("virtual_hosts[\(v)]")
            for (d, domain) in vhost.domains.enumerated() {
                let path = "virtual_hosts[\(v)].domains[\(d)]"
                func fail(_ kind: RouteTableError.Kind, _ message: String) -> RouteTableError {
                    RouteTableError(kind: kind, router: routerName, path: path, message: message)
                }
                let lowered = RouterBytes.lowercased(domain)
                let parts = lowered.withUnsafeBytes { RouterBytes.splitHostPort($0) }
                if parts.malformed { throw fail(.invalidDomain, "malformed domain \"\(domain)\"") }
                let host = Array(lowered[parts.host])
                var port = DomainIndex.anyPort
                if let range = parts.port, !(range.count == 1 && lowered[range.lowerBound] == RouterBytes.star) {
                    guard let p = lowered.withUnsafeBytes({ RouterBytes.parsePort($0, range) }) else {
                        throw fail(.invalidDomain, "bad port in domain \"\(domain)\" (expected 0...65535 or *)")
                    }
                    port = p
                }
                if host.isEmpty { throw fail(.invalidDomain, "domain \"\(domain)\" has no host") }
                let duplicate: Int?
                if host == [RouterBytes.star] && port == DomainIndex.anyPort {
                    duplicate = defaultVirtualHost
                    if duplicate == nil { defaultVirtualHost = v }
                } else if host.first == RouterBytes.star {
                    let suffix = Array(host.dropFirst())
                    if suffix.contains(RouterBytes.star) {
                        throw fail(.invalidDomain, "domain \"\(domain)\": only a leading * is supported")
                    }
                    if suffix.first == RouterBytes.dot {
                        duplicate = dotWildcards.insert(host: suffix, port: port, virtualHost: v)
                    } else {
                        duplicate = otherWildcards.first { $0.suffix == suffix && $0.port == port }?.virtualHost
                        if duplicate == nil { otherWildcards.append((suffix, port, v)) }
                    }
                } else {
                    if host.contains(RouterBytes.star) {
                        throw fail(.invalidDomain, "domain \"\(domain)\": only a leading * is supported")
                    }
                    duplicate = exact.insert(host: host, port: port, virtualHost: v)
                }
                if let duplicate {
                    throw fail(.duplicateDomain, "domain \"\(domain)\" is also matched by \(owners[duplicate])")
                }
            }
        }
        otherWildcards.sort { $0.suffix.count > $1.suffix.count }
        onlyDefault = exact.isEmpty && dotWildcards.isEmpty && otherWildcards.isEmpty
    }

    /// The index of the virtual host for a request host (nil host: the default), or nil when none matches.
    func select(_ requestHost: UnsafeRawBufferPointer?) -> Int? {
        if onlyDefault { return defaultVirtualHost }
        guard let b = requestHost, b.count > 0 else { return defaultVirtualHost }
        let parts = RouterBytes.splitHostPort(b)
        if parts.malformed || parts.host.isEmpty { return defaultVirtualHost }
        // -1 (= anyPort) when absent: then only any-port domains can match, as MOSN's "" port does.
        var port = DomainIndex.anyPort
        if let range = parts.port { port = RouterBytes.parsePort(b, range) ?? -2 }
        let host = parts.host

        if !exact.isEmpty {
            var h = DomainHash()
            var i = host.upperBound
            while i > host.lowerBound {
                i -= 1
                h.feed(b[i])
            }
            if port >= 0, let v = exact.find(b, host, key: h.key(port: port), port: port) { return v }
            let any = DomainIndex.anyPort
            if let v = exact.find(b, host, key: h.key(port: any), port: any) { return v }
        }
        return wildcard(b, host, port: port) ?? defaultVirtualHost
    }

    /// The longest wildcard on `port` if any, else the longest on any port. `port` < 0: none or unparseable.
    private func wildcard(_ b: UnsafeRawBufferPointer, _ host: Range<Int>, port: Int32) -> Int? {
        let any = DomainIndex.anyPort
        let end = host.upperBound
        var onPort: Int? = nil
        var onPortLength = -1
        var onAny: Int? = nil
        var onAnyLength = -1
        if !dotWildcards.isEmpty {
            // Right to left: at each dot (not the first byte) the hash covers that dot suffix, and each hit is
            // longer than the last, so the latest wins.
            var h = DomainHash()
            var i = end
            while i > host.lowerBound {
                i -= 1
                h.feed(b[i])
                guard b[i] == RouterBytes.dot && i > host.lowerBound else { continue }
                if port >= 0, let v = dotWildcards.find(b, i..<end, key: h.key(port: port), port: port) {
                    onPort = v
                    onPortLength = end - i
                }
                if let v = dotWildcards.find(b, i..<end, key: h.key(port: any), port: any) {
                    onAny = v
                    onAnyLength = end - i
                }
            }
        }
        // Other suffixes win only if longer than the best dot suffix of their kind; the list is longest first.
        for k in otherWildcards.indices {
            let length = otherWildcards[k].suffix.count
            let wildcardPort = otherWildcards[k].port
            if length >= host.count { continue }
            let onItsPort = wildcardPort != any
            if onItsPort && wildcardPort != port { continue }
            if length <= (onItsPort ? onPortLength : onAnyLength) { continue }
            guard RouterBytes.equalsFolded(b, (end - length)..<end, otherWildcards[k].suffix) else { continue }
            if onItsPort {
                onPort = otherWildcards[k].virtualHost
                onPortLength = length
            } else {
                onAny = otherWildcards[k].virtualHost
                onAnyLength = length
            }
        }
        return onPort ?? onAny
    }
}
