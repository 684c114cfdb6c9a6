import SkiffNet
import SkiffUpstream

extension Connection {
    /// Opens a connection to `host` of `cluster` on this connection's executor, as every proxy's upstream is opened:
    /// the cluster's connect timeout, write limit, write totals and TLS for the host, writes gathered 16 at a time,
    /// `idleTimeout` (nil: none), counted in the host's `connectionTotal`.
    func connectUpstream(
        to host: Host, of cluster: Cluster, idleTimeout: Duration?, handler: any ConnectionHandler
    ) -> Connection {
        host.stats.connectionTotal.wrappingAdd(1, ordering: .relaxed)
        return connectSibling(
            to: host.address, timeout: cluster.config.connectTimeout,
            options: ConnectionOptions(
                maxCoalesce: 16, writeLimit: cluster.config.connBufferLimitBytes, idleTimeout: idleTimeout,
                totals: cluster.upstreamWrites, tls: cluster.upstreamTLS(for: host)),
            label: cluster.name, handler: handler)
    }
}
