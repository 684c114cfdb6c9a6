import SkiffConfig
import SkiffNet
import Testing

@testable import SkiffUpstream

/// Slow start with MOSN's formula: a ramping host counts with weight × max(min, (max(1 s, t) / window)^(1/aggression))
/// under the weighted balancers; hosts not ramping are picked exactly as without it.
@Suite struct SlowStartTests {
    @Test func theFactorFollowsMOSNsFormula() {
        let s: UInt64 = 1_000_000_000
        func f(_ t: UInt64, _ aggression: Double = 1, _ min: Double = 0.1) -> Double {
            SlowStartConfig.factor(elapsedNs: t, durationNs: 10 * s, aggression: aggression, minFraction: min)
        }
        #expect(f(0) == 0.1)  // max(1 s, 0) / 10 s
        #expect(f(0, 1, 0.05) == 0.1)
        #expect(f(0, 1, 0.3) == 0.3)  // the minimum share
        #expect(abs(f(5 * s) - 0.5) < 1e-9)
        #expect(abs(f(5 * s, 2) - 0.5.squareRoot()) < 1e-9)  // aggression 2: (t/window)^(1/2)
        #expect(f(10 * s) == 1)
        #expect(f(60 * s) == 1)
        let config = SlowStartConfig(duration: .seconds(10))
        #expect(config.factor(eligibleSinceNs: 0, now: 5 * s) == 1)  // never set: no ramp
        #expect(abs(config.factor(eligibleSinceNs: 1 * s, now: 6 * s) - 0.5) < 1e-9)
    }

    func cluster(_ lb: LoadBalancerType) throws -> Cluster {
        var config = ClusterConfig(
            name: "c", lbType: lb,
            hosts: (0..<2).map { HostConfig(address: SocketAddressSpec(host: "127.0.0.1", port: 10000 + $0)) })
        config.slowStart = SlowStartConfig(duration: .seconds(100), minFraction: 0.01)
        return try Cluster(config: config)
    }

    @Test func aRampingHostGetsItsShareUnderWeightedRoundRobin() throws {
        let c = try cluster(.weightedRoundRobin)
        // Both joined at start: they ramp together, so they share evenly.
        #expect(c.hosts.allSatisfy { $0.addedNs.load(ordering: .relaxed) > 0 })
        // Host 0 long eligible; host 1 joined 25 s into a 100 s ramp: a quarter of its weight.
        let now = MonotonicClock.now()
        c.hosts[0].addedNs.store(1, ordering: .relaxed)
        c.hosts[1].addedNs.store(now - 25_000_000_000, ordering: .relaxed)
        #expect(abs(c.rampFactor(of: c.hosts[1]) - 0.25) < 0.01)
        #expect(c.rampFactor(of: c.hosts[0]) == 1)
        // Let the balancer's 100 ms rescan see it, then count.
        let rampNoticed = MonotonicClock.now() + SlowStartRamp.scanEveryNs + 1_000_000
        while MonotonicClock.now() < rampNoticed { _ = c.pickHost() }
        var picks = [0, 0]
        for _ in 0..<20_000 { picks[c.pickHost()!.config.address.port - 10000] += 1 }
        let share = Double(picks[1]) / 20_000
        #expect(share > 0.17 && share < 0.23, "\(picks): expected 0.25 / 1.25 = 0.2")
    }

    @Test func leastRequestPrefersTheFullWeightHostWhileOneRamps() throws {
        let c = try cluster(.leastRequest)
        c.hosts[0].addedNs.store(1, ordering: .relaxed)
        c.hosts[1].addedNs.store(MonotonicClock.now(), ordering: .relaxed)  // 1% of its weight now
        let rampNoticed = MonotonicClock.now() + SlowStartRamp.scanEveryNs + 1_000_000
        while MonotonicClock.now() < rampNoticed { _ = c.pickHost() }
        var picks = [0, 0]
        for _ in 0..<2_000 { picks[c.pickHost()!.config.address.port - 10000] += 1 }
        // Idle hosts: of two random choices the full-weight one wins whenever both are drawn.
        #expect(picks[0] > picks[1] * 2, "\(picks)")
    }

    @Test func aHostBackFromFailingChecksRampsAgain() throws {
        let c = try cluster(.weightedRoundRobin)
        let h = c.hosts[1]
        h.addedNs.store(1, ordering: .relaxed)
        #expect(c.rampFactor(of: h) == 1)
        h.health.record(HostHealth.CheckResult(ok: false, reason: "L4CON refused", latencyNs: 1, at: 0))
        h.health.record(HostHealth.CheckResult(ok: true, reason: "L4OK", latencyNs: 1, at: 0))
        #expect(c.rampFactor(of: h) < 0.05)
    }
}
