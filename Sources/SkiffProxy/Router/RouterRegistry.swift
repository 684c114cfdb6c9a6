import SkiffConfig

/// All routers of a server by `router_config_name`, compiled once per config (re)load.
///
/// Immutable and `Sendable`; proxy filters look their table up when a listener is set up, not per request.
public final class RouterRegistry: Sendable {
    private let tables: [String: RouteTable]

    /// Compiles every router; the first error stops the build (the config is refused as a whole).
    public init(_ configs: [RouterConfig]) throws(RouteTableError) {
        var tables: [String: RouteTable] = [:]
        for config in configs {
            if tables[config.name] != nil {
                throw RouteTableError(
                    kind: .duplicateRouter, router: config.name, path: "", message: "router_config_name used twice")
            }
            tables[config.name] = try RouteTable(config: config)
        }
        self.tables = tables
    }

    public subscript(name: String) -> RouteTable? { tables[name] }

    /// Router names, sorted.
    public var names: [String] { tables.keys.sorted() }

    public var count: Int { tables.count }
}
