/// The ids one upstream RPC connection gives its requests: 1, 2, ... up to `last`, then round again. Until the first
/// wrap every id is fresh; after it, an id still held by a stream in flight (a request waiting for a slow answer
/// while two billion others passed) is skipped, so a new request never takes over an old one's slot.
///
/// A value owned by its `RPCUpstream`, on that connection's executor.
struct RPCStreamIDs {
    /// The largest id handed out (Bolt ids are 32-bit signed on the Java side: stay below 2^31).
    let last: UInt64
    private(set) var next: UInt64 = 1
    private var wrapped = false

    init(last: UInt64 = 0x7fff_fff0) { self.last = last }

    /// The next id not `inUse` (asked only once the ids have wrapped, so the usual request pays nothing for it).
    @inline(__always)
    mutating func take(inUse: (UInt64) -> Bool) -> UInt64 {
        var id = advance()
        if wrapped {
            var tries: UInt64 = 0
            while inUse(id) && tries < last {
                id = advance()
                tries += 1
            }
        }
        return id
    }

    @inline(__always)
    private mutating func advance() -> UInt64 {
        let id = next
        if next >= last {
            next = 1
            wrapped = true
        } else {
            next += 1
        }
        return id
    }
}
