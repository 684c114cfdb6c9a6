import Synchronization
import Testing

@testable import SkiffTelemetry

/// A histogram allocates its 16 KiB of counters on its first value (an EDS cluster of thousands of hosts costs
/// nothing per unused host), and threads racing to record first lose no value.
@Suite struct LatencyHistogramStorageTests {
    @Test func unusedUntilTheFirstValue() {
        let h = LatencyHistogram()
        #expect(h.isUnused && h.count == 0 && h.snapshot().count == 0)
        h.record(ns: 1_500)
        #expect(!h.isUnused && h.count == 1 && h.snapshot().quantile(0.5) > 0)
    }

    @Test func racingFirstRecordsKeepEveryValue() async {
        for _ in 0..<20 {
            let h = LatencyHistogram()
            await withTaskGroup(of: Void.self) { g in
                for t in 0..<4 { g.addTask { for i in 0..<250 { h.record(ns: UInt64(1000 + t * 250 + i)) } } }
            }
            #expect(h.count == 1000)
        }
    }
}
