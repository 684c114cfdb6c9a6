import SkiffJSON

/// `routers[]` (and old-form `connection_manager` configs, which have the same shape): virtual hosts, matchers and
/// route actions. Note MOSN calls the list of routes inside a virtual host `routers`.
extension ConfigDecoder {
    static let headerEditKeys = [
        "request_headers_to_add", "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove",
    ]

    mutating func decodeRouter(_ v: JSONValue, at path: String) -> RouterConfig? {
        let schema = ObjectSchema(
            known: ["router_config_name", "virtual_hosts"], unsupported: Self.headerEditKeys + ["router_configs"],
            emptyAllowed: Set(Self.headerEditKeys))
        guard let f = fields(v, at: path, schema) else { return nil }
        let name = requiredString(f, "router_config_name")
        var hosts: [VirtualHostConfig] = []
        var domainOwners: [String: String] = [:]  // lower-cased domain -> "virtual_hosts[i]"
        let list = array(f, "virtual_hosts")
        if list?.isEmpty ?? !f.has("virtual_hosts") {
            fail(f.path("virtual_hosts"), "router has no virtual hosts")
        }
        for item in list ?? [] {
            if let host = decodeVirtualHost(item.value, at: item.path, domainOwners: &domainOwners) {
                hosts.append(host)
            }
        }
        guard let name else { return nil }
        return RouterConfig(name: name, virtualHosts: hosts)
    }

    private mutating func decodeVirtualHost(
        _ v: JSONValue, at path: String, domainOwners: inout [String: String]
    ) -> VirtualHostConfig? {
        let schema = ObjectSchema(
            known: ["name", "domains", "routers"],
            unsupported: Self.headerEditKeys + ["require_tls", "per_filter_config"],
            emptyAllowed: Set(Self.headerEditKeys + ["require_tls", "per_filter_config"]))
        guard let f = fields(v, at: path, schema) else { return nil }
        let name = string(f, "name") ?? ""
        let domains = strings(f, "domains") ?? []
        switch f["domains"] {
        case nil, .array([])?: fail(f.path("domains"), "virtual host has no domains (use [\"*\"] for any)")
        default: break
        }
        let here = path.split(separator: ".").last.map(String.init) ?? path
        for (i, domain) in domains.enumerated() {
            let key = domain.lowercased()
            if let owner = domainOwners[key] {
                fail(ConfigPath.index(f.path("domains"), i), "duplicate domain \(quoted(domain)) (also in \(owner))")
            } else {
                domainOwners[key] = here
            }
        }
        let list = array(f, "routers")
        if list?.isEmpty ?? !f.has("routers") { fail(f.path("routers"), "virtual host has no routes") }
        var routes: [RouteConfig] = []
        for item in list ?? [] {
            if let route = decodeRoute(item.value, at: item.path) { routes.append(route) }
        }
        return VirtualHostConfig(name: name, domains: domains, routes: routes)
    }

    private mutating func decodeRoute(_ v: JSONValue, at path: String) -> RouteConfig? {
        let schema = ObjectSchema(
            known: ["match", "route", "redirect", "direct_response"],
            unsupported: ["metadata", "per_filter_config", "request_mirror_policies"],
            emptyAllowed: ["metadata", "per_filter_config", "request_mirror_policies"])
        guard let f = fields(v, at: path, schema) else { return nil }
        var match: RouteMatchConfig?
        if let m = f["match"] { match = decodeMatch(m, at: f.path("match")) } else { fail(f.path("match"), "required") }

        let actions = ["route", "redirect", "direct_response"].filter { f.has($0) }
        var action: RouteActionConfig?
        if actions.count > 1 {
            fail(path, "\(actions.joined(separator: " and ")) are exclusive; give one")
        } else if actions.isEmpty {
            fail(path, "needs one of route, redirect, direct_response")
        } else if let v = f["route"] {
            action = decodeRouteTarget(v, at: f.path("route")).map { .route($0) }
        } else if let v = f["redirect"] {
            action = decodeRedirect(v, at: f.path("redirect")).map { .redirect($0) }
        } else if let v = f["direct_response"] {
            action = decodeDirectResponse(v, at: f.path("direct_response"))
        }
        guard let match, let action else { return nil }
        return RouteConfig(match: match, action: action)
    }

    // MARK: - Matching

    private mutating func decodeMatch(_ v: JSONValue, at path: String) -> RouteMatchConfig? {
        let schema = ObjectSchema(
            known: ["prefix", "path", "regex", "headers"], unsupported: ["variables", "dsl_expressions"],
            emptyAllowed: ["variables", "dsl_expressions"])
        guard let f = fields(v, at: path, schema) else { return nil }
        var match = RouteMatchConfig(prefix: string(f, "prefix"), path: string(f, "path"), regex: string(f, "regex"))
        let given = ["prefix", "path", "regex"].filter { f.has($0) }
        if given.count > 1 { fail(path, "\(given.joined(separator: " and ")) are exclusive; give one") }
        if let regex = match.regex { checkRegex(regex, at: f.path("regex")) }
        let headerSchema = ObjectSchema(known: ["name", "value", "regex"])
        for item in array(f, "headers") ?? [] {
            guard let h = fields(item.value, at: item.path, headerSchema) else { continue }
            let name = requiredString(h, "name")
            if !h.has("value") { fail(h.path("value"), "required") }
            let value = string(h, "value")
            let isRegex = bool(h, "regex") ?? false
            if isRegex, let value { checkRegex(value, at: h.path("value")) }
            if let name, let value {
                match.headers.append(HeaderMatcherConfig(name: name, value: value, regex: isRegex))
            }
        }
        // MOSN's RPC "fast match": a lone `service` matcher with value ".*" matches any service even without
        // `regex: true` (pkg/router/rpc_rule.go); the bolt sample relies on it. Make that explicit.
        if match.headers.count == 1, match.headers[0].name == "service", match.headers[0].value == ".*" {
            match.headers[0].regex = true
        }
        switch (given.isEmpty, f["headers"]) {
        case (true, nil), (true, .array([])?): fail(path, "needs prefix, path, regex or headers")
        default: break
        }
        return match
    }

    /// Compiles with Swift's `Regex` so a pattern the router could not use is refused now, not on the first request.
    private mutating func checkRegex(_ pattern: String, at path: String) {
        do {
            _ = try Regex(pattern)
        } catch {
            fail(path, "bad regular expression \(quoted(pattern)): \(error)")
        }
    }

    // MARK: - Actions

    private mutating func decodeRouteTarget(_ v: JSONValue, at path: String) -> RouteTargetConfig? {
        let unsupported =
            [
                "cluster_variable", "upstream_protocol", "cluster_header", "regex_rewrite",
                "auto_host_rewrite", "auto_host_rewrite_header",
            ] + Self.headerEditKeys
        let schema = ObjectSchema(
            known: [
                "cluster_name", "weighted_clusters", "timeout", "retry_policy", "prefix_rewrite", "host_rewrite",
                "hash_policy", "metadata_match",
            ],
            unsupported: unsupported, emptyAllowed: Set(unsupported))
        guard let f = fields(v, at: path, schema) else { return nil }
        var target = RouteTargetConfig()
        let hasName = f.has("cluster_name")
        let hasWeighted = f.has("weighted_clusters")
        if hasName && hasWeighted {
            fail(path, "cluster_name and weighted_clusters are exclusive; give one")
        } else if !hasName && !hasWeighted {
            fail(path, "needs cluster_name or weighted_clusters")
        }
        if let name = string(f, "cluster_name") {
            checkCluster(name, at: f.path("cluster_name"))
            target.clusterName = name
        }
        target.metadataMatch = f["metadata_match"].flatMap { metadataMatch($0, at: f.path("metadata_match")) }
        if let criteria = target.metadataMatch, let name = target.clusterName {
            subsetChecks.append((criteria, name, f.path("metadata_match")))
        }
        target.weightedClusters = weightedClusters(f, routeCriteria: target.metadataMatch)
        target.timeout = duration(f, "timeout", positive: true) ?? .seconds(60)
        if let r = f["retry_policy"] { target.retryPolicy = decodeRetryPolicy(r, at: f.path("retry_policy")) }
        target.prefixRewrite = string(f, "prefix_rewrite")
        target.hostRewrite = string(f, "host_rewrite")
        target.hashPolicyHeaders = hashPolicy(f)
        return target
    }

    /// `weighted_clusters[{cluster{name, weight, metadata_match}}]`; weights are relative, 1...100 each. An entry's
    /// `metadata_match` replaces the route's (`routeCriteria`), as in MOSN; an entry without one takes the route's.
    private mutating func weightedClusters(_ f: Fields, routeCriteria: [String: String]?) -> [WeightedClusterConfig] {
        guard let list = array(f, "weighted_clusters") else { return [] }
        if list.isEmpty { fail(f.path("weighted_clusters"), "must not be empty") }
        var out: [WeightedClusterConfig] = []
        var seen: Set<String> = []
        let clusterSchema = ObjectSchema(known: ["name", "weight", "metadata_match"])
        for item in list {
            guard let w = fields(item.value, at: item.path, ObjectSchema(known: ["cluster"])) else { continue }
            guard let cv = w["cluster"] else {
                fail(w.path("cluster"), "required")
                continue
            }
            guard let c = fields(cv, at: w.path("cluster"), clusterSchema) else { continue }
            let name = requiredString(c, "name")
            if let name {
                if seen.contains(name) {
                    fail(c.path("name"), "duplicate cluster \(quoted(name)) in weighted_clusters")
                } else {
                    checkCluster(name, at: c.path("name"))
                }
                seen.insert(name)
            }
            if !c.has("weight") { fail(c.path("weight"), "required") }
            let weight = int(c, "weight", 1...100)
            let own = c["metadata_match"].flatMap { metadataMatch($0, at: c.path("metadata_match")) }
            let criteria = own ?? routeCriteria
            if let criteria, let name {
                subsetChecks.append((criteria, name, own != nil ? c.path("metadata_match") : f.path("metadata_match")))
            }
            if let name, let weight {
                out.append(WeightedClusterConfig(name: name, weight: weight, metadataMatch: criteria))
            }
        }
        return out
    }

    /// `retry_policy`. `retry_on` is MOSN's boolean (true = connect-failure, reset, 5xx) or a comma list.
    private mutating func decodeRetryPolicy(_ v: JSONValue, at path: String) -> RetryPolicyConfig? {
        let schema = ObjectSchema(known: ["retry_on", "retry_timeout", "num_retries", "status_codes"])
        guard let f = fields(v, at: path, schema) else { return nil }
        let conditions = ["connect-failure", "reset", "5xx", "retriable-status-codes"]
        var retryOn: [String] = []
        var fromBool = false
        switch f["retry_on"] {
        case nil:
            fail(f.path("retry_on"), "required")
        case .bool(let b)?:
            fromBool = true
            retryOn = b ? ["connect-failure", "reset", "5xx"] : []
        case .string(let s)?:
            for part in s.split(separator: ",") {
                let c = part.trimmingSpaces().lowercased()
                if conditions.contains(c) {
                    if !retryOn.contains(c) { retryOn.append(c) }
                } else {
                    let list = conditions.joined(separator: ", ")
                    fail(f.path("retry_on"), "unknown retry condition \(quoted(c)) (expected \(list))")
                }
            }
            if retryOn.isEmpty && !s.contains(where: { $0 != "," && $0 != " " }) {
                fail(f.path("retry_on"), "must not be empty")
            }
        case let other?:
            fail(f.path("retry_on"), "expected true, false or a comma-separated list, got \(other.kindDescription)")
        }
        var codes: [Int] = []
        for item in array(f, "status_codes") ?? [] {
            if let code = int(item.value, at: item.path, 100...599) { codes.append(code) }
        }
        if !codes.isEmpty && !retryOn.contains("retriable-status-codes") {
            if fromBool && !retryOn.isEmpty {
                retryOn.append("retriable-status-codes")
            } else if !fromBool {
                fail(f.path("status_codes"), "given but retry_on lacks \"retriable-status-codes\"")
            }
        }
        if retryOn.contains("retriable-status-codes") && !f.has("status_codes") {
            fail(f.path("status_codes"), "required by retry_on \"retriable-status-codes\"")
        }
        return RetryPolicyConfig(
            retryOn: retryOn, retryTimeout: duration(f, "retry_timeout", positive: true),
            numRetries: int(f, "num_retries", 0...10) ?? 1, statusCodes: codes)
    }

    /// `hash_policy[{header{key}}]`: only header hashing.
    private mutating func hashPolicy(_ f: Fields) -> [String] {
        var keys: [String] = []
        let schema = ObjectSchema(known: ["header"], unsupported: ["cookie", "source_ip"])
        for item in array(f, "hash_policy") ?? [] {
            guard let h = fields(item.value, at: item.path, schema) else { continue }
            guard let header = h["header"] else {
                if !errors.contains(where: { $0.path.hasPrefix(item.path) }) { fail(h.path("header"), "required") }
                continue
            }
            guard let k = fields(header, at: h.path("header"), ObjectSchema(known: ["key"])) else { continue }
            if let key = requiredString(k, "key") { keys.append(key) }
        }
        return keys
    }

    private mutating func decodeRedirect(_ v: JSONValue, at path: String) -> RedirectConfig? {
        let schema = ObjectSchema(
            known: ["host_redirect", "path_redirect", "response_code"], unsupported: ["scheme_redirect"])
        guard let f = fields(v, at: path, schema) else { return nil }
        let host = string(f, "host_redirect")
        let target = string(f, "path_redirect")
        if !f.has("host_redirect") && !f.has("path_redirect") {
            fail(path, "needs host_redirect or path_redirect")
        }
        var code = 301
        if let c = int(f, "response_code", 100...599) {
            if [301, 302, 303, 307, 308].contains(c) {
                code = c
            } else {
                fail(f.path("response_code"), "\(c) is not a redirect (expected 301, 302, 303, 307, 308)")
            }
        }
        return RedirectConfig(hostRedirect: host, pathRedirect: target, responseCode: code)
    }

    private mutating func decodeDirectResponse(_ v: JSONValue, at path: String) -> RouteActionConfig? {
        guard let f = fields(v, at: path, ObjectSchema(known: ["status", "body"])) else { return nil }
        if !f.has("status") { fail(f.path("status"), "required") }
        let status = int(f, "status", 100...599)
        let body = string(f, "body")
        guard let status else { return nil }
        return .directResponse(status: status, body: body)
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (no Foundation `trimmingCharacters`).
    func trimmingSpaces() -> String {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
