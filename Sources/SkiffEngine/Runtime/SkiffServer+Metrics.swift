import SkiffConfig
import SkiffControl

extension SkiffServer {
    /// MOSN's prometheus sink: the same text as the admin API's `/metrics`, on a port of its own at the sink's
    /// `endpoint`, read-only (one `GET` route, `HEAD` too; other methods are refused, other paths are 404). On a
    /// binary upgrade it serves the socket the old process handed over when that one listened on the same address,
    /// so scrapes are never refused during the handover. Threads: the server's own (accept and per connection).
    func startMetricsSink(_ sink: PrometheusSinkConfig, handover: (any UpgradeHandover)?) throws -> AdminHTTPServer {
        var c = AdminHTTPServer.Configuration(host: sink.address.host, port: sink.address.port)
        c.access = AdminAccessPolicy(loopbackOnly: false, token: nil, address: sink.address.description)
        c.inheritedFD = handover?.takeMetricsSocket(address: sink.address.description)
        let server = AdminHTTPServer(configuration: c)
        let engine = self.engine
        server.route("GET", .exact(sink.endpoint)) { _ in
            AdminResponse(
                status: 200, contentType: PrometheusWriter.contentType, headers: [], body: AdminAPI.prometheus(engine))
        }
        try server.start()
        logger.info("\("metrics sink (prometheus) on \(sink.address.host):\(server.port)\(sink.endpoint)")")
        return server
    }
}
