import SkiffConfig
import SkiffProxy
import Testing

@Suite("Virtual host selection")
struct DomainPriorityTests {
    static let table: RouteTable = {
        let hosts = [
            catchAllHost("exact-port", ["www.example.com:8080"]),
            catchAllHost("exact", ["www.example.com", "API.Example.com"]),
            catchAllHost("wild-long", ["*.api.example.com"]),
            catchAllHost("wild", ["*.example.com"]),
            catchAllHost("wild-port", ["*.example.com:9090"]),
            catchAllHost("dash", ["*-bar.foo.com"]),
            catchAllHost("wild-foo", ["*.FOO.com"]),
            catchAllHost("v6", ["[::1]:80", "[fe80::1]"]),
            catchAllHost("ipv4", ["10.0.0.1:8080", "10.0.0.2:*"]),
            catchAllHost("default", ["*"]),
            catchAllHost("star-port", ["*:7070"]),
        ]
        return try! RouteTable(config: RouterConfig(name: "domains", virtualHosts: hosts))
    }()

    @Test(
        "priority: exact host:port, exact host, wildcard with port, wildcard, default",
        arguments: [
            ("www.example.com:8080", "exact-port"),
            ("WWW.EXAMPLE.COM:8080", "exact-port"),
            ("www.example.com", "exact"),
            ("Www.Example.Com", "exact"),
            ("www.example.com:80", "exact"),
            ("www.example.com:7070", "exact"),  // exact host on any port beats a wildcard with that port
            ("www.example.com:", "exact"),  // empty port = no port
            ("www.example.com:abc", "exact"),  // a bad port still matches port-less domains
            ("api.example.com", "exact"),
            ("api.example.com:1", "exact"),
            ("a.api.example.com", "wild-long"),  // longest suffix wins
            ("a.b.api.example.com", "wild-long"),
            ("a.example.com", "wild"),
            ("A.B.EXAMPLE.COM", "wild"),
            ("a.example.com:9090", "wild-port"),
            ("a.api.example.com:9090", "wild-port"),  // a wildcard with the port beats a longer one without
            ("example.com", "default"),  // a wildcard needs at least one byte before its suffix
            (".example.com", "default"),
            ("x-bar.foo.com", "dash"),  // "*-bar.foo.com" is longer than "*.foo.com"
            ("x.bar.foo.com", "wild-foo"),
            ("bar.foo.com", "wild-foo"),
            ("-bar.foo.com", "wild-foo"),  // exactly the dash suffix: too short for it
            ("x.foo.com", "wild-foo"),
            ("[::1]:80", "v6"),
            ("[::1]", "default"),  // "[::1]:80" only on port 80
            ("[::1]:81", "default"),
            ("[fe80::1]:443", "v6"),
            ("[FE80::1]", "v6"),
            ("fe80::1", "v6"),  // bare IPv6 literal
            ("10.0.0.1:8080", "ipv4"),
            ("10.0.0.1", "default"),
            ("10.0.0.2:1234", "ipv4"),
            ("10.0.0.2", "ipv4"),
            ("unknown.org", "default"),
            ("unknown.org:7070", "star-port"),
            ("a.example.com:7070", "star-port"),  // "*:7070" has the port: priority 3, before "*.example.com"
            ("", "default"),
            ("[::1", "default"),  // malformed
        ] as [(String, String)])
    func priority(host: String, expected: String) {
        #expect(Self.table.virtualHostName(host: host) == expected)
        #expect(Self.table.route(host: host, path: "/x")?.clusterName == expected)
    }

    @Test("no host goes to the default virtual host")
    func noHost() {
        #expect(Self.table.virtualHostName(host: nil) == "default")
        #expect(Self.table.route(path: "/")?.clusterName == "default")
    }

    @Test("no matching virtual host and no default: nil", arguments: ["b.com", "a.com.evil", "xa.com", "", "[::1]"])
    func noDefault(host: String) throws {
        let table = try RouteTable(
            config: RouterConfig(name: "r", virtualHosts: [catchAllHost("a", ["a.com", "*.b.a.com"])]))
        #expect(table.virtualHostName(host: host) == nil)
        #expect(table.route(host: host, path: "/") == nil)
        #expect(table.route(path: "/") == nil)
        #expect(table.route(host: "x.b.a.com", path: "/")?.clusterName == "a")
    }

    @Test("only `*`: every request gets it, whatever its host", arguments: ["a.com", "[::1", "", "x:y:z"])
    func onlyDefault(host: String) throws {
        let table = try RouteTable(config: RouterConfig(name: "r", virtualHosts: [catchAllHost("all", ["*"])]))
        #expect(table.virtualHostName(host: host) == "all")
    }

    @Test("many exact domains: every one found through the hash table")
    func manyDomains() throws {
        let hosts = (0..<300).map {
            catchAllHost("h\($0)", ["svc\($0).ns.cluster.local", "10.1.\($0 / 256).\($0 % 256):80"])
        }
        let table = try RouteTable(config: RouterConfig(name: "big", virtualHosts: hosts))
        for i in stride(from: 0, to: 300, by: 7) {
            #expect(table.virtualHostName(host: "SVC\(i).ns.cluster.local:8080") == "h\(i)")
            #expect(table.virtualHostName(host: "10.1.\(i / 256).\(i % 256):80") == "h\(i)")
        }
        #expect(table.virtualHostName(host: "svc300.ns.cluster.local") == nil)
    }

    @Test(
        "domains the matcher cannot use are refused with their path",
        arguments: [
            (["a.com"], ["A.COM:*"], RouteTableError.Kind.duplicateDomain),
            (["*"], ["*:*"], .duplicateDomain),
            (["*.a.com"], ["*.A.com"], .duplicateDomain),
            (["*-a.com:80"], ["*-a.com:80"], .duplicateDomain),
            (["a.com"], ["a*.com"], .invalidDomain),
            (["a.com"], ["*.a.*"], .invalidDomain),
            (["a.com"], ["a.com:99999"], .invalidDomain),
            (["a.com"], ["a.com:http"], .invalidDomain),
            (["a.com"], ["[::1"], .invalidDomain),
            (["a.com"], [":80"], .invalidDomain),
        ] as [([String], [String], RouteTableError.Kind)])
    func badDomains(first: [String], second: [String], kind: RouteTableError.Kind) {
        let config = RouterConfig(name: "r", virtualHosts: [catchAllHost("one", first), catchAllHost("two", second)])
        #expect {
            _ = try RouteTable(config: config)
        } throws: { error in
            guard let e = error as? RouteTableError else { return false }
            return e.kind == kind && e.router == "r" && e.path == "virtual_hosts[1].domains[0]"
        }
    }

    @Test("the error reads as one line with the router and path")
    func errorText() {
        let config = RouterConfig(name: "web", virtualHosts: [catchAllHost("one", ["a.com", "b.com:x"])])
        #expect(throws: RouteTableError.self) { _ = try RouteTable(config: config) }
        do {
            _ = try RouteTable(config: config)
        } catch {
            let expected =
                #"router "web" virtual_hosts[0].domains[1]: "#
                + #"bad port in domain "b.com:x" (expected 0...65535 or *)"#
            #expect(error.description == expected)
        }
    }
}
