import Testing

@testable import SkiffTelemetry

/// A ring reserves its capacity at start but costs memory only as records fill it: the engine's 8 MiB frame ring and
/// 2 MiB event ring used to be zeroed page by page at start, 10 MiB of an idle process's 41 MiB RSS.
@Suite struct RingMemoryTests {
    @Test func anUnusedRingHoldsNoResidentPages() {
        let ring = FrameRing(capacityBytes: 16 << 20)
        #expect(ring.ring.residentBytes == 0)
    }

    @Test func pagesBecomeResidentAsRecordsFillThemAndNoFurther() {
        let ring = FrameRing(capacityBytes: 16 << 20)
        let record = [UInt8](repeating: 0x5a, count: 1000)
        for _ in 0..<1000 { ring.push(record) }
        // About 1 MiB of records (each 1,016 bytes with its header) and their slots: resident, and far from 16 MiB.
        let resident = ring.ring.residentBytes
        #expect(resident >= 1_000_000)
        #expect(resident < 2 << 20)
        var out: [UInt8] = []
        #expect(ring.read(after: 0, into: &out) == .frame(seq: 1, missed: 0))
        #expect(out == record)
    }
}
