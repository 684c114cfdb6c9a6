import SkiffConfig
import Testing

@testable import SkiffUpstream

/// Subset load balancing with MOSN's semantics (its reference example: hosts .1 prod/v1, .2 prod/v2, .3 canary/v2,
/// selectors [stage] and [stage, version]): criteria whose keys are exactly a selector's pick that subset; any other
/// key set, or values no host has, fall back by the cluster's policy; subsets keep unavailable hosts.
@Suite struct ClusterSubsetsTests {
    static let hosts: [(Int, [String: String])] = [
        (1, ["stage": "prod", "version": "v1"]), (2, ["stage": "prod", "version": "v2"]),
        (3, ["stage": "canary", "version": "v2"]), (4, [:]),
    ]

    func cluster(_ policy: LBSubsetConfig.FallBackPolicy, default subset: [String: String] = [:]) throws -> Cluster {
        var config = ClusterConfig(
            name: "svc",
            hosts: Self.hosts.map { n, metadata in
                HostConfig(
                    address: SocketAddressSpec(host: "10.0.0.\(n)", port: 8080),
                    metadata: Dictionary(uniqueKeysWithValues: metadata.map { ("filter_metadata.mosn.lb.\($0)", $1) }))
            })
        config.lbSubset = LBSubsetConfig(
            fallBackPolicy: policy, defaultSubset: subset, selectors: [["stage"], ["stage", "version"]])
        return try Cluster(config: config)
    }

    /// The last octets of the hosts `criteria` reach over 40 picks, and whether it was a fallback.
    func reach(_ c: Cluster, _ criteria: [String: String]?) -> (Set<Int>, fellBack: Bool)? {
        let before = c.stats.subsetFallback.load(ordering: .relaxed)
        guard let set = c.hostSet(for: c.choose(criteria)) else { return nil }
        var seen: Set<Int> = []
        for _ in 0..<40 {
            if let h = set.pickHost() { seen.insert(Int(h.config.address.host.split(separator: ".").last!)!) }
        }
        return (seen, c.stats.subsetFallback.load(ordering: .relaxed) == before + 1)
    }

    @Test func criteriaPickTheirSubset() throws {
        let c = try cluster(.defaultSubset, default: ["stage": "prod"])
        #expect(c.subsets?.count == 5)  // stage: prod, canary; stage+version: prod/v1, prod/v2, canary/v2
        #expect(reach(c, ["stage": "canary"])?.0 == [3])
        #expect(reach(c, ["version": "v2", "stage": "prod"])?.0 == [2])
        #expect(reach(c, ["stage": "prod"])?.0 == [1, 2])
        #expect(reach(c, ["stage": "prod"])?.fellBack == false)
        // No criteria: every host, the one without metadata included.
        #expect(reach(c, nil)?.0 == [1, 2, 3, 4])
    }

    @Test func anotherKeySetFallsBackToTheDefaultSubset() throws {
        let c = try cluster(.defaultSubset, default: ["stage": "prod"])
        // {version} is no selector's key set: the default subset (stage=prod), counted.
        let r = reach(c, ["version": "v1"])
        #expect(r?.0 == [1, 2])
        #expect(r?.fellBack == true)
        // Values no host has: the same.
        #expect(reach(c, ["stage": "staging"])?.0 == [1, 2])
        // Extra keys are no match either.
        #expect(reach(c, ["stage": "prod", "version": "v1", "zone": "a"])?.fellBack == true)
        #expect(c.stats.subsetFallback.load(ordering: .relaxed) == 3)
    }

    @Test func policiesDecideTheFallback() throws {
        let any = try cluster(.anyEndpoint)
        #expect(reach(any, ["version": "v1"])?.0 == [1, 2, 3, 4])
        let none = try cluster(.noFallback)
        #expect(reach(none, ["version": "v1"]) == nil)
        #expect(none.stats.subsetFallback.load(ordering: .relaxed) == 1)
        // DEFAULT_SUBSET with an empty default: every host.
        let all = try cluster(.defaultSubset)
        #expect(reach(all, ["version": "v1"])?.0 == [1, 2, 3, 4])
    }

    @Test func aMatchedSubsetWithNoAvailableHostDoesNotFallBack() throws {
        let c = try cluster(.anyEndpoint)
        c.setWeight(0, of: c.hosts[2])  // .3, the only canary
        let set = try #require(c.hostSet(for: c.choose(["stage": "canary"])))
        #expect(set.pickHost() == nil)
        #expect(c.stats.subsetFallback.load(ordering: .relaxed) == 0)
    }

    @Test func aSubsetBalancesWithTheClustersBalancer() throws {
        let c = try cluster(.noFallback)
        let set = try #require(c.hostSet(for: c.choose(["stage": "prod"])))
        var counts: [String: Int] = [:]
        for _ in 0..<100 { counts[set.pickHost()!.description, default: 0] += 1 }
        #expect(counts == ["10.0.0.1:8080": 50, "10.0.0.2:8080": 50])
    }
}
