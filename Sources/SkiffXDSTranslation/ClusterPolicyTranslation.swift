import SkiffConfig
import SkiffXDSProto
import SwiftProtobuf

/// A cluster's circuit breakers and outlier detection, with Envoy's defaults. Any thread.
///
/// Circuit breakers: the DEFAULT priority's thresholds, each unset one Envoy's default (1024 connections, pending and
/// requests, 3 retries), also when `circuit_breakers` is absent. HIGH priority, per-host thresholds and connection
/// pool limits are refused, and so is 0, which stops all traffic in Envoy but means "unlimited" in Skiff.
///
/// Outlier detection: consecutive 5xx (which count connect failures too, as Skiff's do) with Envoy's ejection times.
/// Enforcement is all or nothing in Skiff: `enforcing_consecutive_5xx` 100 (the default) or 0 (no detection).
/// Success-rate and gateway-failure ejection are not in Skiff: an explicit enforcement above 0 is refused
/// (`enforcing_success_rate` unset leaves Envoy's success-rate ejection, which needs 5 hosts with 100 requests per
/// interval, undone; docs/xds-fields.md says so).
struct ClusterPolicyTranslation {
    typealias Thresholds = Envoy_Config_Cluster_V3_CircuitBreakers.Thresholds

    let context: XDSContext

    init(_ context: XDSContext) { self.context = context }

    func circuitBreakers(_ cb: Envoy_Config_Cluster_V3_CircuitBreakers?) throws(XDSRejection) -> CircuitBreakersConfig {
        var out = CircuitBreakersConfig(
            maxConnections: XDSDefaults.maxConnections, maxPendingRequests: XDSDefaults.maxPendingRequests,
            maxRequests: XDSDefaults.maxRequests, maxRetries: XDSDefaults.maxRetries)
        guard let cb else { return out }
        let path = "circuit_breakers"
        try context.checkUnknown(cb, at: path)
        try context.refuse(
            !cb.perHostThresholds.isEmpty, path.dot("per_host_thresholds"),
            "per-host thresholds are not supported by skiff")
        var sawDefault = false
        for (i, t) in cb.thresholds.enumerated() {
            let tp = path.dot("thresholds").at(i)
            try context.checkUnknown(t, at: tp)
            switch t.priority {
            case .default: break
            case .high:
                throw context.reject(
                    tp.dot("priority"), "HIGH priority is not supported by skiff (it has one priority, DEFAULT)")
            case .UNRECOGNIZED(let n):
                throw context.reject(tp.dot("priority"), "unknown priority \(n)")
            }
            if sawDefault { throw context.reject(tp, "a second DEFAULT threshold") }
            sawDefault = true
            func limit(_ has: Bool, _ w: Google_Protobuf_UInt32Value, _ name: String, _ absent: Int)
                throws(XDSRejection)
                -> Int
            {
                let v = try context.uint32(has, w, in: SkiffLimits.uint32, at: tp.dot(name), absent: absent)
                if v == 0 {
                    throw context.reject(
                        tp.dot(name),
                        "0 is not supported by skiff (Envoy admits nothing; skiff would read it as unlimited)")
                }
                return v
            }
            out.maxConnections = try limit(t.hasMaxConnections, t.maxConnections, "max_connections", out.maxConnections)
            out.maxPendingRequests = try limit(
                t.hasMaxPendingRequests, t.maxPendingRequests, "max_pending_requests", out.maxPendingRequests)
            out.maxRequests = try limit(t.hasMaxRequests, t.maxRequests, "max_requests", out.maxRequests)
            out.maxRetries = try limit(t.hasMaxRetries, t.maxRetries, "max_retries", out.maxRetries)
            // `track_remaining` is accepted: it only adds Envoy stats.
            try context.refuse(t.hasMaxConnectionPools, tp.dot("max_connection_pools"), "not supported by skiff")
        }
        return out
    }

    /// nil when `enforcing_consecutive_5xx` is 0 (nothing would be ejected).
    func outlierDetection(_ o: Envoy_Config_Cluster_V3_OutlierDetection, at path: String) throws(XDSRejection)
        -> OutlierDetectionConfig?
    {
        try context.checkUnknown(o, at: path)
        var od = OutlierDetectionConfig()
        od.consecutiveErrors = try context.uint32(
            o.hasConsecutive5Xx, o.consecutive5Xx, in: SkiffLimits.int32, at: path.dot("consecutive_5xx"),
            absent: od.consecutiveErrors)
        // `interval` is accepted: Envoy returns ejected hosts at its sweeps, Skiff when their time is up.
        if o.hasInterval { _ = try context.positiveDuration(o.interval, at: path.dot("interval")) }
        var baseSet = false
        if o.hasBaseEjectionTime {
            od.baseEjectionTime = try context.positiveDuration(o.baseEjectionTime, at: path.dot("base_ejection_time"))
            baseSet = true
        }
        if o.hasMaxEjectionTime {
            od.maxEjectionTime = try context.positiveDuration(o.maxEjectionTime, at: path.dot("max_ejection_time"))
            if od.maxEjectionTime < od.baseEjectionTime {
                throw context.reject(
                    path.dot("max_ejection_time"),
                    "\(durationText(od.maxEjectionTime)) is less than base_ejection_time "
                        + "\(durationText(od.baseEjectionTime))")
            }
        } else if baseSet {
            od.maxEjectionTime = max(od.maxEjectionTime, od.baseEjectionTime)  // Envoy: 300 s or the base, the larger
        }
        od.maxEjectionPercent = try context.uint32(
            o.hasMaxEjectionPercent, o.maxEjectionPercent, in: 0...100, at: path.dot("max_ejection_percent"),
            absent: od.maxEjectionPercent)
        let enforcing = try context.uint32(
            o.hasEnforcingConsecutive5Xx, o.enforcingConsecutive5Xx, in: 0...100,
            at: path.dot("enforcing_consecutive_5xx"), absent: 100)
        if enforcing != 0 && enforcing != 100 {
            throw context.reject(
                path.dot("enforcing_consecutive_5xx"),
                "\(enforcing) is not supported by skiff (it ejects always: 100, or 0)")
        }
        let successRate = try context.uint32(
            o.hasEnforcingSuccessRate, o.enforcingSuccessRate, in: 0...100, at: path.dot("enforcing_success_rate"),
            absent: 0)
        try context.refuse(
            successRate != 0, path.dot("enforcing_success_rate"),
            "success-rate ejection is not supported by skiff (use 0)")
        if o.hasConsecutiveGatewayFailure {
            try context.checkUnknown(o.consecutiveGatewayFailure, at: path.dot("consecutive_gateway_failure"))
        }
        let gateway = try context.uint32(
            o.hasEnforcingConsecutiveGatewayFailure, o.enforcingConsecutiveGatewayFailure, in: 0...100,
            at: path.dot("enforcing_consecutive_gateway_failure"), absent: 0)
        try context.refuse(
            gateway != 0, path.dot("enforcing_consecutive_gateway_failure"),
            "gateway-failure ejection is not supported by skiff (use consecutive_5xx)")
        return enforcing == 0 ? nil : od
    }
}
