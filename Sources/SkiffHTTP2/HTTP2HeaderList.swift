import CNGHTTP2

/// Header fields handed to libnghttp2 (which copies them while submitting): the names and values laid out in one
/// temporary block and described by an `nghttp2_nv` array, both valid only during `body`.
enum HTTP2HeaderList {
    static func withNV<R>(
        _ fields: inout [(String, String)], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R
    ) -> R {
        let total = fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count }
        let store = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, total))
        let nva = UnsafeMutablePointer<nghttp2_nv>.allocate(capacity: max(1, fields.count))
        defer {
            store.deallocate()
            nva.deallocate()
        }
        var at = 0
        for (i, (name, value)) in fields.enumerated() {
            let n = at
            for b in name.utf8 {
                store[at] = b
                at += 1
            }
            let v = at
            for b in value.utf8 {
                store[at] = b
                at += 1
            }
            (nva + i).initialize(
                to: nghttp2_nv(
                    name: store + n, value: store + v, namelen: v - n, valuelen: at - v,
                    flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
        }
        return body(nva, fields.count)
    }
}
