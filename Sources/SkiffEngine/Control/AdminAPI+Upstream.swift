import SkiffControl
import SkiffNet
import SkiffUpstream

/// The per-cluster (`cluster` label) and per-host (`cluster`, `host` = `ip:port` as configured) families of
/// `/metrics`, as MOSN writes them: the cluster's own counters under the same names as the hosts' but without a
/// `host` label (select `{host=""}` or `{host!=""}`; never sum both). Host state is three gauges: `upstream_host_healthy`
/// (what the balancer reads: checks, ejection, the control plane's EDS health), `upstream_host_ejected` and
/// `upstream_host_admin_state{state}` (1 for the current state, 0 for the other two). Only cluster-level series of
/// counters the cluster owns are written: a sum over today's hosts would go down when a host is removed.
/// On the scraping thread; relaxed atomics, histogram snapshots and the hosts' small health mutex.
extension AdminAPI {
    static func upstreamFamilies(_ p: inout PrometheusWriter, _ engine: Engine, live: [String: [Connection]]) {
        for c in engine.clusters.clusters.values.sorted(by: { $0.name < $1.name }) {
            let cl: PrometheusWriter.Labels = [(name: "cluster", value: c.name)]
            let s = c.stats
            p.counter(
                name: "upstream_request_total",
                help: "Requests: per cluster each admitted once; per host each try sent to it.", labels: cl,
                value: s.requestTotal.load(ordering: .relaxed))
            p.gauge(
                name: "upstream_request_active",
                help: "Requests in flight: per cluster admitted and not finished; per host sent and not answered.",
                labels: cl, value: s.requestActive.load(ordering: .relaxed))
            p.gauge(
                name: "upstream_connection_active", help: "Connections open (per cluster: the max_connections count).",
                labels: cl, value: s.connectionActive.load(ordering: .relaxed))
            p.counter(
                name: "upstream_request_retry",
                help: "Retries: per cluster every retry sent; per host requests that failed there and were sent again.",
                labels: cl, value: s.retryTotal.load(ordering: .relaxed))
            p.counter(
                name: "upstream_request_retry_overflow", help: "Retries refused by max_retries.", labels: cl,
                value: s.overflowRetries.load(ordering: .relaxed))
            p.counter(
                name: "upstream_request_pending_overflow", help: "Requests refused by max_pending_requests.",
                labels: cl, value: s.overflowPending.load(ordering: .relaxed))
            p.counter(
                name: "upstream_overflow_max_connections_total", help: "Connections refused by max_connections.",
                labels: cl, value: s.overflowConnections.load(ordering: .relaxed))
            p.counter(
                name: "upstream_overflow_max_requests_total", help: "Requests refused by max_requests.", labels: cl,
                value: s.overflowRequests.load(ordering: .relaxed))
            p.counter(
                name: "upstream_request_no_healthy_host_total",
                help: "Requests answered with an error because no host could be picked.", labels: cl,
                value: s.noHealthyUpstream.load(ordering: .relaxed))
            if let subsets = c.subsets {
                p.counter(
                    name: "upstream_lb_subsets_fallback",
                    help: "Requests whose metadata_match named no subset: sent to the fallback, or failed (NO_FALLBACK).",
                    labels: cl, value: s.subsetFallback.load(ordering: .relaxed))
                p.gauge(
                    name: "upstream_lb_subsets_created", help: "Subsets the hosts form under lb_subset_config.",
                    labels: cl, value: subsets.count)
            }
            if c.config.dns != nil {
                p.counter(
                    name: "upstream_dns_resolution_total", help: "Host names asked of DNS (STRICT_DNS, LOGICAL_DNS, hostname hosts).",
                    labels: cl, value: s.dnsResolutions.load(ordering: .relaxed))
                p.counter(
                    name: "upstream_dns_resolution_failure_total",
                    help: "Host names asked without an answer (the last answer was kept).", labels: cl,
                    value: s.dnsFailures.load(ordering: .relaxed))
            }
            var writes = c.upstreamWrites.snapshot
            for conn in live[c.name] ?? [] where conn.direction == .outbound { writes = writes + conn.stats.snapshot }
            p.counter(
                name: "upstream_connection_bytes_read_total", help: "Bytes read from the cluster's hosts.", labels: cl,
                value: writes.bytesRead)
            p.counter(
                name: "upstream_connection_bytes_write", help: "Bytes written to the cluster's hosts.", labels: cl,
                value: writes.bytesWritten)
            if let check = c.config.healthCheck {
                let service = check.serviceName.flatMap { $0.isEmpty ? nil : $0 } ?? c.name
                let hl = cl + [(name: "service", value: service)]
                p.counter(
                    name: "healthcheck_attempt", help: "Active health checks run.", labels: hl,
                    value: s.healthCheckAttempts.load(ordering: .relaxed))
                p.counter(
                    name: "healthcheck_success", help: "Active health checks passed.", labels: hl,
                    value: s.healthCheckSuccesses.load(ordering: .relaxed))
                p.counter(
                    name: "healthcheck_failure", help: "Active health checks failed.", labels: hl,
                    value: s.healthCheckFailures.load(ordering: .relaxed))
            }
            for h in c.hosts { hostFamilies(&p, labels: cl + [(name: "host", value: h.description)], h) }
            writeFamilies(&p, labels: cl, writes)
        }
    }

    private static func hostFamilies(_ p: inout PrometheusWriter, labels: PrometheusWriter.Labels, _ h: Host) {
        let s = h.stats
        for (name, help, v) in [
            ("upstream_connection_total", "Connections opened.", s.connectionTotal.load(ordering: .relaxed)),
            ("upstream_connection_close", "Connections closed, by either side.", s.connectionClose.load(ordering: .relaxed)),
            ("upstream_connection_local_close", "Connections Skiff closed.", s.connectionLocalClose.load(ordering: .relaxed)),
            ("upstream_connection_remote_close", "Connections the host closed or reset.", s.connectionRemoteClose.load(ordering: .relaxed)),
            ("upstream_connection_con_fail", "Connects that failed.", s.connectionConFail.load(ordering: .relaxed)),
            ("upstream_request_timeout", "Requests that timed out.", s.requestTimeout.load(ordering: .relaxed)),
            ("upstream_request_local_reset", "Requests reset by Skiff.", s.requestLocalReset.load(ordering: .relaxed)),
            ("upstream_request_remote_reset", "Requests reset by the host.", s.requestRemoteReset.load(ordering: .relaxed)),
            ("upstream_response_success", "Responses below 500 (RPC: transport success).", s.responseSuccess.load(ordering: .relaxed)),
            ("upstream_response_failed", "Responses 500 and above.", s.responseFailed.load(ordering: .relaxed)),
        ] {
            p.counter(name: name, help: help, labels: labels, value: v)
        }
        p.counter(
            name: "upstream_request_total", help: "", labels: labels, value: s.requestTotal.load(ordering: .relaxed))
        p.gauge(
            name: "upstream_request_active", help: "", labels: labels, value: s.requestActive.load(ordering: .relaxed))
        p.gauge(
            name: "upstream_connection_active", help: "", labels: labels,
            value: s.connectionActive.load(ordering: .relaxed))
        p.counter(
            name: "upstream_request_retry", help: "", labels: labels, value: s.requestRetry.load(ordering: .relaxed))
        p.counter(
            name: "upstream_request_failure_eject", help: "Times outlier detection ejected the host.", labels: labels,
            value: h.health.ejections)
        p.gauge(
            name: "upstream_host_healthy",
            help: "1 while health lets the balancer pick the host (checks, ejection, control plane), else 0.",
            labels: labels, value: h.health.isHealthy ? 1 : 0)
        p.gauge(
            name: "upstream_host_ejected", help: "1 while outlier detection has the host ejected, else 0.",
            labels: labels, value: h.health.isEjected ? 1 : 0)
        let state = h.adminState
        for candidate in AdminState.allCases {
            p.gauge(
                name: "upstream_host_admin_state", help: "1 for the host's operator state (ready, drain, maint).",
                labels: labels + [(name: "state", value: candidate.description.lowercased())],
                value: candidate == state ? 1 : 0)
        }
        let snap = h.latency.snapshot()
        p.counter(
            name: "upstream_request_duration_time_total",
            help: "Request durations added up, in nanoseconds (MOSN's unit; the histogram's _sum in seconds).",
            labels: labels, value: snap.sum)
        latencyHistogram(
            &p, name: "upstream_request_duration_seconds", help: "Request sent to response complete.",
            labels: labels, snap)
    }
}
