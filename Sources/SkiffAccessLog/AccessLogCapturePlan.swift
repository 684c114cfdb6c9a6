import SkiffConfig

/// What a listener's access logs print that must be copied while the request is still in memory: headers (the
/// request's when it is parsed, the response's when its head arrives) and an RPC request's service and method. Each
/// distinct one is a slot of the record's capture area; every entry of the listener shares the slots.
public struct AccessLogCapturePlan: Sendable {
    /// A header to capture: its lower-cased names, in order of preference, and its slot.
    public struct Header: Sendable {
        public let names: [[UInt8]]
        public let slot: Int
    }

    /// Request headers (`%REQ(x)%`, `%request_header_x%`), pseudo-headers (`:method`, `:path`, `:authority`)
    /// included.
    public private(set) var requestHeaders: [Header] = []
    public private(set) var responseHeaders: [Header] = []
    /// Slots of `%rpc_service%` and `%rpc_method%`, nil when no format prints them.
    public private(set) var rpcServiceSlot: Int?
    public private(set) var rpcMethodSlot: Int?
    public private(set) var slotCount = 0

    /// True when nothing needs capturing (the common default format): the request path skips the capture step.
    public var isEmpty: Bool { slotCount == 0 }

    init(layouts: [AccessLogLayout]) {
        var requestKeys: [[String]: Int] = [:]
        var responseKeys: [[String]: Int] = [:]
        for layout in layouts {
            for t in layout.tokens {
                switch t {
                case .requestHeader(let h) where requestKeys[h.names] == nil:
                    requestKeys[h.names] = slotCount
                    requestHeaders.append(Header(names: h.names.map { Array($0.utf8) }, slot: slotCount))
                    slotCount += 1
                case .responseHeader(let h) where responseKeys[h.names] == nil:
                    responseKeys[h.names] = slotCount
                    responseHeaders.append(Header(names: h.names.map { Array($0.utf8) }, slot: slotCount))
                    slotCount += 1
                case .variable(.rpcService) where rpcServiceSlot == nil:
                    rpcServiceSlot = slotCount
                    slotCount += 1
                case .variable(.rpcMethod) where rpcMethodSlot == nil:
                    rpcMethodSlot = slotCount
                    slotCount += 1
                default:
                    break
                }
            }
        }
    }

    /// The slot a header token reads.
    func slot(request: Bool, names: [String]) -> Int {
        let list = request ? requestHeaders : responseHeaders
        let bytes = names.map { Array($0.utf8) }
        return list.first { $0.names == bytes }?.slot ?? 0
    }
}
