import Glibc
import Synchronization
import Testing

@testable import SkiffTelemetry

@Suite("FrameRing under concurrency")
struct FrameRingStressTests {
    /// Frames for the stress tests: `[seq: 8][length: 4][check: 4][body]`.
    ///
    /// Frame `seq` carries body template `seq % 1021` (a prime, so frames a few apart never share a body) and
    /// `check = hash(body) ^ mix(seq)`. A frame stitched from two pushes fails either the check or the byte-for-byte
    /// body comparison. Bodies are pre-built so producing and verifying a frame is a `memcpy`/`memcmp`, fast enough in
    /// debug builds to push hundreds of thousands.
    struct Frames: Sendable {
        let bodies: [[UInt8]]
        let hashes: [UInt32]

        init(bodyLength: (Int) -> Int) {
            bodies = (0..<1021).map { template in
                (0..<bodyLength(template)).map { UInt8(truncatingIfNeeded: template &* 131 &+ $0 &* 7) }
            }
            hashes = bodies.map { fnv1a($0) }
        }

        static func mix(_ seq: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: (seq &* 0x9E37_79B9_7F4A_7C15) >> 32) }

        /// Writes frame `seq` into `frame`, reusing its storage.
        func build(_ seq: UInt64, into frame: inout [UInt8]) {
            let template = Int(seq % UInt64(bodies.count))
            frame.removeAll(keepingCapacity: true)
            withUnsafeBytes(of: seq.littleEndian) { frame.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt32(16 + bodies[template].count).littleEndian) { frame.append(contentsOf: $0) }
            withUnsafeBytes(of: (hashes[template] ^ Self.mix(seq)).littleEndian) { frame.append(contentsOf: $0) }
            frame.append(contentsOf: bodies[template])
        }

        /// Why `frame`, read as frame `seq`, is not what the producer pushed; nil if it is.
        func problem(_ frame: [UInt8], seq: UInt64) -> String? {
            guard frame.count >= 16 else { return "frame \(seq): only \(frame.count) bytes" }
            let template = Int(seq % UInt64(bodies.count))
            let (storedSeq, length, check) = frame.withUnsafeBytes { raw in
                (
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                    Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self))),
                    UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                )
            }
            if storedSeq != seq { return "frame \(seq) holds seq \(storedSeq)" }
            if length != frame.count || length != 16 + bodies[template].count {
                return "frame \(seq): \(frame.count) bytes, header says \(length)"
            }
            if check != hashes[template] ^ Self.mix(seq) { return "frame \(seq): torn header" }
            let same = frame.withUnsafeBytes { raw in
                bodies[template].withUnsafeBytes { memcmp(raw.baseAddress! + 16, $0.baseAddress!, $0.count) == 0 }
            }
            return same ? nil : "frame \(seq): torn body"
        }
    }

    final class Progress: Sendable {
        let producerDone = Atomic<Bool>(false)
        let framesSeen = Atomic<Int>(0)
    }

    @Test("1 producer, 4 readers, 200k frames: no torn frame, ordered sequences, exact missed counts")
    func producerAndReaders() {
        let total: UInt64 = 200_000
        let ring = FrameRing(capacityBytes: 32 * 1024)  // ~150 frames: readers get lapped constantly
        let frames = Frames { ($0 &* 37) % 384 }
        let findings = Findings()
        let progress = Progress()

        runThreads(5) { thread in
            if thread == 0 {
                var frame: [UInt8] = []
                for seq in 1...total {
                    frames.build(seq, into: &frame)
                    let pushed = ring.push(frame)
                    if pushed != seq { findings.report("push \(seq) returned \(pushed)") }
                }
                progress.producerDone.store(true, ordering: .releasing)
                return
            }
            // Readers start at different points: the beginning, or wherever the producer is.
            let start: UInt64 = thread % 2 == 0 ? 0 : ring.latestSeq
            var cursor = start
            var seen: UInt64 = 0
            var missed: UInt64 = 0
            var frame: [UInt8] = []
            while true {
                switch ring.read(after: cursor, into: &frame) {
                case .frame(let seq, let lost):
                    if seq != cursor + lost + 1 {
                        findings.report("reader \(thread): \(cursor) -> \(seq), missed \(lost)")
                    }
                    if let problem = frames.problem(frame, seq: seq) { findings.report("reader \(thread): \(problem)") }
                    seen += 1
                    missed += lost
                    cursor = seq
                case .none:
                    if progress.producerDone.load(ordering: .acquiring) && cursor == ring.latestSeq {
                        if seen + missed != total - start {
                            findings.report("reader \(thread): seen \(seen) + missed \(missed) != \(total - start)")
                        }
                        progress.framesSeen.wrappingAdd(Int(seen), ordering: .relaxed)
                        return
                    }
                    _ = ring.wait(after: cursor, timeoutNs: 1_000_000)
                }
            }
        }

        #expect(findings.all == [])
        #expect(ring.latestSeq == total)
        #expect(ring.usedBytes <= ring.capacityBytes)
        #expect(progress.framesSeen.load(ordering: .relaxed) > 0)
    }

    @Test("readers copying large frames while the producer laps them never return a torn frame")
    func lappedReaders() {
        // Two 1 KiB frames fit: every copy races with the producer overwriting it. The producer keeps going until
        // readers have been lapped mid-copy often enough to matter (fast in debug builds, longer when optimised).
        let ring = FrameRing(capacityBytes: 2 * (1024 + 16))
        let frames = Frames { _ in 1024 - 16 }
        let findings = Findings()
        let progress = Progress()

        runThreads(3) { thread in
            if thread == 0 {
                var frame: [UInt8] = []
                var seq: UInt64 = 0
                // Bounded by time, not a frame count: on a loaded 2-core machine the readers may run beside the
                // producer only now and then, and 2M frames could pass before one of them is lapped mid-copy.
                let deadline = ContinuousClock.now + .seconds(20)
                while seq < 20_000
                    || (ring.ring.lappedReads.load(ordering: .relaxed) < 200 && ContinuousClock.now < deadline)
                {
                    seq += 1
                    frames.build(seq, into: &frame)
                    ring.push(frame)
                }
                progress.producerDone.store(true, ordering: .releasing)
                return
            }
            var cursor: UInt64 = 0
            var frame: [UInt8] = []
            while !progress.producerDone.load(ordering: .acquiring) || cursor < ring.latestSeq {
                if case .frame(let seq, _) = ring.read(after: cursor, into: &frame) {
                    if seq <= cursor { findings.report("reader \(thread): went back from \(cursor) to \(seq)") }
                    if let problem = frames.problem(frame, seq: seq) { findings.report("reader \(thread): \(problem)") }
                    cursor = seq
                    progress.framesSeen.wrappingAdd(1, ordering: .relaxed)
                }
            }
        }
        #expect(findings.all == [])
        #expect(progress.framesSeen.load(ordering: .relaxed) > 0)
        #expect(ring.ring.lappedReads.load(ordering: .relaxed) > 0, "the race this test is about never happened")
    }
}
