import SkiffHTTP2

/// Presents an HTTP/2 request's header block to the router: `:authority` (or `host`) and `:path` up to its query.
struct HTTP2RouteInput: RouteInput {
    let block: HTTP2HeaderBlock

    var host: UnsafeRawBufferPointer? { block.first(":authority") ?? block.first("host") }

    var path: UnsafeRawBufferPointer? {
        guard let p = block.first(":path") else { return nil }
        if let q = p.firstIndex(of: UInt8(ascii: "?")) { return UnsafeRawBufferPointer(rebasing: p[0..<q]) }
        return p
    }

    func header(_ lowercaseName: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        block.index(of: lowercaseName).map(block.value)
    }
}
