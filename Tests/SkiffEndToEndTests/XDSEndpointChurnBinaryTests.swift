import Glibc
import SkiffJSON
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// EDS changes applied like a hot reload (issue 17): keep-alive clients on the xDS listener while service-a's
/// endpoints move between the backends, and no request fails.
@Suite(.serialized) struct XDSEndpointChurnBinaryTests {
    /// service-a's endpoints in each pushed version: which backends, with their load_balancing_weight.
    static let phases: [(name: String, hosts: [(String, Int)])] = [
        ("moved to b", [("B", 1)]),
        ("a and b", [("A", 1), ("B", 1)]),
        ("back to a", [("A", 1)]),
        ("a 1 : b 4", [("A", 1), ("B", 4)]),
        ("b only", [("B", 1)]),
    ]

    /// basic.json's line of service-a's endpoints replaced by `hosts` (`A`/`B`: backend a or b).
    static func endpointsLine(_ hosts: [(String, Int)]) -> String {
        let list = hosts.map { host, weight in
            "{\"endpoint\": {\"address\": {\"socket_address\": {\"address\": \"127.0.0.1\", \"port_value\": "
                + "\"${BACKEND_\(host)_PORT}\"}}}, \"load_balancing_weight\": \(weight)}"
        }
        return "{\"lb_endpoints\": [" + list.joined(separator: ", ") + "]}"
    }

    /// Six keep-alive clients send GET /x (route `/` → service-a) through five EDS versions: every response is a 200,
    /// and each version's backends get the load (a backend left out gets none, weights show in the split).
    @Test func endpointChangesUnderKeepAliveLoadFailNothing() throws {
        let rig = try XDSRig()
        defer { rig.stop() }
        #expect(waitUntil(seconds: 30) { rig.get("/x") == "a /x 200" }, "\(rig.diagnostics)")
        let v1 = rig.fixtureText
        let line = Self.endpointsLine([("A", 1)]).replacing(", \"load_balancing_weight\": 1", with: "")
        #expect(v1.contains(line), "basic.json's service-a endpoints line changed")

        let clients = (0..<6).map { _ in LoadClient() }
        let port = rig.listenerPort
        for c in clients { try NetThread.start(name: "load", stackSize: 1 << 20) { c.run(port: port, path: "/x") } }
        defer {
            for c in clients { c.stop.store(true, ordering: .relaxed) }
            _ = waitUntil(seconds: 10) { clients.allSatisfy { $0.finished.load(ordering: .relaxed) } }
        }
        #expect(waitUntil(seconds: 5) { clients.allSatisfy { $0.ok.load(ordering: .relaxed) > 10 } })

        /// Requests each backend took in `ms` milliseconds.
        func split(ms: UInt32 = 300) -> (a: Int, b: Int) {
            let a0 = rig.a.requests.load(ordering: .relaxed)
            let b0 = rig.b.requests.load(ordering: .relaxed)
            usleep(ms * 1000)
            return (rig.a.requests.load(ordering: .relaxed) - a0, rig.b.requests.load(ordering: .relaxed) - b0)
        }

        let started = ContinuousClock.now
        var report: [String] = []
        for (i, phase) in Self.phases.enumerated() {
            let version = "\(i + 2)"
            let text = v1.replacing("\"version\": \"1\"", with: "\"version\": \"\(version)\"")
                .replacing(line, with: Self.endpointsLine(phase.hosts))
            try rig.push(text)
            #expect(waitUntil(seconds: 5) { rig.acked("endpoints") == version }, "\(phase.name): \(rig.diagnostics)")
            let usesA = phase.hosts.contains { $0.0 == "A" }
            let usesB = phase.hosts.contains { $0.0 == "B" }
            var last = (a: 0, b: 0)
            let followed = waitUntil(seconds: 5) {
                last = split()
                guard (last.a > 0) == usesA && (last.b > 0) == usesB else { return false }
                if phase.hosts.count == 2, let wb = phase.hosts.last?.1, wb > 1 { return last.b >= 2 * last.a }
                return true
            }
            #expect(followed, "\(phase.name): a \(last.a), b \(last.b) in 300 ms")
            report.append("\(phase.name): a \(last.a) b \(last.b)")
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(15), "five EDS versions took \(elapsed)")

        for c in clients { c.stop.store(true, ordering: .relaxed) }
        #expect(waitUntil(seconds: 10) { clients.allSatisfy { $0.finished.load(ordering: .relaxed) } })
        let ok = clients.reduce(0) { $0 + $1.ok.load(ordering: .relaxed) }
        let errors = clients.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }
        let first = clients.compactMap { c in c.firstError.withLock { $0 } }.first ?? ""
        #expect(errors == 0, "\(errors) failed of \(ok + errors); first: \(first)\n\(rig.diagnostics)")
        #expect(rig.type("EDS")?["version"]?.stringValue == "\(Self.phases.count + 1)")
        print("xds eds churn: \(ok) requests, \(errors) errors, \(Self.phases.count) versions in \(elapsed); "
            + report.joined(separator: "; "))
    }
}
