import SkiffConfig
import SkiffProxy
import Testing

@Suite("Route matching within a virtual host")
struct RouteMatchTests {
    static let table: RouteTable = try! singleHostTable([
        route(RouteMatchConfig(path: "/exact"), to: "c-exact"),
        route(
            RouteMatchConfig(
                prefix: "/api/v1", headers: [HeaderMatcherConfig(name: "X-Canary", value: "true", regex: false)]),
            to: "c-canary"),
        route(RouteMatchConfig(prefix: "/api"), to: "c-api"),
        route(RouteMatchConfig(regex: "/img/[0-9]+\\.png"), to: "c-regex"),
        route(
            RouteMatchConfig(headers: [
                HeaderMatcherConfig(name: "x-user", value: "u[0-9]+", regex: true),
                HeaderMatcherConfig(name: "X-Env", value: "prod", regex: false),
            ]),
            to: "c-headers"),
        route(
            RouteMatchConfig(
                prefix: "/static", headers: [HeaderMatcherConfig(name: "x-present", value: ".*", regex: true)]),
            to: "c-present"),
    ])

    @Test(
        "first matching route wins",
        arguments: [
            ("/exact", [], "c-exact"),
            ("/EXACT", [], "c-exact"),  // path is compared case-insensitively, as MOSN's EqualFold
            ("/exact/more", [], nil),
            ("/exac", [], nil),
            ("/api/v1/users", [("x-canary", "true")], "c-canary"),
            ("/api/v1/users", [("X-CANARY", "true")], "c-canary"),
            ("/api/v1/users", [("x-canary", "TRUE")], "c-api"),  // header values are case-sensitive
            ("/api/v1/users", [("x-canary", "false")], "c-api"),
            ("/api/v1/users", [], "c-api"),
            ("/api", [], "c-api"),
            ("/apix", [], "c-api"),  // a byte prefix, not a segment prefix
            ("/API/v1", [], nil),  // prefixes are case-sensitive
            ("/img/42.png", [], "c-regex"),
            ("/img/42.png.bak", [], nil),  // the regex must match the whole path
            ("/x/img/42.png", [], nil),
            ("/img/.png", [], nil),
            ("/other", [("x-user", "u7"), ("x-env", "prod")], "c-headers"),
            ("/other", [("x-user", "u7x"), ("x-env", "prod")], nil),  // header regexes match whole values
            ("/other", [("x-user", "u7")], nil),  // every listed header must match
            ("/other", [("x-user", "u7"), ("x-env", "Prod")], nil),
            ("/other", [("x-env", "prod")], nil),
            ("/exact", [("x-user", "u1"), ("x-env", "prod")], "c-exact"),  // order, not specificity
            ("/api/x", [("x-user", "u1"), ("x-env", "prod")], "c-api"),
            ("/static/a.css", [("x-present", "")], "c-present"),  // ".*" accepts an empty value
            ("/static/a.css", [("x-present", "anything")], "c-present"),
            ("/static/a.css", [], nil),  // but the header must be there
            ("/", [], nil),
        ] as [(String, [(String, String)], String?)])
    func firstMatch(path: String, headers: [(String, String)], expected: String?) {
        #expect(Self.table.route(host: "h", path: path, headers: headers)?.clusterName == expected)
    }

    @Test("a request without a path (RPC) matches only header-only routes")
    func noPath() {
        #expect(Self.table.route(headers: [("x-user", "u1"), ("x-env", "prod")])?.clusterName == "c-headers")
        #expect(Self.table.route(headers: [("x-canary", "true"), ("x-present", "")]) == nil)
    }

    @Test("the entry names its virtual host and position")
    func entryName() throws {
        #expect(Self.table.route(path: "/api")?.name == "any/2")
        #expect(Self.table.route(path: "/api")?.routeIndex == 2)
        let unnamed = try RouteTable(
            config: RouterConfig(
                name: "r",
                virtualHosts: [
                    catchAllHost("a", ["a.com"]),
                    VirtualHostConfig(
                        name: "", domains: ["*"], routes: [route(RouteMatchConfig(prefix: "/"), to: "c")]),
                ]))
        #expect(unnamed.route(host: "b.com", path: "/")?.name == "vhost1/0")
        #expect(unnamed.entries(virtualHost: 1).map(\.name) == ["vhost1/0"])
    }

    @Test("one table serves several threads at once, regex routes included")
    func concurrentLookups() async {
        let table = Self.table
        let total = await withTaskGroup(of: Int.self) { group in
            for t in 0..<4 {
                group.addTask {
                    var hits = 0
                    for i in 0..<1_000 {
                        if table.route(host: "h\(t)", path: "/img/\(i).png")?.clusterName == "c-regex" { hits += 1 }
                        if table.route(path: "/api/\(i)")?.clusterName == "c-api" { hits += 1 }
                    }
                    return hits
                }
            }
            return await group.reduce(0, +)
        }
        #expect(total == 8_000)
    }

    @Test("a bad regex is refused with its path")
    func badRegex() {
        let config = RouterConfig(
            name: "r",
            virtualHosts: [
                VirtualHostConfig(
                    name: "v", domains: ["*"],
                    routes: [
                        route(RouteMatchConfig(prefix: "/"), to: "c"),
                        route(
                            RouteMatchConfig(headers: [HeaderMatcherConfig(name: "a", value: "(", regex: true)]),
                            to: "c"),
                    ])
            ])
        #expect {
            _ = try RouteTable(config: config)
        } throws: { error in
            let e = error as? RouteTableError
            return e?.kind == .badRegex && e?.path == "virtual_hosts[0].routers[1].match.headers[0].value"
        }
    }
}
