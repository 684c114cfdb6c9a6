import Testing

@testable import SkiffUpstream

/// Large clusters (EDS: thousands of hosts) get the stride sequence: built in O(sum · log sum), exact over a cycle,
/// and spread out (a host's picks are about sum/weight apart).
@Suite struct StrideSequenceTests {
    @Test func exactAndSpreadForAThousandHosts() {
        let weights = (0..<1000).map { 1 + $0 % 5 }
        let cycle = WeightCycle(weights: weights)
        let total = weights.reduce(0, +)
        #expect(cycle.order.count == total)
        var counts = [Int](repeating: 0, count: weights.count)
        var last = [Int](repeating: -1, count: weights.count)
        var worstGap = 0.0
        for (i, h) in cycle.order.enumerated() {
            counts[h] += 1
            if last[h] >= 0 { worstGap = max(worstGap, Double(i - last[h]) * Double(weights[h]) / Double(total)) }
            last[h] = i
        }
        #expect(counts == weights)
        // Consecutive picks of one host are never more than about two of its fair gaps apart.
        #expect(worstGap < 2.1, "\(worstGap)")
    }

    @Test func equalWeightsArePlainRoundRobin() {
        let cycle = WeightCycle(weights: [Int](repeating: 2, count: 100))
        #expect(cycle.order == Array(0..<100) + Array(0..<100))
    }

    @Test func smallClustersKeepNginxSequence() {
        #expect(WeightCycle(weights: [5, 1, 1]).order == [0, 0, 1, 0, 2, 0, 0])
    }
}
