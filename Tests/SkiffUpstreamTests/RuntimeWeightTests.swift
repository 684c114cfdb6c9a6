import SkiffConfig
import Synchronization
import Testing

@testable import SkiffUpstream

/// Weights set at run time (`Cluster.setWeight`, behind `host.set_weight`): the balancers take them for the next
/// picks, and 0 takes a host out of new picks under every balancer.
@Suite struct RuntimeWeightTests {
    func counts(_ c: Cluster, _ n: Int) -> [Int: Int] {
        var out: [Int: Int] = [:]
        for _ in 0..<n { out[c.pickHost()!.config.address.port, default: 0] += 1 }
        return out
    }

    @Test func weightedRoundRobinRebuildsItsCycle() throws {
        let c = try makeCluster(.weightedRoundRobin, weights: [1, 1])
        #expect(counts(c, 20) == [10000: 10, 10001: 10])
        c.setWeight(3, of: c.hosts[1])
        #expect(c.hosts[1].weight == 3)
        // Exact over every cycle of 4 picks from the change on (the index runs on; count whole cycles).
        let after = counts(c, 400)
        #expect(after == [10000: 100, 10001: 300], "\(after)")
    }

    @Test(arguments: [LoadBalancerType.weightedRoundRobin, .roundRobin, .random, .leastRequest, .leastConnection, .maglev])
    func weightZeroTakesNoNewPicks(lb: LoadBalancerType) throws {
        let c = try makeCluster(lb, weights: [1, 1, 1])
        c.setWeight(0, of: c.hosts[0])
        #expect(!c.hosts[0].isAvailable)
        let picks = counts(c, 300)
        #expect(picks[10000] == nil, "\(lb): \(picks)")
        #expect(picks.values.reduce(0, +) == 300)
        // Every host at 0: nowhere to go (the proxy answers "no healthy upstream").
        c.setWeight(0, of: c.hosts[1])
        c.setWeight(0, of: c.hosts[2])
        #expect(c.pickHost() == nil)
        c.setWeight(2, of: c.hosts[0])
        #expect(c.pickHost() === c.hosts[0])
    }

    /// Pickers on several tasks while the weights change under them (bounded loops, no task waits for another):
    /// every pick is a host, nothing traps, and the final weights hold once the changes stop.
    @Test func picksDuringChangesStaySafe() async throws {
        let c = try makeCluster(.weightedRoundRobin, weights: [1, 1, 1])
        await withTaskGroup(of: Int.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    var n = 0
                    for _ in 0..<200_000 where c.pickHost() != nil { n += 1 }
                    return n
                }
            }
            group.addTask {
                for i in 0..<2000 { c.setWeight(1 + i % 128, of: c.hosts[i % 3]) }
                return 0
            }
            var total = 0
            for await n in group { total += n }
            #expect(total == 400_000)
        }
        for (i, w) in [4, 2, 1].enumerated() { c.setWeight(w, of: c.hosts[i]) }
        #expect(counts(c, 700) == [10000: 400, 10001: 200, 10002: 100])
    }
}

/// Repeated weight changes keep a bounded number of replaced cycles, and a change to the same weight builds none.
@Suite struct WeightCycleRetentionTests {
    @Test func sameWeightsBuildNothing() throws {
        let c = try makeCluster(.weightedRoundRobin, weights: [1, 2])
        let b = WeightedRoundRobinBalancer(hosts: c.hosts)
        for _ in 0..<100 { b.weightsChanged() }
        #expect(b.retiredCycles == 0)
    }

    @Test func replacedCyclesAreFreedOnceOldAndOutnumbered() throws {
        let c = try makeCluster(.weightedRoundRobin, weights: [1, 1])
        // Retired at once (no grace period) so the bound shows without waiting.
        let b = WeightedRoundRobinBalancer(hosts: c.hosts, retireAfterNs: 0)
        for i in 0..<1000 {
            c.hosts[0].setWeight(1 + i % 100)
            b.weightsChanged()
        }
        #expect(b.retiredCycles <= WeightedRoundRobinBalancer.keepRetired, "\(b.retiredCycles) kept")
        #expect(b.cycle.filter { $0 == 0 }.count == 1 + 999 % 100, "the current cycle follows the last weights")
        // With the default grace period nothing replaced in the last 10 s is freed.
        let kept = WeightedRoundRobinBalancer(hosts: c.hosts)
        for i in 0..<40 {
            c.hosts[1].setWeight(2 + i)
            kept.weightsChanged()
        }
        #expect(kept.retiredCycles == 40)
    }
}
