import SkiffTelemetry

/// The cluster panel (Enter on a cluster row): balancer, load, counters since start, circuit-breaker refusals, TLS,
/// latency and upstream writes. Pure; the console's thread.
extension DetailsPanel {
    static func clusterLines(_ name: String, _ snap: ConsoleSnapshot) -> [DetailLine] {
        guard let c = snap.latest?.clusters.first(where: { $0.name == name }) else {
            return [DetailLine(text: "cluster \(name) is not in the latest frame (removed by a reload?)", role: .warn)]
        }
        var out: [DetailLine] = []
        let available = c.hosts.filter(\.available).count
        out.append(
            DetailLine(
                text: "load balancer \(c.lb)   hosts \(c.hosts.count) (\(available) taking new requests)"
                    + (c.healthCheckService.map { "   health check service \($0)" } ?? ""),
                role: available == 0 && !c.hosts.isEmpty ? .bad : .normal))
        out.append(
            DetailLine(
                text: "active requests \(c.rqActive)   pending \(c.rqPending)   active connections \(c.cxActive)"))
        out.append(.blank)
        out.append(.heading("since start"))
        out.append(
            DetailLine(
                text: "requests \(c.rqTotal)   retries \(c.retries)   no healthy upstream \(c.noHealthyUpstream)   "
                    + "error replies by skiff \(c.localFailed)",
                role: c.noHealthyUpstream > 0 || c.localFailed > 0 ? .warn : .normal))
        let o = c.overflow
        out.append(
            DetailLine(
                text: "refused by circuit breakers: max_connections \(o.maxConnections)   max_pending_requests "
                    + "\(o.maxPendingRequests)   max_requests \(o.maxRequests)   max_retries \(o.maxRetries)",
                role: o.total > 0 ? .bad : .normal))
        if let subsets = c.subsets {
            out.append(
                DetailLine(
                    text: "subsets \(subsets) (metadata_match; no match falls back: \(c.subsetPolicy ?? "?"))   "
                        + "fallbacks since start \(c.subsetFallbacks ?? 0)",
                    role: (c.subsetFallbacks ?? 0) > 0 ? .warn : .normal))
        }
        if let asked = c.dnsResolutions {
            out.append(
                DetailLine(
                    text: "dns: names asked \(asked)   without an answer \(c.dnsFailures ?? 0) (the last answer is kept)",
                    role: (c.dnsFailures ?? 0) > 0 ? .warn : .normal))
        }
        out.append(.blank)
        out += endpointTLSLines(c.tls, plaintextWord: "upstream connections are plaintext", nowMs: snap.ts)
        out.append(.blank)
        out.append(.heading("latency since start (\(c.latency.count) requests)"))
        out += quantileBars(c.latency)
        out.append(.blank)
        out += writevLines(c.writes)
        return out
    }
}
