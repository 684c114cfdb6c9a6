/// Subset load balancing, MOSN's shape: a cluster's `lb_subset_config` names which host metadata keys form subsets,
/// a route's `metadata_match` picks one, and `fall_back_policy` says what happens when none matches.
///
/// Keys and values come from `metadata.filter_metadata["mosn.lb"]` (hosts) and `metadata_match.filter_metadata
/// ["mosn.lb"]` (routes); values are strings.
public struct LBSubsetConfig: Sendable, Equatable {
    /// What a request whose criteria match no subset gets.
    public enum FallBackPolicy: Int, Sendable, Equatable, CaseIterable {
        /// No host: the request fails as with no healthy upstream.
        case noFallback = 0
        /// Every host of the cluster.
        case anyEndpoint = 1
        /// The hosts matching all of `defaultSubset` (every host when it is empty).
        case defaultSubset = 2

        /// MOSN's and Envoy's name for it.
        public var name: String {
            switch self {
            case .noFallback: "NO_FALLBACK"
            case .anyEndpoint: "ANY_ENDPOINT"
            case .defaultSubset: "DEFAULT_SUBSET"
            }
        }
    }

    public var fallBackPolicy: FallBackPolicy
    /// Used with `.defaultSubset` only.
    public var defaultSubset: [String: String]
    /// Each selector's keys sorted, duplicate selectors removed, in config order. Never empty (an empty list turns
    /// subsets off, as in MOSN, and is decoded as no `LBSubsetConfig` at all).
    public var selectors: [[String]]

    public init(fallBackPolicy: FallBackPolicy = .noFallback, defaultSubset: [String: String] = [:], selectors: [[String]]) {
        self.fallBackPolicy = fallBackPolicy
        self.defaultSubset = defaultSubset
        self.selectors = selectors
    }

    /// Whether `criteria`'s keys are exactly one selector's (otherwise every request with them falls back).
    public func hasSelector(forKeys keys: some Collection<String>) -> Bool {
        let sorted = keys.sorted()
        return selectors.contains(sorted)
    }
}

extension HostConfig {
    /// The prefix of subset keys in the flattened `metadata` (`filter_metadata.mosn.lb.version` is key `version`).
    public static let subsetMetadataPrefix = "filter_metadata.mosn.lb."

    /// The host's subset keys and values: `metadata.filter_metadata["mosn.lb"]`.
    public var subsetMetadata: [String: String] {
        var out: [String: String] = [:]
        for (key, value) in metadata where key.hasPrefix(Self.subsetMetadataPrefix) {
            out[String(key.dropFirst(Self.subsetMetadataPrefix.count))] = value
        }
        return out
    }
}
