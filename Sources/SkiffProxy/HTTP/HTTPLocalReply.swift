import SkiffNet
import SkiffProtocol

/// Responses Skiff writes itself. Every one says who made it (`server: skiff`) and why (`x-skiff-reason`), so an
/// operator can tell a proxy 503 from an upstream's.
enum HTTPLocalReply {
    /// Renders into `out` at its writer index; returns the new writer index, or nil if it does not fit.
    static func render(
        status: Int, reason: StaticString, body: [UInt8]?, location: [UInt8]?, overflow: String?, close: Bool,
        headRequest: Bool, into out: ByteBuffer
    ) -> Int? {
        var w = Writer(out)
        let payload: [UInt8]
        if let b = body {
            payload = b
        } else {
            payload = Array("\(status) \(reasonText(status)): \(reason)\n".utf8)
        }
        w.ascii("HTTP/1.1 ")
        w.decimal(status)
        w.byte(0x20)
        w.ascii(reasonText(status))
        w.ascii("\r\nserver: skiff\r\nx-skiff-reason: ")
        w.static(reason)
        if let o = overflow {
            w.ascii("\r\nx-skiff-overflow: ")
            w.ascii(o)
        }
        if let l = location {
            w.ascii("\r\nlocation: ")
            w.bytes(l)
        }
        w.ascii("\r\ncontent-type: text/plain\r\ncontent-length: ")
        w.decimal(payload.count)
        if close { w.ascii("\r\nconnection: close") }
        w.ascii("\r\n\r\n")
        if !headRequest { w.bytes(payload) }
        return w.overflowed ? nil : w.index
    }

    /// The length of the body `render` writes when it is given none.
    static func defaultBodyLength(status: Int, reason: StaticString) -> Int {
        "\(status) \(reasonText(status)): \(reason)\n".utf8.count
    }

    static func reasonText(_ status: Int) -> String {
        HTTPReasonPhrase.phrase(for: status).map { "\($0)" } ?? "Status"
    }

    /// Appends into a ByteBuffer's free space, remembering if anything did not fit.
    struct Writer {
        let buffer: ByteBuffer
        var index: Int
        var overflowed = false

        init(_ b: ByteBuffer) {
            buffer = b
            index = b.writerIndex
        }

        mutating func byte(_ v: UInt8) {
            guard index < buffer.capacity else {
                overflowed = true
                return
            }
            buffer.base.storeBytes(of: v, toByteOffset: index, as: UInt8.self)
            index += 1
        }

        mutating func bytes(_ a: [UInt8]) { for b in a { byte(b) } }
        mutating func ascii(_ s: String) { for b in s.utf8 { byte(b) } }

        mutating func `static`(_ s: StaticString) {
            s.withUTF8Buffer { for b in $0 { byte(b) } }
        }

        mutating func decimal(_ v: Int) {
            if v >= 10 { decimal(v / 10) }
            byte(UInt8(48 + v % 10))
        }
    }
}

