import SkiffProtocol

/// Presents a parsed request head to the router as raw bytes (no Strings).
struct HTTPRouteInput: RouteInput {
    let source: UnsafeRawBufferPointer
    let request: HTTPRequestHead
    let headers: HTTPHeaderTable

    var host: UnsafeRawBufferPointer? { request.hostRange.map { $0.bytes(in: source) } }
    var path: UnsafeRawBufferPointer? { request.pathRange.bytes(in: source) }

    func header(_ lowercaseName: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        headers.firstValue(named: lowercaseName, in: source)
    }
}
