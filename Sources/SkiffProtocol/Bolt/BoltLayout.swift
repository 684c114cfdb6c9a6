/// Where each fixed-header field sits, for the four Bolt headers (v1/v2 × request/response).
///
/// ```text
/// v1 request  (22): proto type cmdcode(2) ver2 requestId(4) codec timeout(4) classLen(2) headerLen(2) contentLen(4)
/// v1 response (20): proto type cmdcode(2) ver2 requestId(4) codec status(2)  classLen(2) headerLen(2) contentLen(4)
/// v2 request  (24): proto ver1 type cmdcode(2) ver2 requestId(4) codec switch timeout(4) classLen(2) headerLen(2)
///                   contentLen(4)
/// v2 response (22): proto ver1 type cmdcode(2) ver2 requestId(4) codec switch status(2) classLen(2) headerLen(2)
///                   contentLen(4)
/// ```
///
/// Then the class name, the header map (repeated `u32 keyLen, key, u32 valueLen, value`), the content, and for v2
/// frames with `ver1` 2 and the CRC switch on, a CRC32 of everything before it.
struct BoltLayout {
    let isV2: Bool
    /// Requests (and oneway requests) carry a 4-byte timeout where responses carry a 2-byte status.
    let isRequest: Bool

    init(isV2: Bool, isRequest: Bool) {
        self.isV2 = isV2
        self.isRequest = isRequest
    }

    /// Offset of the `type` byte, which decides which layout applies.
    static func typeOffset(isV2: Bool) -> Int { isV2 ? 2 : 1 }
    /// The shortest fixed header (a v1 response): nothing can be decided with fewer bytes.
    static let minimumHeaderLength = 20

    var typeOffset: Int { Self.typeOffset(isV2: isV2) }
    var cmdCodeOffset: Int { typeOffset + 1 }
    var commandVersionOffset: Int { cmdCodeOffset + 2 }
    var requestIDOffset: Int { commandVersionOffset + 1 }
    var codecOffset: Int { requestIDOffset + 4 }
    /// v2 only.
    var switchOffset: Int { codecOffset + 1 }
    /// The timeout (requests) or status (responses).
    var timeoutOrStatusOffset: Int { codecOffset + (isV2 ? 2 : 1) }
    var classLengthOffset: Int { timeoutOrStatusOffset + (isRequest ? 4 : 2) }
    var headerLengthOffset: Int { classLengthOffset + 2 }
    var contentLengthOffset: Int { headerLengthOffset + 2 }
    /// 22/20 (v1), 24/22 (v2).
    var headerLength: Int { contentLengthOffset + 4 }
}
