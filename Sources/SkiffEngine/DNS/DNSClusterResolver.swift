import Glibc
import SkiffConfig
import SkiffJSON
import SkiffNet
import Synchronization

/// The answers for STRICT_DNS and LOGICAL_DNS clusters and for the hostname hosts of other clusters (asked of the
/// system resolver, first address, every `hostnameRefresh`), and their resolution: at start and on a reload (for clusters
/// not resolved yet) on the caller's thread, then every `dns_refresh_rate` (or the answer's TTL) on the engine's
/// `skiff-dns` thread, never on a poller. A cluster's hosts are its configured hosts with each name replaced by the
/// addresses last answered for it; a failed resolution keeps the last answer (counted, logged and evented), so a DNS
/// outage never empties a cluster that had hosts. Hosts that stay across an answer keep their objects (pools, health)
/// through the engine's reload, as on any reload.
///
/// Thread-safe: one mutex over the answers, never held while asking a server.
final class DNSClusterResolver: Sendable {
    /// What is known of one configured name host (`name:port`) of one cluster.
    struct NameState: Sendable {
        var hosts: [HostConfig] = []
        /// Monotonic ns of the next query; 0 = never asked.
        var dueNs: UInt64 = 0
        var answered = false
    }

    /// A name that got no answer, for the caller to count and report.
    struct Failure: Sendable {
        var cluster: String
        var name: String
        var reason: String
    }

    /// What one pass over the due names did.
    struct Round: Sendable {
        /// Some name's addresses differ from before (or it was answered for the first time).
        var changed = false
        /// Names asked, by cluster.
        var asked: [String: Int] = [:]
        var failures: [Failure] = []
    }

    private let names = Mutex<[String: NameState]>([:])

    static func key(_ cluster: String, _ host: HostConfig) -> String { "\(cluster)\u{0}\(host.address.description)" }

    /// Whether `host` of a DNS cluster is a name to resolve (IP literals stay as written, as in MOSN).
    static func isName(_ host: HostConfig) -> Bool {
        let h = host.address.host
        return SocketAddress(ip: h, port: 0) == nil
    }

    /// How `c`'s names are asked: its DNS settings, the system resolver for hostname hosts of another type, nil when
    /// it has nothing to ask.
    static func settings(_ c: ClusterConfig) -> DNSClusterConfig? {
        if let dns = c.dns { return dns }
        return c.hosts.contains(where: isName) ? .hostnames(refresh: c.hostnameRefresh) : nil
    }

    /// `clusters` with each name host replaced by its latest answers (nothing yet: no host).
    func expand(_ clusters: [ClusterConfig]) -> [ClusterConfig] {
        names.withLock { known in
            clusters.map { c in
                guard let settings = Self.settings(c) else { return c }
                var out = c
                // Hostname hosts of another type show (frames, /metrics) as the names they are.
                out.dns = settings
                out.hosts = c.hosts.flatMap { h in Self.isName(h) ? known[Self.key(c.name, h)]?.hosts ?? [] : [h] }
                // Two names may answer the same address: one host for it (the first).
                var seen = Set<SocketAddressSpec>()
                out.hosts = out.hosts.filter { seen.insert($0.address).inserted }
                return out
            }
        }
    }

    /// Asks for every name of `clusters` that is due at `now` (every one never asked when `onlyNew`); returns
    /// whether any answer changed, and the failures.
    func resolveDue(
        _ clusters: [ClusterConfig], now: UInt64, onlyNew: Bool = false, cancelled: () -> Bool = { false }
    ) -> Round {
        var work: [(ClusterConfig, HostConfig)] = []
        names.withLock { known in
            for c in clusters where Self.settings(c) != nil {
                for h in c.hosts where Self.isName(h) {
                    let state = known[Self.key(c.name, h)]
                    if onlyNew ? state == nil : (state?.dueNs ?? 0) <= now { work.append((c, h)) }
                }
            }
        }
        var round = Round()
        for (c, h) in work {
            guard let dns = Self.settings(c), !cancelled() else { continue }
            let result = Self.resolve(h, dns, cancelled: cancelled)
            if case .failure(.cancelled) = result { break }
            round.asked[c.name, default: 0] += 1
            let refresh = Connection.nanoseconds(dns.refreshRate)
            names.withLock { known in
                var state = known[Self.key(c.name, h)] ?? NameState()
                switch result {
                case .success(let (hosts, ttl)):
                    if !state.answered || hosts != state.hosts { round.changed = true }
                    state.hosts = hosts
                    state.answered = true
                    let wait = dns.respectTTL ? UInt64(max(1, ttl)) * 1_000_000_000 : refresh
                    state.dueNs = MonotonicClock.now() &+ wait
                case .failure(let f):
                    round.failures.append(Failure(cluster: c.name, name: h.address.description, reason: f.description))
                    state.dueNs = MonotonicClock.now() &+ refresh
                }
                known[Self.key(c.name, h)] = state
            }
        }
        return round
    }

    /// Forgets names no cluster of `clusters` has any more (a reload removed them).
    func keepOnly(_ clusters: [ClusterConfig]) {
        let wanted = Set(clusters.filter { Self.settings($0) != nil }.flatMap { c in c.hosts.map { Self.key(c.name, $0) } })
        names.withLock { known in known = known.filter { wanted.contains($0.key) } }
    }

    /// One name host's addresses as hosts (`ip:port`, the name kept as `hostname`), and the lowest TTL.
    static func resolve(
        _ h: HostConfig, _ dns: DNSClusterConfig, cancelled: () -> Bool = { false }
    ) -> Result<([HostConfig], UInt32), DNSFailure> {
        if dns.systemResolver {
            return SystemHostLookup.first(h.address.host, port: h.address.port, cancelled: cancelled).map { a in
                ([answerHost(h, ip: a.ip)], 0)
            }
        }
        let servers = dns.servers.isEmpty ? systemServers(dns.resolverFile, port: dns.resolverPort) : dns.servers
        let addresses = servers.compactMap { SocketAddress(ip: $0.host, port: $0.port) }
        guard !addresses.isEmpty else { return .failure(.malformed("no DNS server (\(dns.resolverFile) has none)")) }
        let (seconds, _) = dns.timeout.components
        let client = DNSClient(servers: addresses, timeoutMs: Int(seconds) * 1000, attempts: dns.attempts)
        // The family's record types in order (AUTO: AAAA then A): the first with addresses answers.
        var last = DNSFailure.malformed("no record")
        for kind in dns.family.order {
            let type: DNSMessage.RecordType = kind == .a ? .a : .aaaa
            switch client.resolve(h.address.host, type, cancelled: cancelled) {
            case .failure(.cancelled): return .failure(.cancelled)
            case .failure(let f): last = f
            case .success(let answer):
                guard !answer.addresses.isEmpty else {
                    last = .malformed("no \(kind == .a ? "A" : "AAAA") record")
                    continue
                }
                let chosen = dns.logical ? [answer.addresses[0]] : answer.addresses
                return .success((chosen.map { answerHost(h, ip: $0) }, answer.minTTL))
            }
        }
        return .failure(last)
    }

    /// The host an answer makes of name host `h`: the address, and `h`'s settings (its name kept as `hostname`).
    static func answerHost(_ h: HostConfig, ip: String) -> HostConfig {
        var host = HostConfig(
            address: SocketAddressSpec(host: ip, port: h.address.port), hostname: h.hostname ?? h.address.host,
            weight: h.weight, metadata: h.metadata)
        host.tlsDisable = h.tlsDisable
        return host
    }

    /// The `nameserver` lines of a resolv.conf.
    static func systemServers(_ file: String, port: Int) -> [SocketAddressSpec] {
        guard let f = fopen(file, "r") else { return [] }
        defer { fclose(f) }
        var out: [SocketAddressSpec] = []
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            if words.count >= 2 && words[0] == "nameserver" { out.append(SocketAddressSpec(host: String(words[1]), port: port)) }
        }
        return out
    }
}
