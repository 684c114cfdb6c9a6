import SkiffConfig
import SkiffXDSProto

/// Route actions: `route` (cluster or weighted_clusters, timeout, retry_policy, prefix_rewrite, host_rewrite_literal,
/// header hash_policy), `redirect` and `direct_response`, with Envoy's defaults where Skiff's differ (a 15 s route
/// timeout; `0s` is Envoy's "no timeout"). Any thread.
struct RouteActionTranslation {
    typealias RouteAction = Envoy_Config_Route_V3_RouteAction
    typealias RetryPolicy = Envoy_Config_Route_V3_RetryPolicy

    let context: XDSContext

    init(_ context: XDSContext) { self.context = context }

    /// `inheritedRetry`: the virtual host's retry policy and its path, for a route without its own.
    func target(
        _ a: RouteAction, at path: String, match: RouteMatchTranslation.Translated,
        inheritedRetry: (RetryPolicy, String)?
    ) throws(XDSRejection) -> RouteTargetConfig {
        try context.checkUnknown(a, at: path)
        var t = RouteTargetConfig(timeout: XDSDefaults.routeTimeout)
        switch a.clusterSpecifier {
        case .cluster(let name)?:
            if name.isEmpty { throw context.reject(path.dot("cluster"), "must not be empty") }
            t.clusterName = name
        case .weightedClusters(let w)?:
            t.weightedClusters = try weightedClusters(w, at: path.dot("weighted_clusters"))
        case .clusterHeader?:
            throw context.reject(path.dot("cluster_header"), "not supported by skiff (routes name their clusters)")
        case nil:
            throw context.reject(path, "needs cluster or weighted_clusters")
        }
        if a.hasTimeout {
            let d = try context.duration(a.timeout, at: path.dot("timeout"))
            t.timeout = d == .zero ? XDSDefaults.disabled : d
        }
        if a.hasRetryPolicy {
            t.retryPolicy = try retryPolicy(a.retryPolicy, at: path.dot("retry_policy"))
        } else if let (policy, policyPath) = inheritedRetry {
            t.retryPolicy = try retryPolicy(policy, at: policyPath)
        }
        if !a.prefixRewrite.isEmpty {
            if let blocker = match.rewriteBlocker { throw context.reject(path.dot("prefix_rewrite"), blocker) }
            t.prefixRewrite = a.prefixRewrite
        }
        try context.refuse(a.hasRegexRewrite, path.dot("regex_rewrite"), "not supported by skiff (use prefix_rewrite)")
        switch a.hostRewriteSpecifier {
        case .hostRewriteLiteral(let host)?:
            if !host.isEmpty { t.hostRewrite = host }
        case .autoHostRewrite(let on)?:
            try context.checkUnknown(on, at: path.dot("auto_host_rewrite"))
            try context.refuse(
                on.value, path.dot("auto_host_rewrite"), "not supported by skiff (use host_rewrite_literal)")
        case .hostRewriteHeader?:
            throw context.reject(path.dot("host_rewrite_header"), "not supported by skiff (use host_rewrite_literal)")
        case nil:
            break
        }
        try context.refuse(
            a.hasIdleTimeout, path.dot("idle_timeout"), "per-route idle timeouts are not supported by skiff")
        t.hashPolicyHeaders = try hashPolicy(a.hashPolicy, at: path.dot("hash_policy"))
        return t
    }

    /// Weights 1...100 each (Skiff's range); a cluster of weight 0 gets no traffic in Envoy and is left out.
    private func weightedClusters(_ w: Envoy_Config_Route_V3_WeightedCluster, at path: String) throws(XDSRejection)
        -> [WeightedClusterConfig]
    {
        try context.checkUnknown(w, at: path)
        if w.randomValueSpecifier != nil {
            throw context.reject(path.dot("header_name"), "not supported by skiff (it picks by its own random value)")
        }
        // `runtime_key_prefix` is accepted: Skiff has no runtime, so the configured weights apply, as in an Envoy
        // whose runtime has no such keys.
        var out: [WeightedClusterConfig] = []
        var total = 0
        for (i, c) in w.clusters.enumerated() {
            let cp = path.dot("clusters").at(i)
            try context.checkUnknown(c, at: cp)
            if c.name.isEmpty { throw context.reject(cp.dot("name"), "required") }
            if !c.requestHeadersToAdd.isEmpty || !c.responseHeadersToAdd.isEmpty || !c.requestHeadersToRemove.isEmpty
                || !c.responseHeadersToRemove.isEmpty
            {
                throw context.reject(cp, RouteTranslation.headerEdits)
            }
            try context.refuse(
                !c.typedPerFilterConfig.isEmpty, cp.dot("typed_per_filter_config"), "not supported by skiff")
            if out.contains(where: { $0.name == c.name }) {
                throw context.reject(cp.dot("name"), "duplicate cluster \(quotedName(c.name)) in weighted_clusters")
            }
            guard c.hasWeight else { throw context.reject(cp.dot("weight"), "required") }
            try context.checkUnknown(c.weight, at: cp.dot("weight"))
            total += Int(c.weight.value)
            if c.weight.value == 0 { continue }
            let weight = try context.int(c.weight.value, in: SkiffLimits.clusterWeight, at: cp.dot("weight"))
            out.append(WeightedClusterConfig(name: c.name, weight: weight))
        }
        if w.hasTotalWeight {
            try context.checkUnknown(w.totalWeight, at: path.dot("total_weight"))
            if Int(w.totalWeight.value) != total {
                throw context.reject(
                    path.dot("total_weight"), "\(w.totalWeight.value) is not the sum of the weights (\(total))")
            }
        }
        if out.isEmpty { throw context.reject(path.dot("clusters"), "no cluster with a weight above 0") }
        return out
    }

    /// Envoy's `retry_on` conditions onto Skiff's: `5xx` (which in Envoy includes connect failures and resets),
    /// `gateway-error` (502, 503, 504 as retriable status codes, plus connect failures and resets), `reset`,
    /// `connect-failure`, `retriable-status-codes`. HTTP/2 and gRPC conditions (`refused-stream`, `cancelled`,
    /// `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`) can never occur on Skiff's HTTP/1 streams
    /// and are accepted as such; any other condition is refused.
    func retryPolicy(_ p: RetryPolicy, at path: String) throws(XDSRejection) -> RetryPolicyConfig {
        try context.checkUnknown(p, at: path)
        var on: [String] = []
        var codes: [Int] = []
        func add(_ c: String) { if !on.contains(c) { on.append(c) } }
        var statusCodesAsked = false
        var gatewayError = false
        let neverOnHTTP1 = [
            "refused-stream", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
        ]
        for part in p.retryOn.split(separator: ",") {
            let c = String(part).trimmed(of: " \t").lowercased()
            switch c {
            case "5xx":
                add("5xx")
                add("connect-failure")
                add("reset")
            case "gateway-error":
                gatewayError = true
                add("connect-failure")
                add("reset")
            case "reset", "connect-failure":
                add(c)
            case "retriable-status-codes":
                statusCodesAsked = true
            case _ where neverOnHTTP1.contains(c):
                break
            default:
                throw context.reject(
                    path.dot("retry_on"),
                    "retry condition \(quotedName(c)) is not supported by skiff (expected 5xx, gateway-error, reset, "
                        + "connect-failure, retriable-status-codes)")
            }
        }
        if statusCodesAsked {
            for (i, code) in p.retriableStatusCodes.enumerated() {
                codes.append(
                    try context.int(code, in: SkiffLimits.status, at: path.dot("retriable_status_codes").at(i)))
            }
        }
        if gatewayError { for c in [502, 503, 504] where !codes.contains(c) { codes.append(c) } }
        if !codes.isEmpty { add("retriable-status-codes") }
        let retries = try context.uint32(
            p.hasNumRetries, p.numRetries, in: SkiffLimits.retries, at: path.dot("num_retries"),
            absent: XDSDefaults.numRetries)
        var perTry: Duration?
        if p.hasPerTryTimeout {
            let d = try context.duration(p.perTryTimeout, at: path.dot("per_try_timeout"))
            perTry = d == .zero ? nil : d
        }
        try context.refuse(p.hasRetryBackOff, path.dot("retry_back_off"), "not supported by skiff (it retries at once)")
        try context.refuse(!p.retriableHeaders.isEmpty, path.dot("retriable_headers"), "not supported by skiff")
        try context.refuse(
            !p.retriableRequestHeaders.isEmpty, path.dot("retriable_request_headers"), "not supported by skiff")
        try context.refuse(p.hasPerTryIdleTimeout, path.dot("per_try_idle_timeout"), "not supported by skiff")
        // `host_selection_retry_max_attempts` only matters with retry host predicates, which are refused (unknown).
        return RetryPolicyConfig(retryOn: on, retryTimeout: perTry, numRetries: retries, statusCodes: codes)
    }

    /// `hash_policy[{header{header_name}}]`; other policies, and header `regex_rewrite`, are refused.
    private func hashPolicy(_ list: [RouteAction.HashPolicy], at path: String) throws(XDSRejection) -> [String] {
        var headers: [String] = []
        for (i, h) in list.enumerated() {
            let hp = path.at(i)
            try context.checkUnknown(h, at: hp)
            // `terminal` stops Envoy's hashing at the first policy that yields a hash; Skiff hashes every header.
            try context.refuse(h.terminal, hp.dot("terminal"), "not supported by skiff")
            guard case .header(let header)? = h.policySpecifier else {
                throw context.reject(hp, "needs header (the only hash policy skiff supports)")
            }
            try context.checkUnknown(header, at: hp.dot("header"))
            if header.headerName.isEmpty { throw context.reject(hp.dot("header.header_name"), "required") }
            try context.refuse(header.hasRegexRewrite, hp.dot("header.regex_rewrite"), "not supported by skiff")
            headers.append(header.headerName)
        }
        return headers
    }

    func redirect(_ r: Envoy_Config_Route_V3_RedirectAction, at path: String) throws(XDSRejection) -> RedirectConfig {
        try context.checkUnknown(r, at: path)
        switch r.schemeRewriteSpecifier {
        case .httpsRedirect(let on)?:
            try context.refuse(on, path.dot("https_redirect"), "not supported by skiff (its redirects stay on http)")
        case .schemeRedirect(let s)?:
            try context.refuse(
                !s.isEmpty && s != "http", path.dot("scheme_redirect"),
                "not supported by skiff (its redirects stay on http)")
        case nil:
            break
        }
        try context.refuse(r.portRedirect != 0, path.dot("port_redirect"), "not supported by skiff")
        var target: String?
        switch r.pathRewriteSpecifier {
        case .pathRedirect(let p)?: target = p.isEmpty ? nil : p
        case .prefixRewrite?:
            throw context.reject(path.dot("prefix_rewrite"), "not supported by skiff (use path_redirect)")
        case .regexRewrite?:
            throw context.reject(path.dot("regex_rewrite"), "not supported by skiff (use path_redirect)")
        case nil: break
        }
        // `strip_query` is accepted either way: Skiff's Location never carries the request's query string.
        let host = r.hostRedirect.isEmpty ? nil : r.hostRedirect
        if host == nil && target == nil { throw context.reject(path, "needs host_redirect or path_redirect") }
        let code: Int
        switch r.responseCode {
        case .movedPermanently: code = 301
        case .found: code = 302
        case .seeOther: code = 303
        case .temporaryRedirect: code = 307
        case .permanentRedirect: code = 308
        case .UNRECOGNIZED(let n): throw context.reject(path.dot("response_code"), "unknown response code \(n)")
        }
        return RedirectConfig(hostRedirect: host, pathRedirect: target, responseCode: code)
    }

    func directResponse(_ d: Envoy_Config_Route_V3_DirectResponseAction, at path: String) throws(XDSRejection)
        -> RouteActionConfig
    {
        try context.checkUnknown(d, at: path)
        let status = try context.int(d.status, in: SkiffLimits.status, at: path.dot("status"))
        var body: String?
        if d.hasBody {
            let bp = path.dot("body")
            try context.checkUnknown(d.body, at: bp)
            switch d.body.specifier {
            case .inlineString(let s)?: body = s
            case .inlineBytes(let b)?:
                guard let s = String(validating: b, as: UTF8.self) else {
                    throw context.reject(bp.dot("inline_bytes"), "not UTF-8 text (skiff keeps bodies as text)")
                }
                body = s
            case .filename?:
                throw context.reject(
                    bp.dot("filename"), "not supported by skiff (reads no files for xDS; use inline_string)")
            case .environmentVariable?:
                throw context.reject(bp.dot("environment_variable"), "not supported by skiff (use inline_string)")
            case nil: body = nil
            }
        }
        return .directResponse(status: status, body: body)
    }
}

extension String {
    /// Without leading and trailing characters of `set`.
    func trimmed(of set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
