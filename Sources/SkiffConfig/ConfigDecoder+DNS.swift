import SkiffJSON

/// A STRICT_DNS or LOGICAL_DNS cluster's resolver settings (MOSN's field names). MOSN quietly turns LOGICAL_DNS and
/// unknown types into SIMPLE; Skiff runs LOGICAL_DNS as Envoy does (the first address) and refuses what it would not
/// act on: search lists, `ndots`, other lookup families, and DNS fields on clusters of other types.
extension ConfigDecoder {
    static let dnsFields = [
        "dns_refresh_rate", "respect_dns_ttl", "dns_lookup_family", "dns_resolvers", "dns_resolver_file",
        "dns_resolver_port",
    ]

    mutating func dnsConfig(_ f: Fields, type: ClusterType) -> DNSClusterConfig? {
        guard type == .strictDNS || type == .logicalDNS else {
            // `dns_refresh_rate` alone also paces another type's hostname hosts (`hostnameRefresh`).
            for name in Self.dnsFields where name != "dns_refresh_rate" && f.has(name) {
                fail(f.path(name), "only for clusters of type STRICT_DNS or LOGICAL_DNS (this one is \(type.rawValue))")
            }
            return nil
        }
        var dns = DNSClusterConfig(logical: type == .logicalDNS)
        if let d = refreshRate(f) { dns.refreshRate = d }
        dns.respectTTL = bool(f, "respect_dns_ttl") ?? false
        dns.family =
            choice(
                f, "dns_lookup_family", what: "lookup family",
                [("V4_ONLY", DNSClusterConfig.Family.v4Only), ("V6_ONLY", .v6Only)],
                unsupported: ["AUTO", "V4_PREFERRED", "ALL"]) ?? .v4Only
        if let file = string(f, "dns_resolver_file") {
            if file.isEmpty { fail(f.path("dns_resolver_file"), "must not be empty") } else { dns.resolverFile = file }
        }
        if let port = portValue(f, "dns_resolver_port") { dns.resolverPort = port }
        if let r = f["dns_resolvers"] { dnsResolvers(r, at: f.path("dns_resolvers"), into: &dns) }
        return dns
    }

    /// `dns_refresh_rate`: at least 100 ms.
    mutating func refreshRate(_ f: Fields) -> Duration? {
        guard let d = duration(f, "dns_refresh_rate", positive: true) else { return nil }
        guard d >= DNSClusterConfig.minimumRefreshRate else {
            fail(f.path("dns_refresh_rate"), "at least 100ms")
            return nil
        }
        return d
    }

    /// `{"servers": ["10.0.0.2", "127.0.0.1:5353"], "port": "53", "timeout": 5, "attempts": 2}`; MOSN's `search`
    /// and `ndots` are refused unless empty or default (Skiff asks for names exactly as written).
    private mutating func dnsResolvers(_ v: JSONValue, at path: String, into dns: inout DNSClusterConfig) {
        let schema = ObjectSchema(known: ["servers", "port", "timeout", "attempts", "search", "ndots"])
        guard let f = fields(v, at: path, schema) else { return }
        if let search = array(f, "search"), !search.isEmpty {
            fail(f.path("search"), "search lists are not supported by skiff: write names in full")
        }
        if let ndots = int(f, "ndots", 0...15), ndots != 1 {
            fail(f.path("ndots"), "not supported by skiff (names are asked exactly as written)")
        }
        let port = portValue(f, "port") ?? 53
        for item in array(f, "servers") ?? [] {
            guard let text = string(item.value, at: item.path) else { continue }
            let withPort = text.contains(":") && !text.hasPrefix("[") && text.filter({ $0 == ":" }).count > 1
                ? "[\(text)]:\(port)" : (text.contains(":") ? text : "\(text):\(port)")
            switch AddressText.hostPort(withPort, ports: 1...65535) {
            case .failure(let problem): fail(item.path, problem.message)
            case .success(let address):
                if AddressText.hostProblem(address.host) == nil && !AddressText.isIPv4(address.host)
                    && !AddressText.isIPv6(address.host)
                {
                    fail(item.path, "a DNS server must be an IP address, got \(quoted(address.host))")
                } else {
                    dns.servers.append(address)
                }
            }
        }
        if let seconds = int(f, "timeout", 1...60) { dns.timeout = .seconds(seconds) }
        if let attempts = int(f, "attempts", 1...10) { dns.attempts = attempts }
    }

    /// A port written as a number or, as MOSN writes it, a string (`"53"`).
    private mutating func portValue(_ f: Fields, _ name: String) -> Int? {
        guard let v = f[name] else { return nil }
        if case .string(let s) = v {
            guard let p = Int(s), (1...65535).contains(p) else {
                fail(f.path(name), "bad port \(quoted(s))")
                return nil
            }
            return p
        }
        return int(v, at: f.path(name), 1...65535)
    }
}
