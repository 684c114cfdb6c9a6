import Synchronization
import Testing

@testable import SkiffTelemetry

@Suite("EventRing")
struct EventRingTests {
    static let producers = 4
    static let perProducer: UInt64 = 50_000

    /// Event: [producer: 8][index: 8][checksum: 4][padding to a producer-dependent size].
    static func event(producer: Int, index: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: UInt8(producer), count: 20 + producer * 5)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(producer), toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: index, toByteOffset: 8, as: UInt64.self)
            let check = UInt32(truncatingIfNeeded: index &* 2_654_435_761) ^ UInt32(producer)
            raw.storeBytes(of: check, toByteOffset: 16, as: UInt32.self)
        }
        return bytes
    }

    /// (producer, index), or nil if the bytes are not an intact event.
    static func decode(_ bytes: [UInt8]) -> (Int, UInt64)? {
        guard bytes.count >= 20 else { return nil }
        let (producer, index, check) = bytes.withUnsafeBytes { raw in
            (
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
            )
        }
        guard producer < UInt64(producers), bytes.count == 20 + Int(producer) * 5,
            check == UInt32(truncatingIfNeeded: index &* 2_654_435_761) ^ UInt32(producer),
            bytes[20...].allSatisfy({ $0 == UInt8(producer) })
        else { return nil }
        return (Int(producer), index)
    }

    final class Done: Sendable {
        let producersDone = Atomic<Int>(0)
    }

    final class Totals: Sendable { let value = Mutex<[(UInt64, UInt64)]>([]) }

    /// Runs 4 producers x 50k events and `readers` concurrent readers that check each producer's order;
    /// returns each reader's (seen, missed).
    static func run(_ ring: EventRing, readers: Int, findings: Findings) -> [(UInt64, UInt64)] {
        let collected = Totals()
        let done = Done()
        let total = UInt64(producers) * perProducer
        runThreads(producers + readers) { thread in
            if thread < producers {
                for index in 0..<perProducer {
                    if ring.push(event(producer: thread, index: index)) == 0 { findings.report("push refused") }
                }
                done.producersDone.wrappingAdd(1, ordering: .releasing)
                return
            }
            var cursor: UInt64 = 0
            var seen: UInt64 = 0
            var missed: UInt64 = 0
            var next = [UInt64](repeating: 0, count: producers)  // lowest index each producer may show next
            var event: [UInt8] = []
            while true {
                switch ring.read(after: cursor, into: &event) {
                case .frame(let seq, let lost):
                    if seq != cursor + lost + 1 { findings.report("reader: \(cursor) -> \(seq) with \(lost) missed") }
                    guard let (producer, index) = decode(event) else {
                        findings.report("event \(seq) is torn")
                        return
                    }
                    if index < next[producer] {
                        findings.report("producer \(producer): \(index) after \(next[producer] - 1)")
                    }
                    next[producer] = index + 1
                    seen += 1
                    missed += lost
                    cursor = seq
                case .none:
                    if done.producersDone.load(ordering: .acquiring) == producers && cursor == ring.latestSeq {
                        if seen + missed != total { findings.report("seen \(seen) + missed \(missed) != \(total)") }
                        collected.value.withLock { $0.append((seen, missed)) }
                        return
                    }
                    _ = ring.wait(after: cursor, timeoutNs: 1_000_000)
                }
            }
        }
        return collected.value.withLock { $0 }
    }

    @Test("4 producers x 50k events into a small ring: per-producer order, seen + missed adds up")
    func concurrentProducersSmallRing() {
        let ring = EventRing(capacityBytes: 16 * 1024)
        let findings = Findings()
        let totals = Self.run(ring, readers: 2, findings: findings)
        #expect(findings.all == [])
        #expect(ring.latestSeq == UInt64(Self.producers) * Self.perProducer)
        #expect(totals.count == 2)
        for (seen, missed) in totals { #expect(seen + missed == 200_000) }
    }

    @Test("4 producers x 50k events into a ring that holds them all: nothing lost, every producer complete")
    func concurrentProducersNoLoss() {
        let ring = EventRing(capacityBytes: 16 << 20)
        let findings = Findings()
        _ = Self.run(ring, readers: 1, findings: findings)
        #expect(findings.all == [])
        #expect(ring.count == 200_000)
        #expect(ring.oldestSeq == 1)
        // Read back afterwards: each producer's events appear exactly once, in order.
        var next = [UInt64](repeating: 0, count: Self.producers)
        var cursor: UInt64 = 0
        var event: [UInt8] = []
        var missedTotal: UInt64 = 0
        while case .frame(let seq, let missed) = ring.read(after: cursor, into: &event) {
            missedTotal += missed
            cursor = seq
            guard let (producer, index) = Self.decode(event) else {
                Issue.record("event \(seq) is torn")
                return
            }
            if index != next[producer] {
                Issue.record("producer \(producer): expected \(next[producer]), got \(index)")
                return
            }
            next[producer] += 1
        }
        #expect(missedTotal == 0)
        #expect(next == [UInt64](repeating: Self.perProducer, count: Self.producers))
    }

    @Test("single-threaded semantics match FrameRing: overwrite, missed, rejection, wait")
    func semantics() {
        let ring = EventRing(capacityBytes: 1200)
        for index in 1...100 { ring.push([UInt8](repeating: UInt8(index), count: 100)) }
        var event: [UInt8] = []
        #expect(ring.read(after: 0, into: &event) == .frame(seq: 91, missed: 90))
        #expect(event == [UInt8](repeating: 91, count: 100))
        #expect(ring.read(after: 100, into: &event) == .none)
        #expect(ring.push([UInt8](repeating: 0, count: 601)) == 0)
        #expect(ring.rejected == 1)
        #expect(ring.count == 10)
        #expect(ring.usedBytes == 1200)
        #expect(ring.capacityBytes == 1200)
        #expect(ring.wait(after: 99, timeoutNs: 0))
        #expect(!ring.wait(after: 100, timeoutNs: 1_000_000))
    }
}
