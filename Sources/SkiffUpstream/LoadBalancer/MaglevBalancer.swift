/// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of prime size in which each host takes
/// slots in its own permutation order, so removing a host moves only the keys that were on it.
final class MaglevBalancer: LoadBalancer {
    let hosts: [Host]
    let table: [Int]
    static let tableSize = 65537

    init(hosts: [Host]) {
        self.hosts = hosts
        self.table = MaglevBalancer.buildTable(names: hosts.map(\.description), size: MaglevBalancer.tableSize)
    }

    /// Builds the lookup table for host names; pure, for tests.
    static func buildTable(names: [String], size: Int) -> [Int] {
        guard !names.isEmpty else { return [] }
        let offsets = names.map { Int(fnv1a($0, seed: 0xcbf2_9ce4_8422_2325) % UInt64(size)) }
        let skips = names.map { Int(fnv1a($0, seed: 0x8422_2325_cbf2_9ce4) % UInt64(size - 1)) + 1 }
        var next = [Int](repeating: 0, count: names.count)
        var table = [Int](repeating: -1, count: size)
        var filled = 0
        while true {
            for i in names.indices {
                var c = (offsets[i] + next[i] * skips[i]) % size
                while table[c] >= 0 {
                    next[i] += 1
                    c = (offsets[i] + next[i] * skips[i]) % size
                }
                table[c] = i
                next[i] += 1
                filled += 1
                if filled == size { return table }
            }
        }
    }

    /// Without a key every caller lands on the same host; callers pass one through `Cluster.pickHost(hash:)` (the
    /// tcp_proxy hashes the client's address, HTTP its `hash_policy` header).
    func pick(excluding tried: [Host]) -> Host? { pick(hash: 0, excluding: tried) }

    func pick(hash: UInt64, excluding tried: [Host]) -> Host? {
        guard !table.isEmpty else { return nil }
        var slot = Int(hash % UInt64(table.count))
        for _ in 0..<hosts.count {
            let h = hosts[table[slot]]
            if !tried.containsHost(h) { return h }
            slot = (slot + 1) % table.count
        }
        return hosts[table[Int(hash % UInt64(table.count))]]
    }
}

/// FNV-1a, 64-bit.
func fnv1a(_ s: String, seed: UInt64) -> UInt64 {
    var h = seed
    for b in s.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
    }
    return h
}
