import SkiffConfig
import SkiffProxy
import SkiffTestSupport
import Testing

@Suite("Route entries: actions, rewrites, retries")
struct RouteActionTests {
    static let weights = WeightedClusters([
        WeightedClusterConfig(name: "a", weight: 1), WeightedClusterConfig(name: "b", weight: 3),
        WeightedClusterConfig(name: "c", weight: 6),
    ])

    @Test("weighted pick is exact over every cycle of the total weight", arguments: [0, 10, 1_000, UInt64.max - 99])
    func weightedCycle(start: UInt64) {
        var counts: [String: Int] = [:]
        for i in 0..<UInt64(100) {
            // Residues of start+i mod 10 run 10 whole cycles only when start is a multiple of 10.
            counts[Self.weights.pickCluster(random: (start - start % 10) &+ i), default: 0] += 1
        }
        #expect(counts == ["a": 10, "b": 30, "c": 60])
    }

    @Test("weighted pick over one cycle, in order")
    func weightedOrder() {
        let picks = (0..<UInt64(10)).map { Self.weights.pickCluster(random: $0) }
        #expect(picks == ["a", "b", "b", "b", "c", "c", "c", "c", "c", "c"])
        #expect(Self.weights.totalWeight == 10)
        #expect(Self.weights.clusters.map(\.name) == ["a", "b", "c"])
    }

    @Test("weighted pick with seeded randoms stays within 1% of the weights")
    func weightedSeeded() {
        var rng = SplitMix64(seed: 42)
        var counts = [0, 0, 0]
        let n = 200_000
        for _ in 0..<n { counts[Self.weights.pickIndex(random: rng.next())] += 1 }
        for (i, w) in [0.1, 0.3, 0.6].enumerated() {
            #expect(abs(Double(counts[i]) / Double(n) - w) < 0.01)
        }
    }

    @Test("a weighted route picks through the entry")
    func weightedEntry() throws {
        let target = RouteTargetConfig(weightedClusters: [
            WeightedClusterConfig(name: "blue", weight: 90), WeightedClusterConfig(name: "green", weight: 10),
        ])
        let table = try singleHostTable([RouteConfig(match: RouteMatchConfig(prefix: "/"), action: .route(target))])
        let entry = try #require(table.route(path: "/"))
        guard case .weighted(let w) = entry.action else {
            Issue.record("expected weighted, got \(entry.action)")
            return
        }
        #expect(w.weights == [90, 10])
        #expect(entry.clusterName(random: 89) == "blue")
        #expect(entry.clusterName(random: 90) == "green")
        #expect(entry.clusterName(random: 199) == "green")
    }

    @Test(
        "redirect Location",
        arguments: [
            (nil, "/new", "a.com:8080", "/old", "http://a.com:8080/new"),
            ("b.com", nil, "a.com", "/old/x", "http://b.com/old/x"),
            ("b.com:81", "/n", "a.com", "/o", "http://b.com:81/n"),
            (nil, "/new", nil, "/old", "/new"),  // no host anywhere: a relative Location
            ("b.com", nil, nil, nil, "http://b.com/"),
            (nil, "new", "a.com", "/old", "http://a.com/new"),
        ] as [(String?, String?, String?, String?, String)])
    func redirect(hostRedirect: String?, pathRedirect: String?, host: String?, path: String?, expected: String) throws {
        let config = RedirectConfig(hostRedirect: hostRedirect, pathRedirect: pathRedirect, responseCode: 302)
        let table = try singleHostTable([RouteConfig(match: RouteMatchConfig(), action: .redirect(config))])
        let input = TestInput(host: host, path: path)
        let location: [UInt8]? = withExtendedLifetime(input) {
            guard case .redirect(let r) = table.route(input)?.action else { return nil }
            #expect(r.responseCode == 302)
            return r.location(for: input)
        }
        #expect(location.map { String(decoding: $0, as: UTF8.self) } == expected)
    }

    @Test("direct response carries status and body bytes", arguments: [("hello\r\n", 503), ("", 200)])
    func directResponse(body: String, status: Int) throws {
        let table = try singleHostTable([
            RouteConfig(match: RouteMatchConfig(path: "/health"), action: .directResponse(status: status, body: body))
        ])
        let entry = try #require(table.route(path: "/health"))
        guard case .directResponse(let s, let b) = entry.action else {
            Issue.record("expected direct response")
            return
        }
        #expect(s == status)
        #expect(b == Array(body.utf8))
        #expect(entry.clusterName(random: 0) == nil)
    }

    @Test("direct response without a body has none")
    func directResponseNoBody() throws {
        let table = try singleHostTable([
            RouteConfig(match: RouteMatchConfig(prefix: "/"), action: .directResponse(status: 404, body: nil))
        ])
        guard case .directResponse(404, let b)? = table.route(path: "/x")?.action else {
            Issue.record("expected 404")
            return
        }
        #expect(b.isEmpty)
    }

    @Test(
        "prefix rewrite replaces the matched bytes",
        arguments: [
            (RouteMatchConfig(prefix: "/api/"), "/v2/", "/api/users?", 5, "/v2/users?"),
            (RouteMatchConfig(prefix: "/api"), "/", "/api", 4, "/"),
            (RouteMatchConfig(prefix: "/"), "/base/", "/x", 1, "/base/x"),
            (RouteMatchConfig(path: "/old"), "/new", "/OLD", 4, "/new"),
        ] as [(RouteMatchConfig, String, String, Int, String)])
    func prefixRewrite(match: RouteMatchConfig, rewrite: String, path: String, length: Int, expected: String) throws {
        let target = RouteTargetConfig(clusterName: "c", prefixRewrite: rewrite, hostRewrite: "up.internal")
        let table = try singleHostTable([RouteConfig(match: match, action: .route(target))])
        let entry = try #require(table.route(path: path))
        #expect(entry.matchedPrefixLength == length)
        #expect(entry.prefixRewrite == Array(rewrite.utf8))
        #expect(entry.hostRewrite == Array("up.internal".utf8))
        let rewritten = Array(path.utf8).withUnsafeBytes { entry.rewrittenPath($0) }
        #expect(rewritten.map { String(decoding: $0, as: UTF8.self) } == expected)
    }

    @Test("prefix rewrite on a regex or header-only route is refused")
    func prefixRewriteNeedsPath() {
        for match in [
            RouteMatchConfig(regex: "/a.*"), RouteMatchConfig(headers: [.init(name: "a", value: "b", regex: false)]),
        ] {
            let target = RouteTargetConfig(clusterName: "c", prefixRewrite: "/x")
            #expect {
                _ = try singleHostTable([RouteConfig(match: match, action: .route(target))])
            } throws: { error in
                let e = error as? RouteTableError
                return e?.kind == .unsupported && e?.path == "virtual_hosts[0].routers[0].route.prefix_rewrite"
            }
        }
    }

    @Test("timeout, retry flags and hash headers are precomputed")
    func retryAndTimeout() throws {
        let policy = RetryPolicyConfig(
            retryOn: ["connect-failure", "5xx", "retriable-status-codes"], retryTimeout: .milliseconds(250),
            numRetries: 3, statusCodes: [429, 409])
        let target = RouteTargetConfig(
            clusterName: "c", timeout: .milliseconds(1500), retryPolicy: policy,
            hashPolicyHeaders: ["X-User", "x-Tenant"])
        let table = try singleHostTable([RouteConfig(match: RouteMatchConfig(prefix: "/"), action: .route(target))])
        let e = try #require(table.route(path: "/"))
        #expect(e.timeout == .milliseconds(1500))
        #expect(e.timeoutNs == 1_500_000_000)
        #expect(e.retryPolicy == policy)
        #expect(e.retryOnConnectFailure && e.retryOn5xx && !e.retryOnReset)
        #expect(e.retriableStatusCodes == [429, 409])
        #expect(e.numRetries == 3)
        #expect(e.retryTimeoutNs == 250_000_000)
        // RPC: the policy's retries for what it names (connect-failure), none for a reset.
        #expect(e.rpcRetry == RPCRetryBudget(left: 3, onReset: false, onConnectFailure: true))
        #expect(e.rpcRetry.allows(connected: false) && !e.rpcRetry.allows(connected: true))
        #expect(e.shouldRetry(status: 503) && e.shouldRetry(status: 429) && !e.shouldRetry(status: 404))
        #expect(e.hashPolicyHeaders == [Array("x-user".utf8), Array("x-tenant".utf8)])
        #expect(e.clusterName(random: 12345) == "c")
    }

    @Test(
        "RPC retries of a request lost unanswered: from retry_on and num_retries",
        arguments: [
            (["connect-failure", "reset", "5xx"], 2, RPCRetryBudget(left: 2, onReset: true, onConnectFailure: true)),
            (["reset"], 0, RPCRetryBudget(left: 0, onReset: true, onConnectFailure: false)),
            ([], 3, RPCRetryBudget(left: 3, onReset: false, onConnectFailure: false)),
            (["5xx"], 1, RPCRetryBudget(left: 1, onReset: false, onConnectFailure: false)),
        ] as [([String], Int, RPCRetryBudget)])
    func rpcRetryFromPolicy(retryOn: [String], numRetries: Int, expected: RPCRetryBudget) throws {
        let policy = RetryPolicyConfig(retryOn: retryOn, retryTimeout: nil, numRetries: numRetries, statusCodes: [])
        let target = RouteTargetConfig(clusterName: "c", retryPolicy: policy)
        let table = try singleHostTable([RouteConfig(match: RouteMatchConfig(prefix: "/"), action: .route(target))])
        let e = try #require(table.route(path: "/"))
        #expect(e.rpcRetry == expected)
        #expect(!e.rpcRetry.allows(connected: true) || (numRetries > 0 && retryOn.contains("reset")))
    }

    @Test("defaults: 60 s, no retries, no rewrites")
    func defaults() throws {
        let e = try #require(try singleHostTable([route(RouteMatchConfig(prefix: "/"), to: "c")]).route(path: "/"))
        #expect(e.timeoutNs == 60_000_000_000)
        #expect(e.retryPolicy == nil && !e.retryOnConnectFailure && !e.retryOnReset && !e.retryOn5xx)
        #expect(e.retriableStatusCodes.isEmpty && e.numRetries == 0 && e.retryTimeoutNs == nil)
        #expect(!e.shouldRetry(status: 503))
        // RPC without a policy: one more try for a request lost unanswered, either way.
        #expect(e.rpcRetry == .unanswered)
        #expect(e.rpcRetry.allows(connected: true) && e.rpcRetry.allows(connected: false))
        #expect(e.prefixRewrite == nil && e.hostRewrite == nil && e.hashPolicyHeaders.isEmpty)
        #expect(e.matchedPrefixLength == 1)
    }
}
