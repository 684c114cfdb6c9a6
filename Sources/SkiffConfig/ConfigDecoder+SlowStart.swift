import SkiffJSON

/// A cluster's `slow_start`.
extension ConfigDecoder {
    /// `{"mode": "duration", "slow_start_duration": "30s", "aggression": 1.0, "min_weight_percent": 0.1}`. Where MOSN
    /// quietly turns slow start off (no mode, an unknown mode, a duration of 0) or replaces a value (an aggression or
    /// minimum of 0 or below), Skiff refuses the field: a ramp that silently does nothing is worse than none.
    mutating func slowStart(_ v: JSONValue, at path: String, lbType: LoadBalancerType) -> SlowStartConfig? {
        let schema = ObjectSchema(known: ["mode", "slow_start_duration", "aggression", "min_weight_percent"])
        guard let f = fields(v, at: path, schema) else { return nil }
        if let mode = requiredString(f, "mode"), mode != "duration" {
            fail(f.path("mode"), "unknown slow start mode \(quoted(mode)) (expected \"duration\", MOSN's only mode)")
        }
        if !f.has("slow_start_duration") { fail(f.path("slow_start_duration"), "required") }
        let duration = duration(f, "slow_start_duration", positive: true)
        let aggression = positiveNumber(f, "aggression", upTo: 100) ?? 1
        let minFraction = positiveNumber(f, "min_weight_percent", upTo: 1) ?? 0.1
        if !SlowStartConfig.balancers.contains(lbType) {
            let names = SlowStartConfig.balancers.map(\.rawValue).joined(separator: ", ")
            fail(path, "lb_type \(lbType.rawValue) ignores slow_start (it acts with \(names))")
        }
        guard let duration else { return nil }
        return SlowStartConfig(duration: duration, aggression: aggression, minFraction: minFraction)
    }

    /// A JSON number in `(0, upTo]`; `upTo` printed without a needless `.0`.
    mutating func positiveNumber(_ f: Fields, _ name: String, upTo limit: Double) -> Double? {
        guard let v = f[name] else { return nil }
        guard case .number(let text) = v, let n = Double(text) else {
            fail(f.path(name), "expected a number, got \(v.kindDescription)")
            return nil
        }
        guard n > 0 && n <= limit else {
            fail(f.path(name), "\(text) is out of range (above 0, at most \(limit.formatted))")
            return nil
        }
        return n
    }
}

extension Double {
    /// `1` for 1.0, `0.5` for 0.5: limits in messages as people write them.
    fileprivate var formatted: String { self == rounded() ? String(Int(self)) : String(self) }
}
