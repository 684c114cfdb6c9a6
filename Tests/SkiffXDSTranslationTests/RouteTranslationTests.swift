import SkiffConfig
import SkiffProxy
import SkiffXDSProto
import Testing

@testable import SkiffXDSTranslation

/// RouteConfigurations: basic.json's and the route-config sample translate field by field; Envoy's matching semantics
/// are kept (case-sensitive paths, header matchers as anchored regexes); invalid regexes and unsupported actions are
/// refused with their field path.
@Suite struct RouteTranslationTests {
    typealias RouteConfiguration = Envoy_Config_Route_V3_RouteConfiguration

    /// A route configuration `r1` with one virtual host `vh` whose routes are `routes` (JSON array members).
    static func config(routes: String, hostExtra: String = "") throws -> RouteConfiguration {
        try TranslationFixture.decode(
            RouteConfiguration.self,
            json:
                #"{"name": "r1", "virtual_hosts": [{"name": "vh", "domains": ["*"]\#(hostExtra), "routes": [\#(routes)]}]}"#
        )
    }

    static func onlyRoute(_ route: String, hostExtra: String = "") throws -> RouteConfig {
        try XDSTranslate.routeConfiguration(try config(routes: route, hostExtra: hostExtra)).virtualHosts[0].routes[0]
    }

    @Test func basicFixtureRoutesTranslate() throws {
        let routes = try TranslationFixture.basic("routes", RouteConfiguration.self)
        #expect(routes.count == 1)
        let r = try XDSTranslate.routeConfiguration(routes[0])
        #expect(
            r
                == RouterConfig(
                    name: "local_route",
                    virtualHosts: [
                        VirtualHostConfig(
                            name: "backend", domains: ["*"],
                            routes: [
                                RouteConfig(
                                    match: RouteMatchConfig(prefix: "/b/"),
                                    action: .route(RouteTargetConfig(clusterName: "service-b", timeout: .seconds(15)))),
                                RouteConfig(
                                    match: RouteMatchConfig(prefix: "/"),
                                    action: .route(RouteTargetConfig(clusterName: "service-a", timeout: .seconds(15)))),
                            ])
                    ]))
    }

    @Test func routeConfigSampleTranslatesFieldByField() throws {
        let r = try XDSTranslate.routeConfiguration(
            try TranslationFixture.sample(RouteConfiguration.self, "route-config"))
        #expect(r.name == "local_route")
        let routes = r.virtualHosts[0].routes
        #expect(routes.count == 4)

        #expect(
            routes[0].match
                == RouteMatchConfig(
                    prefix: "/api", headers: [HeaderMatcherConfig(name: "x-canary", value: "1", regex: false)]))
        // retriable_status_codes apply only with "retriable-status-codes" in retry_on (as in Envoy).
        let retry = RetryPolicyConfig(
            retryOn: ["5xx", "connect-failure", "reset"], retryTimeout: .seconds(1), numRetries: 2, statusCodes: [])
        #expect(
            routes[0].action
                == .route(
                    RouteTargetConfig(
                        weightedClusters: [
                            WeightedClusterConfig(name: "api_v2", weight: 10),
                            WeightedClusterConfig(name: "api_v1", weight: 90),
                        ],
                        timeout: .seconds(5), retryPolicy: retry, prefixRewrite: "/")))

        #expect(routes[1].match == RouteMatchConfig(regex: "^/v[0-9]+/items$"))
        #expect(
            routes[1].action
                == .route(RouteTargetConfig(clusterName: "items", timeout: .seconds(15), hostRewrite: "items.internal"))
        )

        // "/old" has letters: Envoy matches it case-sensitively, Skiff's path match would not, so it is a regex.
        #expect(routes[2].match == RouteMatchConfig(regex: "/old"))
        #expect(
            routes[2].action == .redirect(RedirectConfig(hostRedirect: nil, pathRedirect: "/new", responseCode: 308)))

        #expect(routes[3].match == RouteMatchConfig(prefix: "/health"))
        #expect(routes[3].action == .directResponse(status: 200, body: "ok"))
    }

    @Test func pathCaseSensitivityIsKept() throws {
        let insensitive = try Self.onlyRoute(
            #"{"match": {"path": "/Old", "case_sensitive": false}, "route": {"cluster": "c"}}"#)
        #expect(insensitive.match == RouteMatchConfig(path: "/Old"))
        let digits = try Self.onlyRoute(#"{"match": {"path": "/1.2"}, "route": {"cluster": "c"}}"#)
        #expect(digits.match == RouteMatchConfig(path: "/1.2"))
        let prefix = try Self.onlyRoute(
            #"{"match": {"prefix": "/Api.", "case_sensitive": false}, "route": {"cluster": "c"}}"#)
        #expect(prefix.match == RouteMatchConfig(regex: #"(?i:/Api\.).*"#))
        let rewrite = try Self.config(
            routes: #"{"match": {"path": "/Old"}, "route": {"cluster": "c", "prefix_rewrite": "/new"}}"#)
        #expect(
            rejection { try XDSTranslate.routeConfiguration(rewrite) }?.field
                == "virtual_hosts[0].routes[0].route.prefix_rewrite")
    }

    @Test func headerMatchers() throws {
        let r = try Self.onlyRoute(
            #"""
            {"match": {"prefix": "/", "headers": [
               {"name": "a", "exact_match": "x"},
               {"name": "b", "string_match": {"prefix": "v1."}},
               {"name": "c", "string_match": {"suffix": "-beta", "ignore_case": true}},
               {"name": "d", "present_match": true},
               {"name": "e", "safe_regex_match": {"regex": "[0-9]+"}},
               {"name": "f", "string_match": {"contains": "(x)"}}]},
             "route": {"cluster": "c"}}
            """#)
        #expect(
            r.match.headers == [
                HeaderMatcherConfig(name: "a", value: "x", regex: false),
                HeaderMatcherConfig(name: "b", value: #"v1\..*"#, regex: true),
                HeaderMatcherConfig(name: "c", value: "(?i).*-beta", regex: true),
                HeaderMatcherConfig(name: "d", value: ".*", regex: true),
                HeaderMatcherConfig(name: "e", value: "[0-9]+", regex: true),
                HeaderMatcherConfig(name: "f", value: #".*\(x\).*"#, regex: true),
            ])
        let inverted = try Self.config(
            routes:
                #"{"match": {"prefix": "/", "headers": [{"name": "a", "exact_match": "x", "invert_match": true}]}, "route": {"cluster": "c"}}"#
        )
        #expect(
            rejection { try XDSTranslate.routeConfiguration(inverted) }?.field
                == "virtual_hosts[0].routes[0].match.headers[0].invert_match")
    }

    @Test func retryPolicyHashPolicyAndHostInheritance() throws {
        let r = try Self.onlyRoute(
            #"{"match": {"prefix": "/"}, "route": {"cluster": "c", "timeout": "0s", "hash_policy": [{"header": {"header_name": "x-user"}}]}}"#,
            hostExtra: #", "retry_policy": {"retry_on": "gateway-error,refused-stream"}"#)
        guard case .route(let t) = r.action else {
            Issue.record("not a route")
            return
        }
        #expect(t.timeout == XDSDefaults.disabled)
        #expect(t.hashPolicyHeaders == ["x-user"])
        #expect(
            t.retryPolicy
                == RetryPolicyConfig(
                    retryOn: ["connect-failure", "reset", "retriable-status-codes"], retryTimeout: nil, numRetries: 1,
                    statusCodes: [502, 503, 504]))
        let cookie = try Self.config(
            routes:
                #"{"match": {"prefix": "/"}, "route": {"cluster": "c", "retry_policy": {"retry_on": "retriable-4xx"}}}"#
        )
        #expect(
            rejection { try XDSTranslate.routeConfiguration(cookie) }
                == XDSRejection(
                    resource: #"route_configuration "r1""#,
                    field: "virtual_hosts[0].routes[0].route.retry_policy.retry_on",
                    reason:
                        #"retry condition "retriable-4xx" is not supported by skiff (expected 5xx, gateway-error, reset, connect-failure, retriable-status-codes)"#
                ))
    }

    // MARK: - Rejections

    @Test func invalidRegexIsRefusedWithItsPath() throws {
        let c = try Self.config(
            routes: #"""
                {"match": {"prefix": "/a"}, "route": {"cluster": "c"}},
                {"match": {"safe_regex": {"regex": "^/(unclosed"}}, "route": {"cluster": "c"}}
                """#)
        let r = try #require(rejection { try XDSTranslate.routeConfiguration(c) })
        #expect(r.resource == #"route_configuration "r1""#)
        #expect(r.field == "virtual_hosts[0].routes[1].match.safe_regex.regex")
        #expect(r.reason.hasPrefix(#"bad regular expression "^/(unclosed": "#))

        // Inside an inline route_config, the path starts at the listener.
        let l = try ListenerTranslationTests.withManager(
            #"""
            "stat_prefix": "x", "http_filters": [\#(ListenerTranslationTests.routerFilter)],
            "route_config": {"name": "local", "virtual_hosts": [{"name": "a", "domains": ["a"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "c"}}]},
              {"name": "b", "domains": ["b"], "routes": [{"match": {"safe_regex": {"regex": "*"}}, "route": {"cluster": "c"}}]}]}
            """#)
        #expect(
            rejection { try XDSTranslate.listener(l) }?.field
                == "filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[1].routes[0].match.safe_regex.regex"
        )
    }

    @Test func unsupportedActionsAreRefused() throws {
        let header = try Self.config(routes: #"{"match": {"prefix": "/"}, "route": {"cluster_header": "x-cluster"}}"#)
        #expect(
            rejection { try XDSTranslate.routeConfiguration(header) }
                == XDSRejection(
                    resource: #"route_configuration "r1""#, field: "virtual_hosts[0].routes[0].route.cluster_header",
                    reason: "not supported by skiff (routes name their clusters)"))
        let weight = try Self.config(
            routes:
                #"{"match": {"prefix": "/"}, "route": {"weighted_clusters": {"clusters": [{"name": "a", "weight": 1000}]}}}"#
        )
        #expect(
            rejection { try XDSTranslate.routeConfiguration(weight) }
                == XDSRejection(
                    resource: #"route_configuration "r1""#,
                    field: "virtual_hosts[0].routes[0].route.weighted_clusters.clusters[0].weight",
                    reason: "1000 out of range (1-100)"))
        let https = try Self.config(routes: #"{"match": {"prefix": "/"}, "redirect": {"https_redirect": true}}"#)
        #expect(
            rejection { try XDSTranslate.routeConfiguration(https) }?.field
                == "virtual_hosts[0].routes[0].redirect.https_redirect")
        let edits = try Self.config(
            routes:
                #"{"match": {"prefix": "/"}, "route": {"cluster": "c"}, "request_headers_to_add": [{"header": {"key": "a", "value": "b"}}]}"#
        )
        #expect(
            rejection { try XDSTranslate.routeConfiguration(edits) }?.field
                == "virtual_hosts[0].routes[0].request_headers_to_add")
        let insensitiveRegex = try Self.onlyRoute(
            #"{"match": {"safe_regex": {"regex": "/a+"}, "case_sensitive": false}, "route": {"cluster": "c"}}"#)
        #expect(insensitiveRegex.match.regex == "(?i:/a+)")
        let dup = try TranslationFixture.decode(
            RouteConfiguration.self,
            json: #"""
                {"name": "r1", "virtual_hosts": [{"name": "a", "domains": ["x.com"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "c"}}]},
                  {"name": "b", "domains": ["X.com"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "c"}}]}]}
                """#)
        #expect(rejection { try XDSTranslate.routeConfiguration(dup) }?.field == "virtual_hosts[1].domains[0]")
    }
}

/// What the translation makes, the router compiles: escaped paths, anchored header regexes, case-insensitive prefixes.
@Suite struct TranslatedRoutesCompileTests {
    @Test func translatedRoutersBuildRouteTables() throws {
        let sample = try XDSTranslate.routeConfiguration(
            try TranslationFixture.sample(Envoy_Config_Route_V3_RouteConfiguration.self, "route-config"))
        _ = try RouteTable(config: sample)
        let matchers = try TranslationFixture.decode(
            Envoy_Config_Route_V3_RouteConfiguration.self,
            json: #"""
                {"name": "r1", "virtual_hosts": [{"name": "vh", "domains": ["*.example.com", "api:*", "*"], "routes": [
                  {"match": {"prefix": "/A.b", "case_sensitive": false, "headers": [
                     {"name": "b", "string_match": {"prefix": "v1.[x]"}}, {"name": "c", "suffix_match": "$^"},
                     {"name": "d", "string_match": {"exact": "Mixed", "ignore_case": true}}]},
                   "route": {"cluster": "c"}},
                  {"match": {"path": "/Case/(1)"}, "route": {"cluster": "c"}}]}]}
                """#)
        _ = try RouteTable(config: try XDSTranslate.routeConfiguration(matchers))
    }

    @Test func suffixWildcardDomainIsRefused() throws {
        let c = try TranslationFixture.decode(
            Envoy_Config_Route_V3_RouteConfiguration.self,
            json: #"""
                {"name": "r1", "virtual_hosts": [{"name": "a", "domains": ["api.*"],
                  "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "c"}}]}]}
                """#)
        #expect(
            rejection { try XDSTranslate.routeConfiguration(c) }
                == XDSRejection(
                    resource: #"route_configuration "r1""#, field: "virtual_hosts[0].domains[0]",
                    reason: #""api.*": only a leading wildcard (*.example.com) or * is supported by skiff"#))
    }
}
