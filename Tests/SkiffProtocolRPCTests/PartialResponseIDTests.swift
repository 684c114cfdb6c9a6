import SkiffProtocol
import Testing

/// `requestID(ofPartial:)` tells which request a response cut short was answering (so the proxy never sends that one
/// again): the id once enough of the header has come, nil before.
@Suite struct PartialResponseIDTests {
    static func partialID(_ codec: any RPCCodec.Type, _ bytes: [UInt8]) -> UInt64? {
        bytes.withUnsafeBytes { codec.requestID(ofPartial: $0) }
    }

    /// Every prefix of a frame: nil until the id's last byte is there, then the id the whole frame parses to.
    static func check(_ codec: any RPCCodec.Type, _ frame: [UInt8], idEnd: Int, id: UInt64? = nil) {
        let id = id ?? parse(codec, frame).info.requestID
        for n in 0...frame.count {
            let got = partialID(codec, Array(frame.prefix(n)))
            #expect(got == (n >= idEnd ? id : nil), "\(codec) prefix \(n): \(String(describing: got))")
        }
    }

    @Test func boltV1ResponsesAndRequests() {
        Self.check(BoltCodec.self, Vectors.boltResponse, idEnd: 9)
        Self.check(BoltCodec.self, Vectors.boltRequest, idEnd: 9)
    }

    @Test func boltV2Responses() {
        var b = BoltFrameBuilder(isV2: true, version1: 2, switchByte: 1, type: 0, id: 0x0102_0304)
        b.className = "com.alipay.sofa.rpc.core.response.SofaResponse"
        b.timeoutOrStatus = 0
        Self.check(BoltV2Codec.self, b.bytes, idEnd: 10, id: 0x0102_0304)
    }

    @Test func dubboResponses() {
        let response: [UInt8] = [0xda, 0xbb, 0x02, 20, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 2, 0x91, 0x4e]
        Self.check(DubboCodec.self, response, idEnd: 12)
        #expect(Self.partialID(DubboCodec.self, response) == 0x1234)
        Self.check(DubboCodec.self, Vectors.dubboRequest, idEnd: 12)
    }
}
