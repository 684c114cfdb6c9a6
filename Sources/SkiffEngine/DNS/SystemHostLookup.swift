import Glibc
import SkiffNet
import SkiffSystem
import Synchronization

/// A name asked of the system resolver (`getaddrinfo`: /etc/hosts, then the resolv.conf servers), for the hostname
/// hosts of clusters that are not DNS clusters, as MOSN asks Go's resolver. `getaddrinfo` cannot be interrupted, so
/// it runs on a thread of its own while the asking thread (the engine's `skiff-dns`) waits in 10 ms slices and walks
/// away when the engine stops; an abandoned lookup finishes on its own and its answer is dropped.
enum SystemHostLookup {
    private final class Outcome: Sendable {
        let value = Mutex<Result<SocketAddress, DNSFailure>?>(nil)
    }

    /// The first address `getaddrinfo` gives for `host`.
    static func first(_ host: String, port: Int, cancelled: () -> Bool) -> Result<SocketAddress, DNSFailure> {
        let outcome = Outcome()
        do {
            try NetThread.start(name: "skiff-gai") {
                let r: Result<SocketAddress, DNSFailure>
                do {
                    r = .success(try SocketAddress.resolve(host: host, port: port))
                } catch {
                    r = .failure(.malformed("\(error)"))
                }
                outcome.value.withLock { $0 = r }
            }
        } catch {
            return .failure(.malformed("no thread for the lookup: \(error)"))
        }
        while true {
            if let r = outcome.value.withLock({ $0 }) { return r }
            if cancelled() { return .failure(.cancelled) }
            usleep(10_000)
        }
    }
}
