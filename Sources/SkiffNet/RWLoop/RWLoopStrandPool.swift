/// The strands L7 rwloop connections with `workers: 0` run on, process-wide: each inbound connection leases one when
/// it is accepted (the least used; a new one while fewer than `limit` exist) and gives it back when it closes, so up
/// to `limit` busy connections never share one. Its upstream connections run on the same strand, and a strand's
/// per-executor state (upstream pools) outlives the connection that used it: the next lease finds them warm.
///
/// Bounded because every strand takes one of the process's `ExecutorLocal` slots for good. Threads: any; `lock`
/// guards the list and every strand's `users`.
public final class RWLoopStrandPool: @unchecked Sendable {
    public static let shared = RWLoopStrandPool(limit: 64)

    public let limit: Int
    private let lock = ConditionLock()
    private var strands: [RWLoopStrand] = []

    init(limit: Int) { self.limit = limit }

    /// A strand for a new connection.
    func lease() -> RWLoopStrand {
        lock.withLock {
            var best: RWLoopStrand?
            for s in strands where best == nil || s.users < best!.users {
                best = s
                if s.users == 0 { break }
            }
            if best == nil || (best!.users > 0 && strands.count < limit) {
                best = RWLoopStrand(index: strands.count)
                strands.append(best!)
            }
            best!.users += 1
            return best!
        }
    }

    /// The connection that leased `strand` has closed.
    func release(_ strand: RWLoopStrand) {
        lock.withLock { strand.users -= 1 }
    }

    /// How many strands exist, and how many connections use them (for telemetry and tests).
    public var usage: (strands: Int, users: Int) {
        lock.withLock { (strands.count, strands.reduce(0) { $0 + $1.users }) }
    }
}
