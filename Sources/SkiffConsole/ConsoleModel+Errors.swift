import SkiffTelemetry

/// Per-second rates of failed and answered requests between two frames: keyed `listener2xx:NAME`,
/// `listener4xx:NAME`, `listener5xx:NAME` (every answer, Skiff's own replies included), `clusterErr:NAME` and
/// `hostErr:CLUSTER/ADDRESS` (the hosts' 5xx plus Skiff's error replies for them). Pure; the model calls it per frame.
enum ErrorRates {
    static func between(_ frame: TelemetryFrame, _ prev: TelemetryFrame, seconds dt: Double) -> [String: Double] {
        var rates: [String: Double] = [:]
        func rate(_ now: UInt64?, _ before: UInt64?) -> Double? {
            guard let now else { return nil }
            let before = before ?? 0
            return now >= before ? Double(now - before) / dt : 0
        }
        var prevListeners: [String: TelemetryFrame.Listener] = [:]
        for l in prev.listeners { prevListeners[l.name] = l }
        for l in frame.listeners {
            let p = prevListeners[l.name]
            rates["listener2xx:\(l.name)"] = rate(l.answered2xx, p?.answered2xx)
            rates["listener4xx:\(l.name)"] = rate(l.answered4xx, p?.answered4xx)
            rates["listener5xx:\(l.name)"] = rate(l.answered5xx, p?.answered5xx)
        }
        var prevClusters: [String: TelemetryFrame.Cluster] = [:]
        for c in prev.clusters { prevClusters[c.name] = c }
        for c in frame.clusters {
            let p = prevClusters[c.name]
            rates["clusterErr:\(c.name)"] = rate(c.errors, p?.errors)
            for h in c.hosts {
                rates["hostErr:\(c.name)/\(h.address)"] = rate(h.errors, p?.host(h.address)?.errors)
            }
        }
        return rates
    }
}
