import SkiffConfig
import Synchronization
import Testing

@testable import SkiffUpstream

/// A wall clock the test moves by hand.
private final class FakeClock: Sendable {
    let ms = Atomic<UInt64>(1_700_000_000_000)
    func advance(_ d: UInt64) { ms.wrappingAdd(d, ordering: .relaxed) }
    var now: UInt64 { ms.load(ordering: .relaxed) }
}

private func detector(
    hosts n: Int, errors: Int = 3, base: Duration = .seconds(1), max: Duration = .milliseconds(2500),
    percent: Int = 100, clock: FakeClock = FakeClock()
) throws -> (Cluster, OutlierDetector) {
    let config = OutlierDetectionConfig(
        consecutiveErrors: errors, baseEjectionTime: base, maxEjectionTime: max, maxEjectionPercent: percent)
    let cluster = try Cluster(
        config: ClusterConfig(
            name: "c", outlierDetection: config,
            hosts: (0..<n).map { HostConfig(address: SocketAddressSpec(host: "127.0.0.1", port: 20000 + $0)) }))
    return (cluster, OutlierDetector(config: config, hosts: cluster.hosts, clock: { clock.now }))
}

@Suite struct OutlierDetectorTests {
    @Test func clusterBuildsItsDetectorFromConfig() throws {
        let (cluster, _) = try detector(hosts: 2)
        #expect(cluster.outlier?.config.consecutiveErrors == 3)
        let plain = try Cluster(
            config: ClusterConfig(
                name: "p", hosts: [HostConfig(address: SocketAddressSpec(host: "127.0.0.1", port: 1))]))
        #expect(plain.outlier == nil)
    }

    @Test func consecutiveErrorsEject() throws {
        let (cluster, od) = try detector(hosts: 4, errors: 3)
        let h = cluster.hosts[0]
        od.record(host: h, failure: true)
        od.record(host: h, failure: true)
        #expect(!h.health.isEjected)
        od.record(host: h, failure: true)
        #expect(h.health.isEjected)
        #expect(!h.health.isHealthy && !h.isAvailable)
        #expect(od.ejectedCount == 1)
        #expect(od.ejectionsTotal.load(ordering: .relaxed) == 1)
    }

    @Test func successResetsTheCount() throws {
        let (cluster, od) = try detector(hosts: 4, errors: 3)
        let h = cluster.hosts[1]
        for failure in [true, true, false, true, true] { od.record(host: h, failure: failure) }
        #expect(!h.health.isEjected)
        #expect(h.stats.consecutiveFailures.load(ordering: .relaxed) == 2)
        od.record(host: h, failure: true)
        #expect(h.health.isEjected)
    }

    /// 10 hosts at 20%: however many fail, at most 2 are ejected at once; the refusals are counted.
    @Test func ejectionNeverExceedsMaxPercent() throws {
        let (cluster, od) = try detector(hosts: 10, errors: 2, percent: 20)
        #expect(od.maxEjectedHosts == 2)
        for _ in 0..<5 {
            for h in cluster.hosts { od.record(host: h, failure: true) }
        }
        #expect(cluster.hosts.filter(\.health.isEjected).count == 2)
        #expect(od.ejectedCount == 2)
        #expect(od.ejectionsOverflow.load(ordering: .relaxed) > 0)
    }

    /// 10% of 5 hosts is no host: nothing is ejected (Envoy would eject one; we refuse to start an avalanche).
    @Test func percentRoundingToZeroEjectsNone() throws {
        let (cluster, od) = try detector(hosts: 5, errors: 1, percent: 10)
        #expect(od.maxEjectedHosts == 0)
        for h in cluster.hosts { od.record(host: h, failure: true) }
        #expect(cluster.hosts.allSatisfy { !$0.health.isEjected })
    }

    /// base × times ejected, capped at max: 1 s, 2 s, then 2.5 s.
    @Test func ejectionTimeGrowsWithRepeatedEjections() throws {
        let clock = FakeClock()
        let (cluster, od) = try detector(hosts: 2, errors: 1, clock: clock)
        let h = cluster.hosts[0]
        var lengths: [UInt64] = []
        for _ in 0..<3 {
            let start = clock.now
            od.record(host: h, failure: true)
            #expect(h.health.isEjected)
            let until = h.health.snapshot.ejectedUntilMs
            lengths.append(until - start)
            #expect(od.nextUnEjectMs == until)
            clock.advance(until - start)
            od.tick(nowMs: clock.now)
            #expect(!h.health.isEjected)
        }
        #expect(lengths == [1000, 2000, 2500])
        #expect(h.health.ejections == 3)
    }

    @Test func tickUnEjectsOnlyExpiredHosts() throws {
        let clock = FakeClock()
        let (cluster, od) = try detector(hosts: 4, errors: 1, base: .seconds(1), max: .seconds(10), clock: clock)
        let (a, b) = (cluster.hosts[0], cluster.hosts[1])
        od.record(host: a, failure: true)
        clock.advance(500)
        od.record(host: b, failure: true)
        let aUntil = a.health.snapshot.ejectedUntilMs
        od.tick(nowMs: aUntil - 1)
        #expect(a.health.isEjected && b.health.isEjected)
        od.tick(nowMs: aUntil)
        #expect(!a.health.isEjected && a.health.isHealthy)
        #expect(b.health.isEjected)
        #expect(od.ejectedCount == 1)
        #expect(a.stats.consecutiveFailures.load(ordering: .relaxed) == 0)
        od.tick(nowMs: aUntil + 500)
        #expect(!b.health.isEjected)
        #expect(od.ejectedCount == 0 && od.nextUnEjectMs == nil)
    }

    /// Failures on an already-ejected host (requests that were in flight) do not extend or repeat its ejection.
    @Test func failuresWhileEjectedDoNotReEject() throws {
        let (cluster, od) = try detector(hosts: 2, errors: 2)
        let h = cluster.hosts[0]
        for _ in 0..<2 { od.record(host: h, failure: true) }
        let until = h.health.snapshot.ejectedUntilMs
        for _ in 0..<10 { od.record(host: h, failure: true) }
        #expect(h.health.snapshot.ejectedUntilMs == until)
        #expect(h.health.ejections == 1)
    }
}
