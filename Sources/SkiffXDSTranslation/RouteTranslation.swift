import SkiffConfig
import SkiffXDSProto

/// A RouteConfiguration (from RDS, or inline in an http_connection_manager) into a `RouterConfig`: virtual hosts with
/// their domains, routes with their matches (RouteMatchTranslation.swift) and actions (RouteActionTranslation.swift).
/// Header edits, per-filter configs and TLS requirements are refused. A value; any thread.
struct RouteTranslation {
    typealias RouteConfiguration = Envoy_Config_Route_V3_RouteConfiguration
    typealias VirtualHost = Envoy_Config_Route_V3_VirtualHost
    typealias Route = Envoy_Config_Route_V3_Route

    static let headerEdits = "header edits are not supported by skiff"

    let context: XDSContext

    init(_ context: XDSContext) { self.context = context }

    /// The router named `name`; `base` is the RouteConfiguration's path in its resource (`""` for RDS).
    func router(_ r: RouteConfiguration, named name: String, at base: String) throws(XDSRejection) -> RouterConfig {
        try context.checkUnknown(r, at: base)
        try refuseHeaderEdits(
            add: [r.requestHeadersToAdd.count, r.responseHeadersToAdd.count],
            remove: [r.requestHeadersToRemove.count, r.responseHeadersToRemove.count], at: base)
        // `validate_clusters` is accepted: the ADS client checks every cluster a route names before applying it.
        if r.hasValidateClusters { try context.checkUnknown(r.validateClusters, at: base.dot("validate_clusters")) }
        let hostsPath = base.dot("virtual_hosts")
        if r.virtualHosts.isEmpty { throw context.reject(hostsPath, "route configuration has no virtual hosts") }
        var hosts: [VirtualHostConfig] = []
        var domainOwners: [String: Int] = [:]
        for (i, v) in r.virtualHosts.enumerated() {
            hosts.append(try virtualHost(v, at: hostsPath.at(i), index: i, domainOwners: &domainOwners))
        }
        return RouterConfig(name: name, virtualHosts: hosts)
    }

    private func virtualHost(_ v: VirtualHost, at path: String, index: Int, domainOwners: inout [String: Int])
        throws(XDSRejection) -> VirtualHostConfig
    {
        try context.checkUnknown(v, at: path)
        if v.name.isEmpty { throw context.reject(path.dot("name"), "required") }
        try refuseHeaderEdits(
            add: [v.requestHeadersToAdd.count, v.responseHeadersToAdd.count],
            remove: [v.requestHeadersToRemove.count, v.responseHeadersToRemove.count], at: path)
        try context.refuse(
            v.requireTls != .none, path.dot("require_tls"),
            "TLS requirements are not supported by skiff (expected NONE)")
        try context.refuse(
            !v.typedPerFilterConfig.isEmpty, path.dot("typed_per_filter_config"),
            "per-filter configs are not supported by skiff (it has no HTTP filters besides the router)")
        if v.domains.isEmpty {
            throw context.reject(path.dot("domains"), "virtual host has no domains (use [\"*\"] for any)")
        }
        for (i, domain) in v.domains.enumerated() {
            let domainPath = path.dot("domains").at(i)
            if domain.isEmpty { throw context.reject(domainPath, "must not be empty") }
            let host = domain.hasSuffix(":*") ? String(domain.dropLast(2)) : domain
            if host != "*" && host.dropFirst().contains("*") {
                throw context.reject(
                    domainPath,
                    "\(quotedName(domain)): only a leading wildcard (*.example.com) or * is supported by skiff")
            }
            let key = domain.lowercased()
            if let owner = domainOwners[key] {
                throw context.reject(
                    domainPath, "duplicate domain \(quotedName(domain)) (also in virtual_hosts[\(owner)])")
            }
            domainOwners[key] = index
        }
        if v.routes.isEmpty { throw context.reject(path.dot("routes"), "virtual host has no routes") }
        let actions = RouteActionTranslation(context)
        let hostRetry = v.hasRetryPolicy ? v.retryPolicy : nil
        var routes: [RouteConfig] = []
        for (i, route) in v.routes.enumerated() {
            routes.append(
                try self.route(
                    route, at: path.dot("routes").at(i), actions: actions, hostRetry: hostRetry, hostPath: path))
        }
        return VirtualHostConfig(name: v.name, domains: v.domains, routes: routes)
    }

    /// `hostRetry`: the virtual host's `retry_policy`, which a route without its own inherits (as in Envoy).
    private func route(
        _ r: Route, at path: String, actions: RouteActionTranslation, hostRetry: Envoy_Config_Route_V3_RetryPolicy?,
        hostPath: String
    ) throws(XDSRejection) -> RouteConfig {
        try context.checkUnknown(r, at: path)
        // `name` and `metadata` are labels: accepted.
        try refuseHeaderEdits(
            add: [r.requestHeadersToAdd.count, r.responseHeadersToAdd.count],
            remove: [r.requestHeadersToRemove.count, r.responseHeadersToRemove.count], at: path)
        try context.refuse(
            !r.typedPerFilterConfig.isEmpty, path.dot("typed_per_filter_config"),
            "per-filter configs are not supported by skiff (it has no HTTP filters besides the router)")
        guard r.hasMatch else { throw context.reject(path.dot("match"), "required") }
        let match = try RouteMatchTranslation(context).match(r.match, at: path.dot("match"))
        let action: RouteActionConfig
        switch r.action {
        case .route(let a)?:
            let retry = a.hasRetryPolicy ? nil : hostRetry.map { ($0, hostPath.dot("retry_policy")) }
            action = .route(try actions.target(a, at: path.dot("route"), match: match, inheritedRetry: retry))
        case .redirect(let a)?:
            action = .redirect(try actions.redirect(a, at: path.dot("redirect")))
        case .directResponse(let a)?:
            action = try actions.directResponse(a, at: path.dot("direct_response"))
        case nil:
            throw context.reject(path, "needs one of route, redirect, direct_response")
        }
        return RouteConfig(match: match.config, action: action)
    }

    private func refuseHeaderEdits(add: [Int], remove: [Int], at path: String) throws(XDSRejection) {
        let names = [
            (add[0], "request_headers_to_add"), (add[1], "response_headers_to_add"),
            (remove[0], "request_headers_to_remove"), (remove[1], "response_headers_to_remove"),
        ]
        if let (_, name) = names.first(where: { $0.0 > 0 }) { throw context.reject(path.dot(name), Self.headerEdits) }
    }
}
