import SkiffConfig

/// One router (`router_config_name`) compiled for lookups: virtual hosts by domain, then routes in order.
///
/// ```swift
/// let table = try RouteTable(config: routerConfig)
/// if let entry = table.route(input) {
///     switch entry.action { case .cluster(let name): ... }
/// }
/// ```
///
/// Immutable after init and `Sendable`: every I/O thread shares one table, and a reload builds a new one.
/// `route(_:)` allocates nothing except in regex matchers (which decode the value to a `String` to run the regex):
/// exact and wildcard domains, prefix, path and exact header matches only read bytes. (Checked by counting `malloc`
/// calls around 100k release-build lookups of each kind: zero.) `route` is generic so that callers in this module get
/// a version specialised to their input type, with no existential.
public final class RouteTable: Sendable {
    /// `router_config_name`.
    public let name: String
    /// Names of the virtual hosts in config order (`vhost<i>` for unnamed ones).
    public let virtualHostNames: [String]
    private let selector: VirtualHostSelector
    private let routes: [[CompiledRoute]]

    /// Compiles `config`. Fails only for what config validation cannot see: domains the matcher cannot use or that
    /// collide once normalised, regexes Swift refuses, prefix_rewrite without a path to rewrite.
    public init(config: RouterConfig) throws(RouteTableError) {
        name = config.name
        selector = try VirtualHostSelector(routerName: config.name, virtualHosts: config.virtualHosts)
        var names: [String] = []
        var routes: [[CompiledRoute]] = []
        for (v, vhost) in config.virtualHosts.enumerated() {
            let vhostName = vhost.name.isEmpty ? "vhost\(v)" : vhost.name
            names.append(vhostName)
            var list: [CompiledRoute] = []
            for (r, route) in vhost.routes.enumerated() {
                list.append(
                    try CompiledRoute(
                        route, routerName: config.name, virtualHostName: vhostName, virtualHostIndex: v,
                        routeIndex: r))
            }
            routes.append(list)
        }
        virtualHostNames = names
        self.routes = routes
    }

    /// The first route of the request's virtual host that matches, or nil (no virtual host, or no route in it).
    public func route<I: RouteInput>(_ input: I) -> RouteEntry? {
        guard let v = selector.select(input.host) else { return nil }
        for route in routes[v] where route.matches(input) {
            return route.entry
        }
        return nil
    }

    /// The index of the virtual host a request with this host goes to (see `VirtualHostSelector` for the priority),
    /// or nil when none does.
    public func virtualHostIndex(host: UnsafeRawBufferPointer?) -> Int? { selector.select(host) }

    /// Every route entry of virtual host `index`, in order (for admin and stats registration).
    public func entries(virtualHost index: Int) -> [RouteEntry] { routes[index].map(\.entry) }
}
