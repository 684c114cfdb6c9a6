import SkiffConfig

/// `weighted_clusters`: clusters with relative weights, and the per-request pick.
public struct WeightedClusters: Sendable {
    public let names: [String]
    public let weights: [Int]
    /// Sum of the weights (each 1...100 after validation, so never 0 for a validated config).
    public let totalWeight: UInt64
    /// Running sums: cluster i takes the random residues in `cumulative[i-1] ..< cumulative[i]`.
    private let cumulative: [UInt64]

    public init(_ clusters: [WeightedClusterConfig]) {
        names = clusters.map(\.name)
        weights = clusters.map(\.weight)
        var sum: UInt64 = 0
        var cumulative: [UInt64] = []
        for c in clusters {
            sum += UInt64(max(c.weight, 0))
            cumulative.append(sum)
        }
        self.cumulative = cumulative
        totalWeight = sum
    }

    /// `(name, weight)` pairs in config order (allocates; for admin and tests).
    public var clusters: [(name: String, weight: Int)] { Array(zip(names, weights)) }

    /// The index of the cluster for `random` (any 64-bit value, e.g. from a per-thread generator): residue
    /// `random % totalWeight` falls into one cluster's share. Over `random` in `0..<totalWeight` each cluster is picked
    /// exactly `weight` times. The modulo bias is below 100 in 2^64.
    public func pickIndex(random: UInt64) -> Int {
        guard totalWeight > 0 else { return 0 }
        let r = random % totalWeight
        var i = 0
        while i < cumulative.count - 1 && r >= cumulative[i] { i += 1 }
        return i
    }

    /// The name of the cluster for `random`; see `pickIndex(random:)`.
    public func pickCluster(random: UInt64) -> String { names[pickIndex(random: random)] }
}
