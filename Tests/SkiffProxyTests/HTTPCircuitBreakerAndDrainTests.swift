import Glibc
import SkiffNet
import SkiffTestSupport
import SkiffUpstream
import Testing

@testable import SkiffProxy

/// The cluster's circuit breakers and a host's drain, in-process on both thread models: what the client gets, which
/// counter moves, and that every exchange gives back what it held (the cluster's and listener's active gauges return
/// to zero), so a refused request never leaks a breaker slot.
@Suite(.serialized) struct HTTPCircuitBreakerAndDrainTests {
    /// Sends a request on a new connection without waiting for the answer.
    private func startRequest(_ port: Int, _ path: String) throws -> TestSocket {
        let s = try TestSocket.connect(port: port, timeoutSeconds: 5)
        try s.send("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
        return s
    }

    private func gaugesReturnToZero(_ h: HTTPHarness) -> Bool {
        let c = h.clusters["c"]!
        return waitUntil {
            c.stats.requestActive.load(ordering: .relaxed) == 0 && c.stats.requestPending.load(ordering: .relaxed) == 0
                && h.manager.stats.requestActive.load(ordering: .relaxed) == 0
                && c.hosts.allSatisfy { $0.stats.requestActive.load(ordering: .relaxed) == 0 }
        }
    }

    @Test(arguments: NetModel.allCases)
    func maxRequestsRefusesTheSecondAtOnceAndTheFirstCompletes(model: NetModel) throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let h = try HTTPHarness(
            model: model, backends: [backend.port], cluster: #","circuit_breakers":[{"max_requests":1}]"#)
        defer { h.stop() }
        let slow = try startRequest(h.port, "/slow/600")
        defer { slow.close() }
        #expect(waitUntil { h.clusters["c"]!.stats.requestActive.load(ordering: .relaxed) == 1 })
        let started = MonotonicClock.now()
        let s = try TestSocket.connect(port: h.port, timeoutSeconds: 5)
        defer { s.close() }
        let refused = try get(s, "/second")
        #expect(refused.hasPrefix("HTTP/1.1 503"), "\(refused)")
        #expect(refused.lowercased().contains("x-skiff-overflow: max_requests"), "\(refused)")
        #expect(MonotonicClock.now() - started < 400_000_000, "refused at once, not after the slow request")
        let first = try receiveResponse(slow)
        #expect(first.hasPrefix("HTTP/1.1 200"), "\(first)")
        #expect(h.clusters["c"]!.stats.overflowRequests.load(ordering: .relaxed) == 1)
        #expect(backend.requests.load(ordering: .relaxed) >= 1)
        #expect(gaugesReturnToZero(h))
        // The refused client's connection stays usable once the breaker has room.
        let again = try get(s, "/third")
        #expect(again.hasPrefix("HTTP/1.1 200"), "\(again)")
        #expect(gaugesReturnToZero(h))
    }

    @Test(arguments: NetModel.allCases)
    func maxConnectionsRefusesARequestThatNeedsAnotherConnection(model: NetModel) throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let h = try HTTPHarness(
            model: model, backends: [backend.port], cluster: #","circuit_breakers":[{"max_connections":1}]"#)
        defer { h.stop() }
        let slow = try startRequest(h.port, "/slow/600")
        defer { slow.close() }
        #expect(waitUntil { h.clusters["c"]!.stats.connectionActive.load(ordering: .relaxed) == 1 })
        let s = try TestSocket.connect(port: h.port, timeoutSeconds: 5)
        defer { s.close() }
        let refused = try get(s, "/second")
        #expect(refused.hasPrefix("HTTP/1.1 503"), "\(refused)")
        #expect(refused.lowercased().contains("x-skiff-overflow: max_connections"), "\(refused)")
        #expect(h.clusters["c"]!.stats.overflowConnections.load(ordering: .relaxed) == 1)
        #expect(backend.connections.load(ordering: .relaxed) == 1, "the refused request opened nothing")
        let first = try receiveResponse(slow)
        #expect(first.hasPrefix("HTTP/1.1 200"), "\(first)")
        #expect(gaugesReturnToZero(h))
        #expect(h.manager.stats.responses5xx.load(ordering: .relaxed) == 1)
    }

    /// `max_retries` bounds retries in flight at once: a retry holds its slot until its attempt ends. Request A's
    /// first try fails fast on the bad host and its retry waits on the slow good one; request B's retry, meanwhile,
    /// is refused with the overflow, without going out.
    @Test(arguments: NetModel.allCases)
    func maxRetriesBoundsRetriesInFlight(model: NetModel) throws {
        let bad = try HTTPTestServer(name: "bad", forcedStatus: 503)
        let good = try HTTPTestServer(name: "good")
        defer {
            bad.stop()
            good.stop()
        }
        let h = try HTTPHarness(
            model: model, backends: [bad.port, good.port],
            retry: #","retry_policy":{"retry_on":"5xx","num_retries":3}"#,
            cluster: #","circuit_breakers":[{"max_retries":1}]"#)
        defer { h.stop() }
        let c = h.clusters["c"]!
        let a = try startRequest(h.port, "/slow/600")
        defer { a.close() }
        #expect(waitUntil { c.stats.retriesActive.load(ordering: .relaxed) == 1 }, "A's retry holds its slot")
        let b = try TestSocket.connect(port: h.port, timeoutSeconds: 5)
        defer { b.close() }
        let refused = try get(b, "/slow/600")
        #expect(refused.hasPrefix("HTTP/1.1 503"), "\(refused)")
        #expect(refused.lowercased().contains("x-skiff-overflow: max_retries"), "\(refused)")
        #expect(c.stats.overflowRetries.load(ordering: .relaxed) == 1)
        let answered = try receiveResponse(a)
        #expect(answered.hasPrefix("HTTP/1.1 200") && answered.hasSuffix("good slow"), "\(answered)")
        #expect(good.requests.load(ordering: .relaxed) == 1, "B's retry never went out")
        #expect(waitUntil { c.stats.retriesActive.load(ordering: .relaxed) == 0 }, "the slot is given back")
        // With the slot free, B's next request is retried again.
        let later = try get(b, "/ok")
        #expect(later.hasSuffix("good /ok"), "\(later)")
        #expect(gaugesReturnToZero(h))
    }

    /// Drain: the in-flight request on the drained host completes; new requests go to the other host; the drained
    /// host's pooled connections close, so it ends with nothing at all ("safe to remove").
    @Test(arguments: NetModel.allCases)
    func drainedHostFinishesItsRequestTakesNoNewOnesAndEmpties(model: NetModel) throws {
        let one = try HTTPTestServer(name: "one")
        let two = try HTTPTestServer(name: "two")
        defer {
            one.stop()
            two.stop()
        }
        let h = try HTTPHarness(model: model, backends: [one.port, two.port])
        defer { h.stop() }
        let hostOne = h.clusters["c"]!.hosts[0]
        // Round robin starts on the first host: this request is in flight there when the drain starts.
        let inFlight = try startRequest(h.port, "/slow/500")
        defer { inFlight.close() }
        #expect(waitUntil { hostOne.stats.requestActive.load(ordering: .relaxed) == 1 })
        hostOne.adminState = .drain
        hostOne.drainPools()
        let s = try TestSocket.connect(port: h.port, timeoutSeconds: 5)
        defer { s.close() }
        for i in 0..<6 {
            let r = try get(s, "/n\(i)")
            #expect(r.hasSuffix("two /n\(i)"), "\(r)")
        }
        let answered = try receiveResponse(inFlight)
        #expect(answered.hasPrefix("HTTP/1.1 200") && answered.hasSuffix("one slow"), "the in-flight request completed")
        inFlight.close()
        // Its upstream connection went back to a draining pool: closed, not parked.
        #expect(waitUntil { hostOne.isDrained }, "host one still holds work or connections")
        #expect(one.requests.load(ordering: .relaxed) == 1)
        #expect(gaugesReturnToZero(h))
    }
}
