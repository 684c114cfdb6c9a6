import SkiffConfig
import SkiffXDSProto

/// A cluster's health check (one) into `HealthCheckConfig`, as the MOSN JSON decoder makes one: HTTP (`http1`, path,
/// Host, expected statuses) or TCP (connect only: no send or receive payloads). `timeout`, `interval`,
/// `unhealthy_threshold` and `healthy_threshold` are required, as in Envoy. Any thread.
struct HealthCheckTranslation {
    typealias HealthCheck = Envoy_Config_Core_V3_HealthCheck

    let context: XDSContext

    init(_ context: XDSContext) { self.context = context }

    func healthCheck(_ h: HealthCheck, at path: String) throws(XDSRejection) -> HealthCheckConfig {
        try context.checkUnknown(h, at: path)
        guard h.hasTimeout else { throw context.reject(path.dot("timeout"), "required") }
        guard h.hasInterval else { throw context.reject(path.dot("interval"), "required") }
        guard h.hasUnhealthyThreshold else { throw context.reject(path.dot("unhealthy_threshold"), "required") }
        guard h.hasHealthyThreshold else { throw context.reject(path.dot("healthy_threshold"), "required") }
        var check = HealthCheckConfig(
            protocolName: "tcp",
            timeout: try context.positiveDuration(h.timeout, at: path.dot("timeout")),
            interval: try context.positiveDuration(h.interval, at: path.dot("interval")),
            healthyThreshold: try context.uint32(
                true, h.healthyThreshold, in: SkiffLimits.int32, at: path.dot("healthy_threshold"), absent: 1),
            unhealthyThreshold: try context.uint32(
                true, h.unhealthyThreshold, in: SkiffLimits.int32, at: path.dot("unhealthy_threshold"), absent: 1))
        if h.hasIntervalJitter {
            check.intervalJitter = try context.duration(h.intervalJitter, at: path.dot("interval_jitter"))
        }
        if h.hasUnhealthyInterval {
            check.unhealthyInterval = try context.positiveDuration(
                h.unhealthyInterval, at: path.dot("unhealthy_interval"))
        }
        if h.hasInitialJitter {
            let d = try context.duration(h.initialJitter, at: path.dot("initial_jitter"))
            try context.refuse(
                d != .zero, path.dot("initial_jitter"),
                "not supported by skiff (its first check waits a random part of interval_jitter)")
        }
        try context.refuse(h.hasHealthyEdgeInterval, path.dot("healthy_edge_interval"), "not supported by skiff")
        // `no_traffic_interval` is accepted: Skiff checks at `interval` whether or not the cluster has traffic.
        if h.hasNoTrafficInterval { _ = try context.duration(h.noTrafficInterval, at: path.dot("no_traffic_interval")) }
        // `reuse_connection` is accepted: Skiff opens a connection per check either way.
        if h.hasReuseConnection { try context.checkUnknown(h.reuseConnection, at: path.dot("reuse_connection")) }
        switch h.healthChecker {
        case .httpHealthCheck(let http)?:
            try httpCheck(http, at: path.dot("http_health_check"), into: &check)
        case .tcpHealthCheck(let tcp)?:
            let tp = path.dot("tcp_health_check")
            try context.checkUnknown(tcp, at: tp)
            try context.refuse(
                tcp.hasSend, tp.dot("send"), "payloads are not supported by skiff (it checks the connect)")
            try context.refuse(
                !tcp.receive.isEmpty, tp.dot("receive"), "payloads are not supported by skiff (it checks the connect)")
        case nil:
            throw context.reject(path, "needs http_health_check or tcp_health_check")
        }
        return check
    }

    /// Envoy's expected statuses are half-open `[start, end)`; Skiff's ranges are closed. Envoy's default is 200 only.
    private func httpCheck(_ http: HealthCheck.HttpHealthCheck, at path: String, into check: inout HealthCheckConfig)
        throws(XDSRejection)
    {
        try context.checkUnknown(http, at: path)
        check.protocolName = "http1"
        guard http.path.hasPrefix("/") else {
            throw context.reject(path.dot("path"), http.path.isEmpty ? "required" : "must start with \"/\"")
        }
        check.httpPath = http.path
        if !http.host.isEmpty { check.httpHost = http.host }
        if !http.requestHeadersToAdd.isEmpty || !http.requestHeadersToRemove.isEmpty {
            let name = http.requestHeadersToAdd.isEmpty ? "request_headers_to_remove" : "request_headers_to_add"
            throw context.reject(path.dot(name), RouteTranslation.headerEdits)
        }
        var ranges: [ClosedRange<Int>] = []
        for (i, r) in http.expectedStatuses.enumerated() {
            let rp = path.dot("expected_statuses").at(i)
            try context.checkUnknown(r, at: rp)
            let start = try context.int(r.start, in: SkiffLimits.status, at: rp.dot("start"))
            let end = try context.int(r.end, in: 101...600, at: rp.dot("end"))
            if start >= end {
                throw context.reject(rp, "start \(start) is not before end \(end) (the end is exclusive)")
            }
            ranges.append(start...(end - 1))
        }
        check.httpCodes = ranges.isEmpty ? [200...200] : ranges
    }
}
