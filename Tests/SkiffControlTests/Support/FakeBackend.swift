import SkiffJSON
import SkiffSystem
import Synchronization

@testable import SkiffControl

/// A backend that records what it is asked and answers `{"cmd":"<cmd>"}` unless told otherwise.
final class FakeBackend: ControlBackend {
    struct Call: Sendable {
        var request: ControlRequest
        var peer: PeerCredentials
    }

    private let calls = Mutex<[Call]>([])
    private let subscriptions = Mutex<[FakeSubscription]>([])
    private let sinces = Mutex<[UInt64?]>([])
    let answer: @Sendable (ControlRequest) -> ControlResult
    let makeSubscription: @Sendable () -> FakeSubscription

    init(
        answer: @escaping @Sendable (ControlRequest) -> ControlResult = { request in
            .ok([JSONMember(key: "cmd", value: .string(request.cmd))])
        },
        subscription: @escaping @Sendable () -> FakeSubscription = { FakeSubscription(lines: []) }
    ) {
        self.answer = answer
        self.makeSubscription = subscription
    }

    func handle(_ request: ControlRequest, peer: PeerCredentials) -> ControlResult {
        calls.withLock { $0.append(Call(request: request, peer: peer)) }
        return answer(request)
    }

    func subscribe(since: UInt64?) -> any ControlSubscription {
        sinces.withLock { $0.append(since) }
        let s = makeSubscription()
        subscriptions.withLock { $0.append(s) }
        return s
    }

    var recorded: [Call] { calls.withLock { $0 } }
    var subscribedSince: [UInt64?] { sinces.withLock { $0 } }
    var allSubscriptions: [FakeSubscription] { subscriptions.withLock { $0 } }
}

/// Hands out queued lines once, or (with `flood`) `flood` lines of `lineBytes` bytes on every call.
final class FakeSubscription: ControlSubscription, Sendable {
    private let queued: Mutex<[[UInt8]]>
    private let flood: Int
    private let floodLine: [UInt8]
    private let cancelled = Atomic<Bool>(false)
    private let nextCalls = Atomic<Int>(0)

    init(lines: [String], flood: Int = 0, lineBytes: Int = 16 * 1024) {
        queued = Mutex(lines.map { Array($0.utf8) })
        self.flood = flood
        let filler = String(repeating: "x", count: max(0, lineBytes - 12))
        floodLine = Array("{\"pad\":\"\(filler)\"}".utf8)
    }

    func next(timeoutNs: UInt64) -> [[UInt8]] {
        nextCalls.add(1, ordering: .relaxed)
        precondition(!isCancelled, "next() after cancel()")
        let lines = queued.withLock { q -> [[UInt8]] in
            defer { q.removeAll() }
            return q
        }
        if !lines.isEmpty { return lines }
        if flood > 0 { return Array(repeating: floodLine, count: flood) }
        MonotonicClock.sleep(ns: min(timeoutNs, 10_000_000))
        return []
    }

    func cancel() {
        let (exchanged, _) = cancelled.compareExchange(expected: false, desired: true, ordering: .relaxed)
        precondition(exchanged, "cancel() called twice")
    }

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    var calls: Int { nextCalls.load(ordering: .relaxed) }
}
