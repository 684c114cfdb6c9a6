import Testing

@testable import SkiffConfig

/// `lb_subset_config` and `metadata_match` as MOSN writes them, and what Skiff refuses: fields it would not act on,
/// and shapes MOSN would misread.
@Suite struct SubsetConfigTests {
    static let subsetCluster = Fixture.cluster(
        "c1",
        extra: #","lb_subset_config":{"fall_back_policy":2,"default_subset":{"stage":"prod"},"subset_selectors":[["stage"],["version","stage"],["stage","version"]]}"#,
        hosts: #"[{"address":"127.0.0.1:8080","metadata":{"filter_metadata":{"mosn.lb":{"stage":"prod","version":"v1"}}}}]"#)

    static func route(_ matchMetadata: String, cluster: String = "c1") -> String {
        #"{"match":{"prefix":"/"},"route":{"cluster_name":"\#(cluster)","metadata_match":{"filter_metadata":{"mosn.lb":\#(matchMetadata)}}}}"#
    }

    static func config(routes: [String], clusters: [String] = [subsetCluster]) -> String {
        Fixture.config(
            listeners: [Fixture.proxyListener()], routers: [Fixture.router(routes: routes)],
            clusters: clusters + [Fixture.cluster("c2", hosts: #"[{"address":"127.0.0.1:8081"}]"#)])
    }

    @Test func mosnShapesDecode() throws {
        let config = try #require(decodeValid(Self.config(routes: [Self.route(#"{"stage":"prod"}"#)])))
        let subsets = try #require(config.clusters[0].lbSubset)
        #expect(subsets.fallBackPolicy == .defaultSubset)
        #expect(subsets.defaultSubset == ["stage": "prod"])
        // Keys sorted, the duplicate selector dropped.
        #expect(subsets.selectors == [["stage"], ["stage", "version"]])
        #expect(config.clusters[0].hosts[0].subsetMetadata == ["stage": "prod", "version": "v1"])
        guard case .route(let target) = config.servers[0].routers[0].virtualHosts[0].routes[0].action else {
            Issue.record("not a route")
            return
        }
        #expect(target.metadataMatch == ["stage": "prod"])
        #expect(config.warnings.isEmpty, "\(config.warnings)")
    }

    @Test func weightedEntriesReplaceTheRoutesCriteria() throws {
        let weighted = #"{"match":{"prefix":"/"},"route":{"metadata_match":{"filter_metadata":{"mosn.lb":{"stage":"prod"}}},"weighted_clusters":[{"cluster":{"name":"c1","weight":50,"metadata_match":{"filter_metadata":{"mosn.lb":{"stage":"canary"}}}}},{"cluster":{"name":"c1b","weight":50}}]}}"#
        let c1b = Self.subsetCluster.replacingOccurrences(of: #""name":"c1""#, with: #""name":"c1b""#)
        let config = try #require(decodeValid(Self.config(routes: [weighted], clusters: [Self.subsetCluster, c1b])))
        guard case .route(let target) = config.servers[0].routers[0].virtualHosts[0].routes[0].action else { return }
        #expect(target.weightedClusters.map(\.metadataMatch) == [["stage": "canary"], ["stage": "prod"]])
    }

    @Test func enumNamesAreAcceptedForThePolicy() throws {
        let c = Fixture.cluster(
            "c1", extra: #","lb_subset_config":{"fall_back_policy":"ANY_ENDPOINT","subset_selectors":[["stage"]]}"#)
        let config = try #require(decodeValid(Self.config(routes: [Fixture.prefixRoute], clusters: [c])))
        #expect(config.clusters[0].lbSubset?.fallBackPolicy == .anyEndpoint)
    }

    @Test func anEmptyBlockTurnsNothingOn() throws {
        let c = Fixture.cluster("c1", extra: #","lb_subset_config":{}"#)
        let config = try #require(decodeValid(Self.config(routes: [Fixture.prefixRoute], clusters: [c])))
        #expect(config.clusters[0].lbSubset == nil)
    }

    @Test func criteriaThatNameNoSelectorWarn() throws {
        let config = try #require(decodeValid(Self.config(routes: [Self.route(#"{"version":"v1"}"#)])))
        #expect(config.warnings.map(\.description).contains { $0.contains("keys [version] are no subset selector") })
    }

    static let refusals: [(String, String)] = [
        // metadata_match on a cluster without subsets would be ignored.
        (config(routes: [route(#"{"stage":"prod"}"#, cluster: "c2")]), "routers[0].route.metadata_match: cluster \"c2\" has no lb_subset_config"),
        // Values must be strings (MOSN drops others silently).
        (config(routes: [route(#"{"stage":1}"#)]), "metadata_match.filter_metadata.mosn.lb.stage: expected a string"),
        (config(routes: [route("{}")]), "mosn.lb: empty"),
        (config(routes: [#"{"match":{"prefix":"/"},"route":{"cluster_name":"c1","metadata_match":{"filter_metadata":{"envoy.lb":{"a":"b"}}}}}"#]),
         "metadata_match.filter_metadata: unknown field \"envoy.lb\""),
        (config(routes: [Fixture.prefixRoute], clusters: [Fixture.cluster("c1", extra: #","lb_subset_config":{"fall_back_policy":3,"subset_selectors":[["a"]]}"#)]),
         "lb_subset_config.fall_back_policy"),
        (config(routes: [Fixture.prefixRoute], clusters: [Fixture.cluster("c1", extra: #","lb_subset_config":{"fall_back_policy":0,"default_subset":{"a":"b"},"subset_selectors":[["a"]]}"#)]),
         "lb_subset_config.default_subset: used only with fall_back_policy 2"),
        (config(routes: [Fixture.prefixRoute], clusters: [Fixture.cluster("c1", extra: #","lb_subset_config":{"fall_back_policy":1,"subset_selectors":[]}"#)]),
         "lb_subset_config.subset_selectors: no selectors"),
        (config(routes: [Fixture.prefixRoute], clusters: [Fixture.cluster("c1", extra: #","lb_subset_config":{"subset_selectors":[["a","a"]]}"#)]),
         "subset_selectors[0][1]: duplicate key \"a\""),
        (config(routes: [Fixture.prefixRoute], clusters: [Fixture.cluster("c1", extra: #","lb_subset_config":{"subset_selectors":[[]]}"#)]),
         "subset_selectors[0]: a selector needs at least one key"),
    ]

    @Test(arguments: refusals.indices)
    func refusedWithTheirPath(_ i: Int) {
        let (json, expected) = Self.refusals[i]
        let errors = errorLines(json)
        #expect(errors.contains { $0.contains(expected) }, "\(errors)")
    }
}

