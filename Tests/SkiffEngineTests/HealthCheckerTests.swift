import Glibc
import SkiffConfig
import SkiffNet
import SkiffTestSupport
import SkiffUpstream
import Synchronization
import Testing

@testable import SkiffEngine

/// Transitions as the checker reports them, with the host's history at that moment.
final class TransitionLog: Sendable {
    struct Entry: Sendable {
        var host: String
        var up: Bool
        var reason: String
        var history: [HostHealth.CheckResult]
    }

    let entries = Mutex<[Entry]>([])

    var handler: HealthChecker.TransitionHandler {
        { [self] _, host, up, result in
            let history = host.health.snapshot.last
            entries.withLock {
                $0.append(Entry(host: host.description, up: up, reason: result.reason, history: history))
            }
        }
    }

    var all: [Entry] { entries.withLock { $0 } }
}

func healthCheck(
    _ proto: String, intervalMs: Int = 40, timeoutMs: Int = 500, healthy: Int = 1, unhealthy: Int = 1,
    jitterMs: Int = 0, unhealthyIntervalMs: Int? = nil, path: String? = nil
) -> HealthCheckConfig {
    HealthCheckConfig(
        protocolName: proto, timeout: .milliseconds(timeoutMs), interval: .milliseconds(intervalMs),
        intervalJitter: .milliseconds(jitterMs), unhealthyInterval: unhealthyIntervalMs.map { .milliseconds($0) },
        healthyThreshold: healthy, unhealthyThreshold: unhealthy, httpPath: path ?? (proto == "http1" ? "/health" : nil)
    )
}

func checkedCluster(_ name: String = "c", ports: [Int], check: HealthCheckConfig?) throws -> Cluster {
    try Cluster(
        config: ClusterConfig(
            name: name, healthCheck: check,
            hosts: ports.map { HostConfig(address: SocketAddressSpec(host: "127.0.0.1", port: $0)) }))
}

/// A port nothing listens on (bound, then closed).
func closedPort() throws -> Int {
    let fd = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)!, nonBlocking: false)
    let port = Socket.localAddress(fd)!.port
    close(fd)
    return port
}

func history(_ h: Host) -> [HostHealth.CheckResult] { h.health.snapshot.last }

@Suite struct HealthCheckerTests {
    /// TCP: UP with L4OK; the port closes: DOWN on exactly the 3rd `L4CON refused`; it opens again: UP on exactly
    /// the 2nd L4OK.
    @Test func tcpThresholdsAreExact() throws {
        var server = try EchoServer()
        let port = server.port
        let cluster = try checkedCluster(ports: [port], check: healthCheck("tcp", healthy: 2, unhealthy: 3))
        let host = cluster.hosts[0]
        let log = TransitionLog()
        let checker = HealthChecker(clusters: [cluster], onTransition: log.handler)
        try checker.start()
        defer { checker.stop() }

        #expect(waitUntil(seconds: 3) { history(host).filter(\.ok).count >= 2 })
        #expect(history(host).allSatisfy { $0.ok && $0.reason == "L4OK" })
        #expect(log.all.isEmpty)

        server.stop()
        #expect(waitUntil(seconds: 3) { log.all.count == 1 })
        let down = try #require(log.all.first)
        #expect(!down.up && down.reason == "L4CON refused")
        #expect(down.history.suffix(3).allSatisfy { !$0.ok && $0.reason == "L4CON refused" })
        #expect(down.history.dropLast(3).last?.ok == true, "DOWN came after exactly 3 failures")
        #expect(!host.health.isUp && !host.isAvailable)

        server = try EchoServer(port: port)
        defer { server.stop() }
        #expect(waitUntil(seconds: 3) { log.all.count == 2 })
        let up = try #require(log.all.last)
        #expect(up.up && up.reason == "L4OK")
        #expect(up.history.suffix(2).allSatisfy { $0.ok })
        #expect(up.history.dropLast(2).last?.ok == false, "UP came after exactly 2 successes")
        #expect(host.health.isUp && host.isAvailable)
        #expect(up.history.allSatisfy { $0.latencyNs > 0 && $0.at > 1_600_000_000_000 })
    }

    /// HTTP: 200 is L7OK; the backend switches to 503: L7STS 503 and DOWN; back to 200: UP. Garbage and silence
    /// on other hosts give L7RSP and L7TOUT.
    @Test func httpStatusesAndReasons() throws {
        let http = try HTTPTestServer(name: "web")
        defer { http.stop() }
        let garbage = try EchoServer(mode: .greet(Array("SSH-2.0-OpenSSH_9.6\r\n".utf8)))
        defer { garbage.stop() }
        let silent = try EchoServer(mode: .sink)
        defer { silent.stop() }
        let cluster = try checkedCluster(
            ports: [http.port, garbage.port, silent.port], check: healthCheck("http1", timeoutMs: 150))
        let (web, bad, mute) = (cluster.hosts[0], cluster.hosts[1], cluster.hosts[2])
        let log = TransitionLog()
        let checker = HealthChecker(clusters: [cluster], onTransition: log.handler)
        try checker.start()
        defer { checker.stop() }

        #expect(waitUntil(seconds: 3) { !history(web).isEmpty && !history(bad).isEmpty && !history(mute).isEmpty })
        #expect(history(web).first?.reason == "L7OK")
        #expect(history(bad).first?.reason == "L7RSP bad status line")
        #expect(history(mute).first?.reason == "L7TOUT")
        #expect(http.count(path: "/health") >= 1)

        http.switchedStatus.store(503, ordering: .relaxed)
        #expect(waitUntil(seconds: 3) { log.all.contains { $0.host == web.description && !$0.up } })
        #expect(log.all.first { $0.host == web.description }?.reason == "L7STS 503")
        http.switchedStatus.store(0, ordering: .relaxed)
        #expect(waitUntil(seconds: 3) { log.all.contains { $0.host == web.description && $0.up } })
        #expect(log.all.last { $0.host == web.description }?.reason == "L7OK")
    }

    /// Bolt: a heartbeat answered is L7OK; an answer that is not a heartbeat response is L7RSP bad heartbeat; no
    /// answer is L7TOUT.
    @Test func boltHeartbeat() throws {
        let bolt = try RPCTestServer(kind: .bolt, name: "b", responders: 1)
        defer { bolt.stop() }
        let garbage = try EchoServer(mode: .greet(Array("HTTP/1.1 200 OK\r\n\r\n".utf8)))
        defer { garbage.stop() }
        let silent = try EchoServer(mode: .sink)
        defer { silent.stop() }
        let cluster = try checkedCluster(
            ports: [bolt.port, garbage.port, silent.port], check: healthCheck("bolt", timeoutMs: 150))
        let checker = HealthChecker(clusters: [cluster], onTransition: { _, _, _, _ in })
        try checker.start()
        defer { checker.stop() }
        #expect(waitUntil(seconds: 3) { cluster.hosts.allSatisfy { history($0).count >= 2 } })
        #expect(history(cluster.hosts[0]).allSatisfy { $0.ok && $0.reason == "L7OK" })
        #expect(history(cluster.hosts[1]).first?.reason == "L7RSP bad heartbeat")
        #expect(history(cluster.hosts[2]).first?.reason == "L7TOUT")
        #expect(bolt.heartbeats.load(ordering: .relaxed) >= 2)
    }

    /// Dubbo: the heartbeat event is answered (L7OK); an echo of our own request is not an answer.
    @Test func dubboHeartbeat() throws {
        let dubbo = try RPCTestServer(kind: .dubbo, name: "d", responders: 1)
        defer { dubbo.stop() }
        let echo = try EchoServer()
        defer { echo.stop() }
        let cluster = try checkedCluster(ports: [dubbo.port, echo.port], check: healthCheck("dubbo", timeoutMs: 300))
        let checker = HealthChecker(clusters: [cluster], onTransition: { _, _, _, _ in })
        try checker.start()
        defer { checker.stop() }
        #expect(waitUntil(seconds: 3) { cluster.hosts.allSatisfy { history($0).count >= 2 } })
        #expect(history(cluster.hosts[0]).allSatisfy { $0.ok && $0.reason == "L7OK" })
        #expect(history(cluster.hosts[1]).first?.reason == "L7RSP bad heartbeat")
        #expect(dubbo.heartbeats.load(ordering: .relaxed) >= 2)
    }

    /// A listener whose accept queue is full drops SYNs: the connect never completes, L4TOUT.
    @Test func connectTimeoutIsL4TOUT() throws {
        let full = try Socket.listen(on: SocketAddress(ip: "127.0.0.1", port: 0)!, backlog: 0, nonBlocking: false)
        defer { close(full) }
        let port = Socket.localAddress(full)!.port
        var fillers: [TestSocket] = []
        if let s = try? TestSocket.connect(port: port, timeoutSeconds: 1) { fillers.append(s) }
        defer { for s in fillers { s.close() } }
        let cluster = try checkedCluster(ports: [port], check: healthCheck("tcp", intervalMs: 50, timeoutMs: 150))
        let checker = HealthChecker(clusters: [cluster], onTransition: { _, _, _, _ in })
        let start = MonotonicClock.now()
        try checker.start()
        defer { checker.stop() }
        #expect(waitUntil(seconds: 3) { !history(cluster.hosts[0]).isEmpty })
        let first = try #require(history(cluster.hosts[0]).first)
        #expect(first.reason == "L4TOUT" && !first.ok)
        #expect(first.latencyNs >= 120_000_000, "timed out after \(first.latencyNs / 1_000_000) ms")
        #expect(MonotonicClock.now() - start < 2_000_000_000)
    }

    /// With interval 100 ms ± 60 ms, first checks are spread over hosts and intervals vary.
    @Test func jitterSpreadsChecks() throws {
        let ports = try (0..<8).map { _ in try closedPort() }
        let cluster = try checkedCluster(ports: ports, check: healthCheck("tcp", intervalMs: 100, jitterMs: 60))
        let checker = HealthChecker(clusters: [cluster], onTransition: { _, _, _, _ in })
        try checker.start()
        defer { checker.stop() }
        #expect(waitUntil(seconds: 3) { cluster.hosts.allSatisfy { history($0).count >= 3 } })
        checker.stop()
        let firsts = cluster.hosts.map { history($0)[0].at }
        #expect(Set(firsts).count > 1, "first checks all at \(firsts)")
        #expect(firsts.max()! - firsts.min()! >= 5, "first checks within \(firsts.max()! - firsts.min()!) ms")
        let gaps = cluster.hosts.flatMap { h in zip(history(h).dropFirst(), history(h)).map { Int($0.at) - Int($1.at) }
        }
        // 100 ms ± 60 ms; a loaded machine may fire late, never early.
        #expect(gaps.allSatisfy { $0 >= 30 }, "gaps \(gaps)")
        #expect(gaps.filter { $0 <= 200 }.count * 4 >= gaps.count * 3, "gaps \(gaps)")
        #expect(Set(gaps).count > 3, "gaps \(gaps)")
    }

    /// While DOWN, checks come every unhealthy_interval instead of interval.
    @Test func unhealthyIntervalWhileDown() throws {
        let cluster = try checkedCluster(
            ports: [try closedPort()], check: healthCheck("tcp", intervalMs: 30, unhealthyIntervalMs: 250))
        let host = cluster.hosts[0]
        let checker = HealthChecker(clusters: [cluster], onTransition: { _, _, _, _ in })
        try checker.start()
        defer { checker.stop() }
        #expect(waitUntil(seconds: 3) { history(host).count >= 3 })
        let h = history(host)
        #expect(!host.health.isUp)
        #expect(h[2].at - h[1].at >= 200, "DOWN host checked after \(h[2].at - h[1].at) ms")
    }

    /// MAINT: no checks while in it (the schedule goes on); READY again: checks resume. stop() ends everything.
    @Test func maintSkipsChecksAndStopEndsThem() throws {
        let server = try EchoServer()
        defer { server.stop() }
        let cluster = try checkedCluster(ports: [server.port], check: healthCheck("tcp", intervalMs: 30))
        let host = cluster.hosts[0]
        host.adminState = .maint
        let unchecked = try checkedCluster("plain", ports: [1], check: nil)
        let checker = HealthChecker(clusters: [cluster, unchecked], onTransition: { _, _, _, _ in })
        #expect(checker.checkedHostCount == 1)
        #expect(checker.nextCheckMs(host) == nil)
        try checker.start()
        #expect(waitUntil(seconds: 2) { checker.nextCheckMs(host) != nil })
        let firstNext = try #require(checker.nextCheckMs(host))
        usleep(200_000)
        #expect(history(host).isEmpty)
        #expect(server.connections.load(ordering: .relaxed) == 0)
        let laterNext = try #require(checker.nextCheckMs(host))
        #expect(laterNext > firstNext)
        #expect(checker.nextCheckMs(unchecked.hosts[0]) == nil)

        host.adminState = .ready
        #expect(waitUntil(seconds: 2) { history(host).count >= 2 })
        checker.stop()
        #expect(checker.nextCheckMs(host) == nil)
        let count = history(host).count
        usleep(100_000)
        #expect(history(host).count == count)
        checker.stop()  // twice is fine
    }

    /// Clusters with outlier_detection are ticked by the checker's poller, so ejections end on time without a check.
    @Test func checkerTicksOutlierDetectors() throws {
        let cluster = try Cluster(
            config: ClusterConfig(
                name: "od",
                outlierDetection: OutlierDetectionConfig(
                    consecutiveErrors: 2, baseEjectionTime: .milliseconds(150), maxEjectionPercent: 50),
                hosts: [1, 2].map { HostConfig(address: SocketAddressSpec(host: "127.0.0.1", port: $0)) }))
        let od = try #require(cluster.outlier)
        let host = cluster.hosts[0]
        let checker = HealthChecker(clusters: [cluster], outlierTickInterval: .milliseconds(20)) { _, _, _, _ in }
        try checker.start()
        defer { checker.stop() }
        od.record(host: host, failure: true)
        od.record(host: host, failure: true)
        let ejected = MonotonicClock.now()
        #expect(host.health.isEjected)
        #expect(waitUntil(seconds: 2) { !host.health.isEjected })
        let after = (MonotonicClock.now() - ejected) / 1_000_000
        #expect(after >= 100 && after < 1000, "un-ejected after \(after) ms")
    }
}
