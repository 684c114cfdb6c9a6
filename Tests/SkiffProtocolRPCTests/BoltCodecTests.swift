import Testing

@testable import SkiffProtocol

@Suite struct BoltCodecTests {
    // MARK: Reference vectors

    @Test func requestVectorParsesToTheREADMEFields() throws {
        let frame = Vectors.boltRequest
        #expect(frame.count == 811)
        #expect(frameLength(BoltCodec.self, frame) == .complete(length: 811))
        let (info, error) = parse(BoltCodec.self, frame)
        #expect(error == nil)
        #expect(info.kind == .request)
        #expect(info.requestID == 109)
        #expect(info.timeoutMs == 100)
        #expect(info.codecByte == 11)
        #expect(info.protocolVersion == Bolt.ProtocolCode.v1)
        #expect(text(frame, info.service) == "com.alipay.rpc.common.service.facade.pb.SampleServicePb:1.0")
        #expect(text(frame, info.method) == "hello")
        #expect(info.version == nil && info.group == nil)
        #expect(header(info, "sofa_head_target_app", in: frame) == "bar1")
        #expect(header(info, "rpc_trace_context.sofaTraceId", in: frame) == "0ba616a11523251819114100218738")
        #expect(header(info, "rpc_trace_context.sofaPenAttrs", in: frame) == "")
        #expect(header(info, "absent", in: frame) == nil)
        // Fixed header fields straight from the bytes: class 44, header map 742, content 3.
        #expect(RPCWire.u16(frame.withUnsafeBytes { $0 }, at: 14) == 44)
        let all = headers(info, in: frame)
        #expect(all.count == 16)
        #expect(all.first?.0 == "sofa_head_target_service")
        #expect(all.last! == ("sofa_head_method_name", "hello"))
        #expect(text(frame, 22..<66) == "com.alipay.sofa.rpc.core.request.SofaRequest")
        #expect(Array(frame[(811 - 3)...]) == [0x0a, 0x01, 0x61])
    }

    @Test func responseVectorParsesToTheREADMEFields() {
        let frame = Vectors.boltResponse
        #expect(frameLength(BoltCodec.self, frame) == .complete(length: 69))
        let (info, error) = parse(BoltCodec.self, frame)
        #expect(error == nil)
        #expect(info.kind == .response)
        #expect(info.requestID == 132)
        #expect(info.status == 0)
        #expect(info.codecByte == 11)
        #expect(info.timeoutMs == nil)
        #expect(info.headerNames.isEmpty && info.service == nil && info.method == nil)
        #expect(text(frame, 20..<66) == "com.alipay.sofa.rpc.core.response.SofaResponse")
    }

    @Test(arguments: [Vectors.boltRequest, Vectors.boltResponse])
    func requestIDIsRewrittenInPlaceAndBack(_ original: [UInt8]) {
        let id = parse(BoltCodec.self, original).info.requestID
        var frame = original
        setRequestID(BoltCodec.self, 0x1_DEAD_BEEF, in: &frame)  // ids are 32 bits on the wire: the low ones
        #expect(parse(BoltCodec.self, frame).info.requestID == 0xDEAD_BEEF)
        #expect(Array(frame[5..<9]) == [0xde, 0xad, 0xbe, 0xef])
        #expect(Array(frame[..<5]) == Array(original[..<5]) && Array(frame[9...]) == Array(original[9...]))
        setRequestID(BoltCodec.self, id, in: &frame)
        #expect(frame == original)
    }

    @Test func heartbeatEncodersWriteTheREADMEBytes() throws {
        let request = try #require(encode { BoltCodec.encodeHeartbeatRequest(id: 1, into: $0, capacity: $1) })
        #expect(request == Vectors.boltHeartbeatRequest)
        let (info, error) = parse(BoltCodec.self, request)
        #expect(error == nil)
        #expect(info.kind == .heartbeatRequest)
        #expect(info.requestID == 1)
        #expect(info.timeoutMs == nil)  // -1: no timeout
        let response = try #require(encode { BoltCodec.encodeHeartbeatResponse(to: info, into: $0, capacity: $1) })
        #expect(response == Vectors.boltHeartbeatResponse)
        let answer = parse(BoltCodec.self, response)
        #expect(answer.error == nil)
        #expect(answer.info.kind == .heartbeatResponse)
        #expect(answer.info.requestID == 1 && answer.info.status == 0)
    }

    @Test func heartbeatResponseEchoesTheRequestsIDAndCodec() throws {
        var request = BoltFrameBuilder(type: 1, cmdCode: 0, id: 0xFFFF_FFFE, codec: 11, timeoutOrStatus: -1)
        request.className = ""
        request.content = []
        let info = parse(BoltCodec.self, request.bytes).info
        #expect(info.kind == .heartbeatRequest)
        let response = try #require(encode { BoltCodec.encodeHeartbeatResponse(to: info, into: $0, capacity: $1) })
        #expect(response == Vectors.bytes(hex: "01 00 0000 01 fffffffe 0b 0000 0000 0000 00000000"))
    }

    @Test func encodersRefuseSmallBuffers() {
        let info = parse(BoltCodec.self, Vectors.boltRequest).info
        #expect(encode(capacity: 19) { BoltCodec.encodeHeartbeatResponse(to: info, into: $0, capacity: $1) } == nil)
        #expect(encode(capacity: 21) { BoltCodec.encodeHeartbeatRequest(id: 1, into: $0, capacity: $1) } == nil)
        #expect(
            encode(capacity: 19) {
                BoltCodec.encodeErrorResponse(to: info, error: .timeout, message: "x", into: $0, capacity: $1)
            } == nil)
        #expect(encode(capacity: 23) { BoltV2Codec.encodeHeartbeatRequest(id: 1, into: $0, capacity: $1) } == nil)
    }

    // MARK: Error responses

    static let statuses: [(RPCErrorKind, Int)] = [
        (.timeout, 0x0007), (.noUpstream, 0x0006), (.overflow, 0x0004), (.codec, 0x0009), (.upstreamReset, 0x0010),
    ]

    @Test(arguments: statuses)
    func errorResponsesRoundTrip(_ kind: RPCErrorKind, _ status: Int) throws {
        for codec in [BoltCodec.self, BoltV2Codec.self] as [any RPCCodec.Type] {
            let request = parse(codec, Vectors.boltRequest).info
            let bytes = try #require(
                encode {
                    codec.encodeErrorResponse(to: request, error: kind, message: "ignored", into: $0, capacity: $1)
                })
            // Answered in the request's layout (v1) whichever Bolt codec answers.
            #expect(bytes.count == 20)
            #expect(frameLength(codec, bytes) == .complete(length: 20))
            let (info, error) = parse(codec, bytes)
            #expect(error == nil)
            #expect(info.kind == .response)
            #expect(info.requestID == 109)
            #expect(info.status == status)
            #expect(info.codecByte == 11)
            #expect(info.protocolVersion == 1)
            #expect(Array(bytes[2..<4]) == [0, 2])  // cmdcode RPC response
        }
    }

    @Test(arguments: statuses)
    func errorResponsesToV2RequestsAreV2(_ kind: RPCErrorKind, _ status: Int) throws {
        let request = parse(BoltCodec.self, BoltFrameBuilder(isV2: true, id: 42, codec: 1).bytes).info
        #expect(request.protocolVersion == 2)
        let bytes = try #require(
            encode { BoltCodec.encodeErrorResponse(to: request, error: kind, message: "", into: $0, capacity: $1) })
        #expect(bytes.count == 22)
        #expect(Array(bytes[..<3]) == [2, 1, 0])  // proto 2, ver1 1, type response
        let info = parse(BoltV2Codec.self, bytes).info
        #expect(info.kind == .response && info.requestID == 42 && info.status == status)
    }

    // MARK: Bolt v2

    @Test func handBuiltV2RequestParses() throws {
        let builder = BoltFrameBuilder(
            isV2: true, type: 1, cmdCode: 1, id: 0x0102_0304, codec: 11, timeoutOrStatus: 2500,
            headers: [("sofa_head_target_service", "com.example.Echo:1.0"), ("sofa_head_method_name", "echo")])
        let frame = builder.bytes
        #expect(Array(frame[..<6]) == [0x02, 0x01, 0x01, 0x00, 0x01, 0x01])
        #expect(frameLength(BoltV2Codec.self, frame) == .complete(length: frame.count))
        #expect(frameLength(BoltCodec.self, frame) == .complete(length: frame.count))
        let (info, error) = parse(BoltV2Codec.self, frame)
        #expect(error == nil)
        #expect(info.kind == .request)
        #expect(info.requestID == 0x0102_0304)
        #expect(info.timeoutMs == 2500)
        #expect(info.codecByte == 11)
        #expect(info.protocolVersion == 2)
        #expect(text(frame, info.service) == "com.example.Echo:1.0")
        #expect(text(frame, info.method) == "echo")

        var rewritten = frame
        setRequestID(BoltV2Codec.self, 9, in: &rewritten)
        #expect(Array(rewritten[6..<10]) == [0, 0, 0, 9])
        setRequestID(BoltV2Codec.self, 0x0102_0304, in: &rewritten)
        #expect(rewritten == frame)
    }

    @Test func handBuiltV2ResponseParses() {
        let frame = BoltFrameBuilder(
            isV2: true, type: 0, cmdCode: 2, id: 5, codec: 1, timeoutOrStatus: 0x10,
            className: "com.alipay.sofa.rpc.core.response.SofaResponse", headers: [("k", "v")]
        ).bytes
        #expect(frameLength(BoltV2Codec.self, frame) == .complete(length: frame.count))
        let (info, error) = parse(BoltV2Codec.self, frame)
        #expect(error == nil)
        #expect(info.kind == .response && info.requestID == 5 && info.status == 0x10)
        #expect(headers(info, in: frame).map { $0.0 + "=" + $0.1 } == ["k=v"])
    }

    @Test func v2HeartbeatsUseTheV2Layout() throws {
        let request = try #require(encode { BoltV2Codec.encodeHeartbeatRequest(id: 1, into: $0, capacity: $1) })
        #expect(request == Vectors.bytes(hex: "02 01 01 0000 01 00000001 01 00 ffffffff 0000 0000 00000000"))
        let info = parse(BoltV2Codec.self, request).info
        #expect(info.kind == .heartbeatRequest && info.protocolVersion == 2)
        let response = try #require(encode { BoltV2Codec.encodeHeartbeatResponse(to: info, into: $0, capacity: $1) })
        #expect(response == Vectors.bytes(hex: "02 01 00 0000 01 00000001 01 00 0000 0000 0000 00000000"))
        // A v1 heartbeat answered by the v2 codec stays v1.
        let v1 = parse(BoltCodec.self, Vectors.boltHeartbeatRequest).info
        let answer = try #require(encode { BoltV2Codec.encodeHeartbeatResponse(to: v1, into: $0, capacity: $1) })
        #expect(answer == Vectors.boltHeartbeatResponse)
    }

    @Test func v2CRCIsCountedAndRefreshedWhenTheIDChanges() {
        #expect(Array("123456789".utf8).withUnsafeBytes { BoltCRC32.checksum($0) } == 0xCBF4_3926)
        let builder = BoltFrameBuilder(isV2: true, version1: 2, switchByte: 0x01, id: 77, headers: [("service", "s")])
        let frame = builder.bytes
        var noCRC = builder
        noCRC.switchByte = 0
        #expect(frame.count == noCRC.bytes.count + 4)
        #expect(frameLength(BoltV2Codec.self, frame) == .complete(length: frame.count))
        #expect(frameLength(BoltV2Codec.self, Array(frame.dropLast())) == .incomplete(needed: frame.count))
        let (info, error) = parse(BoltV2Codec.self, frame)
        #expect(error == nil && info.requestID == 77 && text(frame, info.service) == "s")

        var rewritten = frame
        setRequestID(BoltV2Codec.self, 78, in: &rewritten)
        var expected = builder
        expected.id = 78
        #expect(rewritten == expected.bytes)  // id and CRC both
        setRequestID(BoltV2Codec.self, 77, in: &rewritten)
        #expect(rewritten == frame)

        // ver1 1 with the switch on carries no CRC (sofa-bolt reads one only for ver1 2).
        var v1Switch = builder
        v1Switch.version1 = 1
        #expect(frameLength(BoltV2Codec.self, v1Switch.bytes) == .complete(length: noCRC.bytes.count))
    }

    // MARK: Kinds

    @Test func kindsFollowTypeAndCommandCode() {
        func kind(type: UInt8, cmdCode: UInt16) -> RPCFrameKind? {
            let frame = BoltFrameBuilder(type: type, cmdCode: cmdCode).bytes
            let (info, error) = parse(BoltCodec.self, frame)
            return error == nil ? info.kind : nil
        }
        #expect(kind(type: 1, cmdCode: 1) == .request)
        #expect(kind(type: 2, cmdCode: 1) == .oneway)
        #expect(kind(type: 0, cmdCode: 2) == .response)
        #expect(kind(type: 1, cmdCode: 0) == .heartbeatRequest)
        #expect(kind(type: 0, cmdCode: 0) == .heartbeatResponse)
        #expect(kind(type: 1, cmdCode: 100) == .goAway)
        // Pairs that do not go together, and unknown codes, are refused.
        #expect(kind(type: 0, cmdCode: 1) == nil)
        #expect(kind(type: 1, cmdCode: 2) == nil)
        #expect(kind(type: 0, cmdCode: 100) == nil)
        #expect(kind(type: 1, cmdCode: 3) == nil)
    }

    @Test func serviceHeaderWinsOverTargetServiceWhateverTheOrder() {
        let frame = BoltFrameBuilder(headers: [("sofa_head_target_service", "b"), ("service", "a")]).bytes
        #expect(text(frame, parse(BoltCodec.self, frame).info.service) == "a")
        let only = BoltFrameBuilder(headers: [("sofa_head_target_service", "b")]).bytes
        #expect(text(only, parse(BoltCodec.self, only).info.service) == "b")
    }

    @Test func nonPositiveTimeoutsAreAbsent() {
        for t: Int32 in [0, -1, Int32.min] {
            #expect(parse(BoltCodec.self, BoltFrameBuilder(timeoutOrStatus: t).bytes).info.timeoutMs == nil)
        }
        #expect(parse(BoltCodec.self, BoltFrameBuilder(timeoutOrStatus: .max).bytes).info.timeoutMs == Int(Int32.max))
    }

    @Test func headerEntriesPastTheLimitAreSkippedNotRefused() {
        let frame = Vectors.boltRequest
        var info = RPCFrameInfo()
        let error = frame.withUnsafeBytes { BoltCodec.parse($0, into: &info, limits: RPCLimits(maxHeaders: 3)) }
        #expect(error == nil)
        #expect(info.headerNames.count == 3 && info.headerValues.count == 3)
        // Routing keys are found past the limit all the same.
        #expect(text(frame, info.method) == "hello")
        #expect(text(frame, info.service) == "com.alipay.rpc.common.service.facade.pb.SampleServicePb:1.0")
    }

    @Test func parseResetsTheReusedInfo() {
        var info = RPCFrameInfo()
        _ = Vectors.boltRequest.withUnsafeBytes { BoltCodec.parse($0, into: &info) }
        #expect(info.headerNames.count == 16)
        _ = Vectors.boltResponse.withUnsafeBytes { BoltCodec.parse($0, into: &info) }
        #expect(info.headerNames.isEmpty && info.service == nil && info.timeoutMs == nil && info.requestID == 132)
    }
}

extension BoltCodecTests {
    @Test func v2FramesWithABadCRCAreRefused() {
        var frame = BoltFrameBuilder(isV2: true, version1: 2, switchByte: 1, headers: [("service", "s")]).bytes
        frame[frame.count - 1] ^= 0x01
        #expect(frameLength(BoltV2Codec.self, frame) == .complete(length: frame.count))
        #expect(parse(BoltV2Codec.self, frame).error == RPCError("bolt: CRC32 mismatch"))
    }
}
