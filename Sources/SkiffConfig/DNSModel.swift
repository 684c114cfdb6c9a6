/// How a STRICT_DNS or LOGICAL_DNS cluster finds its hosts: its host addresses are names (`backend.local:8080`)
/// that a resolver thread turns into addresses at start and every `refreshRate`, off the request path. STRICT_DNS
/// makes a host of every address answered; LOGICAL_DNS of the first only. IP literals among the hosts stay as written.
public struct DNSClusterConfig: Sendable, Equatable {
    public enum Family: String, Sendable, Equatable {
        /// A records (MOSN's default).
        case v4Only = "V4_ONLY"
        /// AAAA records.
        case v6Only = "V6_ONLY"
        /// AAAA records, A records when there are none (Envoy's default; from a control plane only).
        case auto = "AUTO"
        /// A records, AAAA records when there are none (from a control plane only).
        case v4Preferred = "V4_PREFERRED"

        /// The record types asked, in order: the first that answers with addresses wins.
        public var order: [DNSRecordKind] {
            switch self {
            case .v4Only: [.a]
            case .v6Only: [.aaaa]
            case .auto: [.aaaa, .a]
            case .v4Preferred: [.a, .aaaa]
            }
        }
    }

    public enum DNSRecordKind: Sendable, Equatable {
        case a, aaaa
    }

    /// LOGICAL_DNS: the first address answered only.
    public var logical: Bool
    /// `dns_refresh_rate`, default 5 s.
    public var refreshRate: Duration = .seconds(5)
    /// `respect_dns_ttl`: the next query after the lowest TTL answered (at least 1 s) instead of `refreshRate`.
    public var respectTTL: Bool = false
    /// `dns_lookup_family`.
    public var family: Family = .v4Only
    /// `dns_resolvers.servers` with their port; empty = the `nameserver` lines of `resolverFile`.
    public var servers: [SocketAddressSpec] = []
    /// `dns_resolver_file`, default `/etc/resolv.conf`.
    public var resolverFile: String = "/etc/resolv.conf"
    /// `dns_resolver_port` for the servers of `resolverFile`, default 53.
    public var resolverPort: Int = 53
    /// `dns_resolvers.timeout`: how long a server has to answer one query, default 5 s.
    public var timeout: Duration = .seconds(5)
    /// `dns_resolvers.attempts`: rounds over the servers before a resolution fails, default 2.
    public var attempts: Int = 2

    /// Ask the system resolver (`getaddrinfo`: /etc/hosts, then the resolv.conf servers) instead of Skiff's own UDP
    /// client: how the names of other clusters' hosts are asked (MOSN's hostname hosts, first address only).
    public var systemResolver = false

    public init(logical: Bool) { self.logical = logical }

    /// The shortest `dns_refresh_rate` accepted (file or control plane).
    public static let minimumRefreshRate: Duration = .milliseconds(100)

    /// MOSN caches a hostname host's address for 15 s.
    public static let hostnameRefresh: Duration = .seconds(15)

    /// How the hostname hosts of a cluster of another type are asked: the system resolver, the first address,
    /// every `refresh`.
    public static func hostnames(refresh: Duration) -> DNSClusterConfig {
        var c = DNSClusterConfig(logical: true)
        c.systemResolver = true
        c.refreshRate = refresh
        return c
    }
}
