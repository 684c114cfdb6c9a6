import Glibc
import SkiffTestSupport
import Synchronization
import Testing

@testable import SkiffNet

/// netpoll deals accepted connections to other pollers; the listener's `max_connections` slot is taken by the
/// poller that accepts, before the handoff, so a burst never passes the limit (it reached 10-13 of 4 when the slot
/// was counted only once the target poller adopted the connection).
@Suite struct PollerHandoffLimitTests {
    @Test func aBurstDealtOverFourPollersStaysWithinMaxConnections() throws {
        let group = try NetPollGroup(name: "cap4", count: 4)
        defer { group.shutdown() }
        let echo = EchoHandler()
        let o = ListenerOptions(name: "cap", address: SocketAddress(ip: "127.0.0.1", port: 0)!, maxConnections: 4)
        let l = try group.listen(o, delegate: echo)
        defer { group.stopListening(l) }
        // A sampler watching the gauge while 64 clients connect at once.
        let watch = PeakWatch()
        try NetThread.start(name: "peak", stackSize: 256 * 1024) {
            while !watch.done.load(ordering: .relaxed) {
                let now = l.stats.active.load(ordering: .relaxed)
                if now > watch.peak.load(ordering: .relaxed) { watch.peak.store(now, ordering: .relaxed) }
                usleep(50)
            }
        }
        var clients: [TestSocket] = []
        for _ in 0..<64 { if let s = try? TestSocket.connect(port: l.address.port, timeoutSeconds: 2) { clients.append(s) } }
        #expect(waitUntil {
            l.stats.active.load(ordering: .relaxed) + Int(l.stats.refusedOverLimit.load(ordering: .relaxed)) >= clients.count
        })
        usleep(100_000)
        watch.done.store(true, ordering: .relaxed)
        #expect(watch.peak.load(ordering: .relaxed) <= 4, "active reached \(watch.peak.load(ordering: .relaxed)) of 4")
        #expect(l.stats.active.load(ordering: .relaxed) == 4)
        #expect(l.stats.refusedOverLimit.load(ordering: .relaxed) == UInt64(clients.count - 4))
        for s in clients { s.close() }
        #expect(waitUntil { l.stats.active.load(ordering: .relaxed) == 0 }, "every slot given back")
    }
}

private final class PeakWatch: Sendable {
    let peak = Atomic<Int>(0)
    let done = Atomic<Bool>(false)
}
