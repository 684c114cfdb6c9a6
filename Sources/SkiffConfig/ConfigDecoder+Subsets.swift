import SkiffJSON

/// `lb_subset_config` on clusters and `metadata_match` on routes (subset load balancing, MOSN's shapes).
extension ConfigDecoder {
    /// `{"fall_back_policy": 0|1|2, "default_subset": {...}, "subset_selectors": [["k"], ["k", "k2"]]}`. MOSN takes
    /// the policy as a number; Envoy's names are accepted too. nil when the block turns nothing on (no selectors).
    mutating func lbSubsetConfig(_ v: JSONValue, at path: String) -> LBSubsetConfig? {
        let schema = ObjectSchema(known: ["fall_back_policy", "default_subset", "subset_selectors"])
        guard let f = fields(v, at: path, schema) else { return nil }
        var policy = LBSubsetConfig.FallBackPolicy.noFallback
        if let p = f["fall_back_policy"] {
            let names = LBSubsetConfig.FallBackPolicy.allCases
            let expected = names.map { "\($0.rawValue) (\($0.name))" }.joined(separator: ", ")
            switch p {
            case .number:
                if let n = int(p, at: f.path("fall_back_policy"), 0...2) { policy = names[n] }
            case .string(let s):
                if let hit = names.first(where: { $0.name == s.uppercased() }) {
                    policy = hit
                } else {
                    fail(f.path("fall_back_policy"), "unknown fall-back policy \(quoted(s)) (expected \(expected))")
                }
            default:
                fail(f.path("fall_back_policy"), "expected one of \(expected), got \(p.kindDescription)")
            }
        }
        let defaultSubset = f["default_subset"].map { stringMap($0, at: f.path("default_subset")) } ?? [:]
        if f.has("default_subset") && policy != .defaultSubset && !defaultSubset.isEmpty {
            fail(
                f.path("default_subset"),
                "used only with fall_back_policy 2 (DEFAULT_SUBSET); this cluster's is \(policy.rawValue) "
                    + "(\(policy.name)): remove it or change the policy")
        }
        var selectors: [[String]] = []
        for item in array(f, "subset_selectors") ?? [] {
            guard let keys = array(item.value, at: item.path) else { continue }
            var selector: [String] = []
            for k in keys {
                guard let key = string(k.value, at: k.path) else { continue }
                if key.isEmpty {
                    fail(k.path, "must not be empty")
                } else if selector.contains(key) {
                    fail(k.path, "duplicate key \(quoted(key)) in this selector")
                } else {
                    selector.append(key)
                }
            }
            if keys.isEmpty { fail(item.path, "a selector needs at least one key") }
            selector.sort()
            if !selector.isEmpty && !selectors.contains(selector) { selectors.append(selector) }
        }
        guard !selectors.isEmpty else {
            if f.has("fall_back_policy") || !defaultSubset.isEmpty {
                fail(
                    f.path("subset_selectors"),
                    "no selectors: subsets are off and the fall-back policy would never apply; add selectors or "
                        + "remove lb_subset_config")
            }
            return nil
        }
        return LBSubsetConfig(fallBackPolicy: policy, defaultSubset: defaultSubset, selectors: selectors)
    }

    /// `{"filter_metadata": {"mosn.lb": {"key": "value"}}}` (a route's or weighted cluster's `metadata_match`): the
    /// `mosn.lb` map. Other filter names are refused: nothing in Skiff would read them.
    mutating func metadataMatch(_ v: JSONValue, at path: String) -> [String: String]? {
        guard let f = fields(v, at: path, ObjectSchema(known: ["filter_metadata"])) else { return nil }
        guard let fm = f["filter_metadata"] else {
            fail(f.path("filter_metadata"), "required")
            return nil
        }
        guard let lb = fields(fm, at: f.path("filter_metadata"), ObjectSchema(known: ["mosn.lb"])) else { return nil }
        guard let criteria = lb["mosn.lb"] else {
            fail(lb.path("mosn.lb"), "required")
            return nil
        }
        let map = stringMap(criteria, at: lb.path("mosn.lb"))
        if map.isEmpty {
            fail(lb.path("mosn.lb"), "empty: a route without criteria uses every host; remove metadata_match")
            return nil
        }
        return map
    }

    /// An object whose members are all non-empty strings.
    mutating func stringMap(_ v: JSONValue, at path: String) -> [String: String] {
        guard case .object(let members) = v else {
            fail(path, "expected an object of strings, got \(v.kindDescription)")
            return [:]
        }
        var out: [String: String] = [:]
        for m in members {
            let memberPath = ConfigPath.field(path, m.key)
            guard case .string(let s) = m.value else {
                fail(memberPath, "expected a string, got \(m.value.kindDescription)")
                continue
            }
            if out[m.key] != nil { fail(memberPath, "duplicate key \(quoted(m.key))") }
            out[m.key] = s
        }
        return out
    }

    /// A route's `metadata_match` needs its cluster to have subsets; criteria whose keys are no selector's fall back
    /// on every request, which is legal (MOSN's own examples do it) but worth a warning.
    mutating func checkMetadataMatch(
        _ criteria: [String: String], cluster: ClusterConfig?, named name: String, at path: String
    ) {
        guard let cluster else { return }  // an unknown cluster is reported by checkCluster
        guard let subsets = cluster.lbSubset else {
            fail(
                path,
                "cluster \(quoted(name)) has no lb_subset_config.subset_selectors: metadata_match would be ignored")
            return
        }
        if !subsets.hasSelector(forKeys: criteria.keys) {
            let keys = criteria.keys.sorted().joined(separator: ", ")
            warn(
                path,
                "keys [\(keys)] are no subset selector of cluster \(quoted(name)): every request falls back "
                    + "(fall_back_policy \(subsets.fallBackPolicy.rawValue), \(subsets.fallBackPolicy.name))")
        }
    }
}
