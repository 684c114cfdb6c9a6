import SkiffJSON
import SkiffNet
import SkiffUpstream

/// The engine's side of DNS clusters: the `skiff-dns` thread that asks again when answers are due and applies a
/// changed answer as a reload (hosts that stay keep their pools and health), and the counting and reporting.
extension Engine {
    /// How often the thread looks for due names (each name is asked at its own refresh rate or TTL).
    static let dnsTickMs = 200

    func startDNS() throws(SystemError) {
        try dnsLoop.start(intervalMs: { Engine.dnsTickMs }, tick: { [weak self] in self?.dnsTick() })
    }

    /// One look: asks the due names; a changed answer reloads the running config with the new hosts.
    func dnsTick() {
        let (config, running) = live.withLock { ($0.config, $0.clusters) }
        // The running clusters say which ask names (`expand` gave them their DNS settings): the others' host
        // addresses are not parsed again five times a second.
        let asking = config.clusters.filter { running[$0.name]?.config.dns != nil }
        guard !asking.isEmpty else { return }
        let round = dns.resolveDue(asking, now: MonotonicClock.now(), cancelled: { dnsLoop.isStopping })
        // Stopping: no reload of an engine being torn down (the answers are not needed any more).
        guard !dnsLoop.isStopping else { return }
        reportDNS(round, clusters: clusters)
        guard round.changed else { return }
        do {
            _ = try reapplyRunningConfig(origin: "dns")
        } catch {
            // The answers stay: the next reload (or the next change) applies them.
            logger.error("\("dns: applying new answers failed: \(error)")")
        }
    }

    /// Counts a round on its clusters, and logs and events each failure (the last answer is kept).
    func reportDNS(_ round: DNSClusterResolver.Round, clusters: ClusterManager) {
        for (name, asked) in round.asked {
            clusters[name]?.stats.dnsResolutions.wrappingAdd(UInt64(asked), ordering: .relaxed)
        }
        for f in round.failures {
            clusters[f.cluster]?.stats.dnsFailures.wrappingAdd(1, ordering: .relaxed)
            logger.warning("\("dns: cluster \(f.cluster): \(f.name): \(f.reason); keeping the last answer")")
            hub.event(
                .other(
                    kind: "dns.failure",
                    fields: [
                        JSONMember(key: "cluster", value: .string(f.cluster)),
                        JSONMember(key: "name", value: .string(f.name)),
                        JSONMember(key: "reason", value: .string(f.reason)),
                    ]))
        }
    }
}
