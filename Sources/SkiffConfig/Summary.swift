/// One line for logs and `skiff validate`: what a config will run.
extension SkiffConfiguration {
    /// e.g. `2 listeners (netpoll 1, rwloop 1), 1 cluster, 3 hosts, 1 router`.
    public var summary: String {
        let listeners = allListeners
        let models = [ThreadModel.netpoll, .rwloop].compactMap { model -> String? in
            let n = listeners.filter { $0.threadModel == model }.count
            return n == 0 ? nil : "\(model.rawValue) \(n)"
        }
        let byModel = models.isEmpty ? "" : " (\(models.joined(separator: ", ")))"
        let hosts = clusters.reduce(0) { $0 + $1.hosts.count }
        let routers = servers.reduce(0) { $0 + $1.routers.count }
        return [
            count(listeners.count, "listener") + byModel, count(clusters.count, "cluster"), count(hosts, "host"),
            count(routers, "router"),
        ].joined(separator: ", ")
    }

    private func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
}
