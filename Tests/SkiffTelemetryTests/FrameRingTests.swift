import Glibc
import Synchronization
import Testing

@testable import SkiffTelemetry

@Suite("FrameRing")
struct FrameRingTests {
    /// A frame whose bytes are a function of its index, so any mix-up shows.
    static func pattern(_ index: Int, size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &* 7 &+ 1) }
    }

    @Test("frames come back in order, then .none")
    func pushAndRead() {
        let ring = FrameRing(capacityBytes: 4096)
        #expect(ring.latestSeq == 0)
        #expect(ring.oldestSeq == 0)
        #expect(ring.count == 0)
        var frame: [UInt8] = [9, 9, 9]
        #expect(ring.read(after: 0, into: &frame) == .none)
        #expect(frame == [9, 9, 9])

        for index in 1...5 {
            #expect(ring.push(Array("frame-\(index)".utf8)) == UInt64(index))
        }
        #expect(ring.latestSeq == 5)
        #expect(ring.oldestSeq == 1)
        #expect(ring.count == 5)
        #expect(ring.usedBytes == 5 * 24)
        #expect(ring.capacityBytes == 4096)

        var cursor: UInt64 = 0
        for index in 1...5 {
            #expect(ring.read(after: cursor, into: &frame) == .frame(seq: UInt64(index), missed: 0))
            #expect(String(decoding: frame, as: UTF8.self) == "frame-\(index)")
            cursor = UInt64(index)
        }
        #expect(ring.read(after: cursor, into: &frame) == .none)
        #expect(ring.read(after: 99, into: &frame) == .none)
        #expect(ring.read(after: 2, into: &frame) == .frame(seq: 3, missed: 0))
    }

    @Test("overwriting the oldest reports exactly how many frames a reader missed")
    func overwriteCountsMissed() {
        // 100-byte frames take 16 + 104 = 120 bytes: exactly 10 fit in 1200.
        let ring = FrameRing(capacityBytes: 1200)
        for index in 1...100 {
            #expect(ring.push(Self.pattern(index, size: 100)) == UInt64(index))
        }
        #expect(ring.count == 10)
        #expect(ring.oldestSeq == 91)
        #expect(ring.latestSeq == 100)
        #expect(ring.usedBytes == 1200)

        var frame: [UInt8] = []
        #expect(ring.read(after: 0, into: &frame) == .frame(seq: 91, missed: 90))
        #expect(frame == Self.pattern(91, size: 100))
        #expect(ring.read(after: 50, into: &frame) == .frame(seq: 91, missed: 40))
        #expect(ring.read(after: 90, into: &frame) == .frame(seq: 91, missed: 0))
        #expect(ring.read(after: 95, into: &frame) == .frame(seq: 96, missed: 0))
        #expect(frame == Self.pattern(96, size: 100))

        // One 200-byte frame (216 bytes with header) evicts two.
        #expect(ring.push(Self.pattern(101, size: 200)) == 101)
        #expect(ring.oldestSeq == 93)
        #expect(ring.read(after: 91, into: &frame) == .frame(seq: 93, missed: 1))
    }

    @Test("frames of every size wrap around the end of the buffer intact")
    func wrapAround() {
        let ring = FrameRing(capacityBytes: 1000)  // 125 words: wrap points drift through every alignment
        var frame: [UInt8] = []
        var follower: UInt64 = 0
        for index in 1...2_000 {
            let size = (index &* 37) % 301  // 0...300 bytes, every residue mod 8
            let sent = Self.pattern(index, size: size)
            #expect(ring.push(sent) == UInt64(index))
            #expect(ring.read(after: UInt64(index - 1), into: &frame) == .frame(seq: UInt64(index), missed: 0))
            #expect(frame == sent)
            #expect(ring.usedBytes <= 1000)
            // A reader following every third push sees every retained frame, exactly once.
            if index % 3 == 0 {
                while case .frame(let seq, let missed) = ring.read(after: follower, into: &frame) {
                    #expect(seq == follower + missed + 1)
                    #expect(frame == Self.pattern(Int(seq), size: (Int(seq) &* 37) % 301))
                    follower = seq
                }
                #expect(follower == UInt64(index))
            }
        }
        // Everything retained is still intact.
        var cursor: UInt64 = 0
        var retained = 0
        while case .frame(let seq, _) = ring.read(after: cursor, into: &frame) {
            #expect(frame == Self.pattern(Int(seq), size: (Int(seq) &* 37) % 301))
            cursor = seq
            retained += 1
        }
        #expect(retained == ring.count)
        #expect(cursor == 2_000)
    }

    @Test("frames larger than half the capacity are rejected and counted")
    func rejectsOversizeFrames() {
        let ring = FrameRing(capacityBytes: 1024)
        #expect(ring.push([UInt8](repeating: 1, count: 513)) == 0)
        #expect(ring.rejected == 1)
        #expect(ring.latestSeq == 0)
        #expect(ring.push([UInt8](repeating: 2, count: 512)) == 1)
        #expect(ring.push([]) == 2)
        var frame: [UInt8] = [1]
        #expect(ring.read(after: 1, into: &frame) == .frame(seq: 2, missed: 0))
        #expect(frame.isEmpty)
        #expect(ring.rejected == 1)
    }

    @Test("maxFrames bounds the retained frames regardless of bytes")
    func maxFramesBound() {
        let ring = FrameRing(capacityBytes: 65_536, maxFrames: 16)
        for index in 1...100 { ring.push([UInt8(index)]) }
        #expect(ring.count == 16)
        #expect(ring.oldestSeq == 85)
        var frame: [UInt8] = []
        #expect(ring.read(after: 0, into: &frame) == .frame(seq: 85, missed: 84))
        #expect(frame == [85])
    }

    @Test("wait returns at once when a newer frame exists, wakes on push, and times out otherwise")
    func waitForFrames() {
        let ring = FrameRing(capacityBytes: 4096)
        ring.push([1])
        #expect(ring.wait(after: 0, timeoutNs: 0))

        let start = monotonicNanoseconds()
        #expect(!ring.wait(after: 1, timeoutNs: 50_000_000))
        let waited = monotonicNanoseconds() - start
        #expect(waited >= 50_000_000)
        #expect(waited < 2_000_000_000)

        final class Outcome: Sendable {
            let woke = Mutex<(Bool, UInt64)>((false, 0))
        }
        let outcome = Outcome()
        let waitStart = monotonicNanoseconds()
        runThreads(2) { thread in
            if thread == 0 {
                let result = ring.wait(after: 1, timeoutNs: 10_000_000_000)
                outcome.woke.withLock { $0 = (result, monotonicNanoseconds() - waitStart) }
            } else {
                usleep(50_000)
                ring.push([2])
            }
        }
        let (result, elapsed) = outcome.woke.withLock { $0 }
        #expect(result)
        #expect(elapsed >= 40_000_000)
        #expect(elapsed < 5_000_000_000)
    }

    @Test("the capacity must hold at least 64 bytes")
    func tinyCapacityTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = FrameRing(capacityBytes: 8)
        }
    }
}
