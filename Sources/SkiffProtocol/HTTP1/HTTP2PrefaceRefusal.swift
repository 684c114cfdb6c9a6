/// An HTTP/2 client that speaks first (prior knowledge, RFC 9113 §3.3) to a listener that speaks HTTP/1.1: its
/// connection preface reads as the request line `PRI * HTTP/2.0` and an empty header section. Answered in HTTP/2, so
/// the client can say what happened: an empty SETTINGS frame, then GOAWAY with HTTP_1_1_REQUIRED (0xd) and a short
/// reason as debug data. An HTTP/1.1 505 would be read as a broken frame.
public enum HTTP2PrefaceRefusal {
    /// The preface's first part, as it parses as an HTTP/1 head.
    static let head = Array("PRI * HTTP/2.0\r\n\r\n".utf8)

    /// The whole client connection preface (RFC 9113 §3.4), 24 bytes: what an `Auto` listener recognises HTTP/2 by.
    public static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// Whether `head` (a complete HTTP/1 head) is the HTTP/2 connection preface.
    public static func isPreface(_ head: UnsafeRawBufferPointer) -> Bool {
        head.count == Self.head.count && head.elementsEqual(Self.head)
    }

    /// SETTINGS (empty) then GOAWAY (last stream 0, HTTP_1_1_REQUIRED, debug data `reason`).
    public static let answer: [UInt8] = {
        let reason = Array("this listener speaks HTTP/1.1 (skiff)".utf8)
        let settings: [UInt8] = [0, 0, 0, 0x4, 0, 0, 0, 0, 0]
        let length = 8 + reason.count
        let goAwayHeader: [UInt8] = [
            UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), 0x7, 0, 0, 0, 0, 0,
        ]
        return settings + goAwayHeader + [0, 0, 0, 0, 0, 0, 0, 0xd] + reason
    }()
}
