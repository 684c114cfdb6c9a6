import Testing

@testable import SkiffConfig

/// STRICT_DNS and LOGICAL_DNS clusters with MOSN's fields, and what Skiff refuses rather than quietly ignores.
@Suite struct DNSConfigTests {
    static func cluster(_ type: String, _ extra: String = "", host: String = "backend.svc.local:8080") -> String {
        Fixture.config(
            clusters: [Fixture.cluster("c1", extra: #","type":"\#(type)"\#(extra)"#, hosts: #"[{"address":"\#(host)"}]"#)])
    }

    @Test func mosnsFieldsDecode() throws {
        let extra = #","dns_refresh_rate":"2s","respect_dns_ttl":true,"dns_lookup_family":"V6_ONLY","dns_resolvers":{"servers":["127.0.0.1","10.0.0.2:5353","::1"],"port":"5300","timeout":3,"attempts":4}"#
        let config = try #require(decodeValid(Self.cluster("STRICT_DNS", extra)))
        let dns = try #require(config.clusters[0].dns)
        #expect(config.clusters[0].type == .strictDNS)
        #expect(!dns.logical && dns.refreshRate == .seconds(2) && dns.respectTTL && dns.family == .v6Only)
        #expect(dns.servers.map(\.description) == ["127.0.0.1:5300", "10.0.0.2:5353", "[::1]:5300"])
        #expect(dns.timeout == .seconds(3) && dns.attempts == 4)
        let logical = try #require(decodeValid(Self.cluster("LOGICAL_DNS"))?.clusters[0].dns)
        #expect(logical.logical && logical.refreshRate == .seconds(5) && logical.servers.isEmpty)
        #expect(logical.resolverFile == "/etc/resolv.conf" && logical.resolverPort == 53)
    }

    /// MOSN's hostname hosts in a cluster of another type: asked again every 15 s (MOSN's cache), or every
    /// `dns_refresh_rate` when the cluster sets it.
    @Test func hostnameHostsOfOtherTypesHaveARefreshRate() throws {
        let plain = try #require(decodeValid(Self.cluster("SIMPLE")))
        #expect(plain.clusters[0].dns == nil && plain.clusters[0].hostnameRefresh == .seconds(15))
        let paced = try #require(decodeValid(Self.cluster("SIMPLE", #","dns_refresh_rate":"1s""#)))
        #expect(paced.clusters[0].dns == nil && paced.clusters[0].hostnameRefresh == .seconds(1))
    }

    static let refusals: [(String, String)] = [
        (cluster("SIMPLE", #","dns_refresh_rate":"2s""#, host: "127.0.0.1:80"), "clusters[0].dns_refresh_rate: no host is a name"),
        (cluster("SIMPLE", #","respect_dns_ttl":true"#), "clusters[0].respect_dns_ttl: only for clusters of type STRICT_DNS or LOGICAL_DNS"),
        (cluster("STRICT_DNS", #","dns_lookup_family":"AUTO""#), "dns_lookup_family: lookup family \"AUTO\" not supported by skiff"),
        (cluster("STRICT_DNS", #","dns_resolvers":{"search":["svc.local"]}"#), "dns_resolvers.search: search lists are not supported"),
        (cluster("STRICT_DNS", #","dns_resolvers":{"servers":["dns.google"]}"#), "a DNS server must be an IP address"),
        (cluster("STRICT_DNS", #","dns_refresh_rate":"10ms""#), "dns_refresh_rate: at least 100ms"),
        (cluster("EDS"), "cluster type \"EDS\" not supported by skiff"),
    ]

    @Test(arguments: refusals.indices)
    func refusedWithTheirPath(_ i: Int) {
        let (json, expected) = Self.refusals[i]
        let errors = errorLines(json)
        #expect(errors.contains { $0.contains(expected) }, "\(errors)")
    }
}
