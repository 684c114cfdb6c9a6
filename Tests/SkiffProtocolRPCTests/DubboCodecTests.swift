import SkiffProtocol
import Testing

@Suite struct DubboCodecTests {
    // MARK: Reference vector

    @Test func requestVectorParsesToTheREADMEFields() {
        let frame = Vectors.dubboRequest
        #expect(frame.count == 523)
        #expect(frameLength(DubboCodec.self, frame) == .complete(length: 523))
        let (info, error) = parse(DubboCodec.self, frame)
        #expect(error == nil)
        #expect(info.kind == .request)
        #expect(info.requestID == 76)
        #expect(info.codecByte == 2)
        #expect(info.status == 0)
        #expect(text(frame, info.method) == "stopNotifyJob")
        #expect(text(frame, info.version) == "2.0.1-vpc-test")
        #expect(text(frame, info.service) == "com.raycloud.notify.api.service.NotifyJobRequest")
        #expect(info.group == nil)
        #expect(info.timeoutMs == 5000)
        #expect(header(info, "interface", in: frame) == "com.raycloud.notify.api.service.NotifyJobRequest")
        #expect(header(info, "version", in: frame) == "2.0.1-vpc-test")
        #expect(header(info, "timeout", in: frame) == "5000")
        #expect(header(info, "path", in: frame) == "com.raycloud.notify.api.service.NotifyJobRequest")
        #expect(header(info, "dubboApplication", in: frame) == "com-raycloud-admin-x")
        #expect(
            headers(info, in: frame).map(\.0) == [
                "a.s.u", "a.s.t", "a.s.d", "path", "dubboApplication", "interface", "version", "timeout",
            ])
    }

    @Test func serviceIsThePathWhenThereIsNoInterfaceAttachment() {
        // The path is the leading string; the vector's `interface` equals it, so check on a body without one.
        let body = H.request(
            path: "com.example.Path", descriptor: "", arguments: [], attachments: H.map([("group", "blue")]))
        let frame = dubboFrame(flag: 0xc2, id: 1, body: body)
        let (info, error) = parse(DubboCodec.self, frame)
        #expect(error == nil)
        #expect(text(frame, info.service) == "com.example.Path")
        #expect(text(frame, info.group) == "blue")
        let withInterface = dubboFrame(
            flag: 0xc2, id: 1,
            body: H.request(
                path: "p", descriptor: "", arguments: [], attachments: H.map([("interface", "com.example.Iface")])))
        #expect(text(withInterface, parse(DubboCodec.self, withInterface).info.service) == "com.example.Iface")
    }

    @Test func requestIDIsRewrittenInPlaceAndBack() {
        let original = Vectors.dubboRequest
        var frame = original
        setRequestID(DubboCodec.self, 0x0102_0304_0506_0708, in: &frame)
        #expect(Array(frame[4..<12]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(parse(DubboCodec.self, frame).info.requestID == 0x0102_0304_0506_0708)
        #expect(Array(frame[..<4]) == Array(original[..<4]) && Array(frame[12...]) == Array(original[12...]))
        setRequestID(DubboCodec.self, 76, in: &frame)
        #expect(frame == original)
    }

    // MARK: Heartbeats and events

    @Test func heartbeatsRoundTrip() throws {
        let request = try #require(encode { DubboCodec.encodeHeartbeatRequest(id: 9, into: $0, capacity: $1) })
        #expect(request == Vectors.bytes(hex: "dabb e2 00 0000000000000009 00000001 4e"))
        #expect(frameLength(DubboCodec.self, request) == .complete(length: 17))
        let (info, error) = parse(DubboCodec.self, request)
        #expect(error == nil)
        #expect(info.kind == .heartbeatRequest && info.requestID == 9)
        let response = try #require(encode { DubboCodec.encodeHeartbeatResponse(to: info, into: $0, capacity: $1) })
        #expect(response == Vectors.bytes(hex: "dabb 22 14 0000000000000009 00000001 4e"))
        let answer = parse(DubboCodec.self, response)
        #expect(answer.error == nil)
        #expect(answer.info.kind == .heartbeatResponse && answer.info.requestID == 9 && answer.info.status == 20)
        #expect(encode(capacity: 16) { DubboCodec.encodeHeartbeatRequest(id: 9, into: $0, capacity: $1) } == nil)
        #expect(encode(capacity: 16) { DubboCodec.encodeHeartbeatResponse(to: info, into: $0, capacity: $1) } == nil)
    }

    @Test func mosnsTwoNullHeartbeatReplyIsAHeartbeatResponse() {
        let frame = dubboFrame(flag: 0x22, status: 20, id: 3, body: [0x4e, 0x4e])
        #expect(parse(DubboCodec.self, frame).info.kind == .heartbeatResponse)
    }

    @Test func readonlyEventIsGoAway() {
        let frame = dubboFrame(flag: 0xa2, id: 4, body: H.string("R"))
        let (info, error) = parse(DubboCodec.self, frame)
        #expect(error == nil && info.kind == .goAway)
    }

    @Test func onewayAndOtherSerializations() {
        let body = H.request(descriptor: "", arguments: [], attachments: [0x4e])
        let oneway = dubboFrame(flag: 0x82, id: 5, body: body)
        let (info, error) = parse(DubboCodec.self, oneway)
        #expect(error == nil && info.kind == .oneway && text(oneway, info.method) == "echo")
        // Not hessian2: proxied without routing fields, not refused.
        let kryo = dubboFrame(flag: 0xc8, id: 6, body: [0xff, 0x00, 0x13])
        let other = parse(DubboCodec.self, kryo)
        #expect(other.error == nil && other.info.kind == .request && other.info.codecByte == 8)
        #expect(other.info.service == nil && other.info.method == nil)
    }

    @Test func responsesCarryTheirStatus() {
        let frame = dubboFrame(flag: 0x02, status: 70, id: 11, body: H.string("boom"))
        let (info, error) = parse(DubboCodec.self, frame)
        #expect(error == nil && info.kind == .response && info.status == 70 && info.requestID == 11)
    }

    // MARK: Error responses

    static let statuses: [(RPCErrorKind, Int)] = [
        (.timeout, 31), (.noUpstream, 60), (.overflow, 100), (.codec, 40), (.upstreamReset, 80),
    ]

    @Test(arguments: statuses)
    func errorResponsesRoundTrip(_ kind: RPCErrorKind, _ status: Int) throws {
        let request = parse(DubboCodec.self, Vectors.dubboRequest).info
        let bytes = try #require(
            encode {
                DubboCodec.encodeErrorResponse(
                    to: request, error: kind, message: "skiff: upstream failed", into: $0, capacity: $1)
            })
        #expect(frameLength(DubboCodec.self, bytes) == .complete(length: bytes.count))
        let (info, error) = parse(DubboCodec.self, bytes)
        #expect(error == nil)
        #expect(info.kind == .response)
        #expect(info.requestID == 76)
        #expect(info.status == status)
        #expect(bytes[2] == 0x02)  // response, hessian2
        #expect(Array(bytes[16...]) == H.string("skiff: upstream failed"))
    }

    @Test func errorMessagesUseEveryStringForm() throws {
        let request = parse(DubboCodec.self, Vectors.dubboRequest).info
        func body(_ message: StaticString) throws -> [UInt8] {
            let bytes = try #require(
                encode(capacity: 4096) {
                    DubboCodec.encodeErrorResponse(to: request, error: .codec, message: message, into: $0, capacity: $1)
                })
            return Array(bytes[16...])
        }
        #expect(try body("") == [0x00])
        #expect(try body("é中😀") == H.string("é中😀"))  // 4 UTF-16 units, 9 bytes
        let medium: StaticString = """
            0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
            """
        #expect(try body(medium) == H.string(medium.description))
        #expect(try body(medium).first == 0x30)
        #expect(
            encode(capacity: 20) {
                DubboCodec.encodeErrorResponse(to: request, error: .codec, message: "hello", into: $0, capacity: $1)
            } == nil)
    }

    // MARK: Bodies built by hand

    @Test func multiByteStringsCountUTF16Units() {
        let path = "com.例え.Sérvice😀"  // 2-, 3- and 4-byte UTF-8
        let body = H.request(
            path: path, method: "méthod", descriptor: "Ljava/lang/String;",
            arguments: H.string("😀😀 ascii 中文"), attachments: H.map([("group", "grüppe"), ("k😀", "v")]))
        let frame = dubboFrame(flag: 0xc2, id: 1, body: body)
        let (info, error) = parse(DubboCodec.self, frame)
        #expect(error == nil)
        #expect(text(frame, info.service) == path)
        #expect(text(frame, info.method) == "méthod")
        #expect(text(frame, info.group) == "grüppe")
        #expect(header(info, "k😀", in: frame) == "v")
    }

    @Test func javaSurrogatePairsCountTwoUnits() {
        // Java's hessian writes U+1F600 as two 3-byte surrogates: ED A0 BD ED B8 80, length 2.
        let cesu: [UInt8] = [0x02, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]
        let body = H.string("2.0.2") + cesu + [0x4e] + H.string("m") + H.string("") + H.map([("group", "g")])
        let frame = dubboFrame(flag: 0xc2, id: 1, body: body)
        let (info, error) = parse(DubboCodec.self, frame)
        #expect(error == nil)
        #expect(info.service == 23..<29)
        #expect(info.version == nil)
        #expect(text(frame, info.group) == "g")
    }

    /// Every hessian2 value form as an argument, then attachments the codec must still reach.
    @Test func theSkipperReachesAttachmentsPastEveryValueForm() {
        var args: [[UInt8]] = []
        var descriptor = ""
        func arg(_ bytes: [UInt8], _ type: String) {
            args.append(bytes)
            descriptor += type
        }
        arg([0x4e], "Ljava/lang/Object;")  // null
        arg([0x54], "Z")  // true
        arg([0x46], "Z")  // false
        arg([0x90], "I")  // int 0, one byte
        arg([0xc8, 0x10], "I")  // int, two bytes
        arg([0xd4, 0x10, 0x00], "I")  // int, three bytes
        arg([0x49, 0x7f, 0xff, 0xff, 0xff], "I")  // int, 'I'
        arg([0xe0], "J")  // long 0
        arg([0xf8, 0x01], "J")  // long, two bytes
        arg([0x3c, 0x01, 0x02], "J")  // long, three bytes
        arg([0x59, 0, 0, 1, 0], "J")  // long as int32
        arg([0x4c, 0, 0, 0, 0, 0, 0, 1, 0], "J")  // long, 'L'
        arg([0x5b], "D")  // double 0.0
        arg([0x5c], "D")  // double 1.0
        arg([0x5d, 0x80], "D")  // double as byte
        arg([0x5e, 0x01, 0x00], "D")  // double as short
        arg([0x5f, 0x3f, 0x80, 0, 0], "D")  // double as float
        arg([0x44, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18], "D")  // double, 'D'
        arg([0x4a, 0, 0, 0x01, 0x8b, 0, 0, 0, 0], "Ljava/util/Date;")  // date ms
        arg([0x4b, 0x00, 0xe3, 0x83, 0x8f], "Ljava/util/Date;")  // date minutes
        arg([0x23, 1, 2, 3], "[B")  // short binary
        arg([0x34, 0x03] + [UInt8](repeating: 7, count: 3), "[B")  // medium binary
        arg([0x41, 0x00, 0x02, 1, 2, 0x42, 0x00, 0x01, 3], "[B")  // chunked binary
        arg([0x52, 0x00, 0x02, 0x61, 0x62, 0x01, 0x63], "Ljava/lang/String;")  // chunked string "abc"
        arg([0x53, 0x00, 0x02, 0xc3, 0xa9, 0x21], "Ljava/lang/String;")  // 'S' string "é!"
        arg([0x31, 0x00] + [UInt8](repeating: 0x61, count: 256), "Ljava/lang/String;")  // medium string
        arg([0x78], "[I")  // empty untyped fixed list
        arg([0x7a, 0x91, 0x92], "[I")  // untyped fixed list of 2
        arg([0x72] + H.string("[int") + [0x91, 0x92], "[I")  // typed fixed list of 2
        arg([0x56] + H.string("java.util.ArrayList") + [0x93, 0x91, 0x92, 0x93], "Ljava/util/List;")  // 'V'
        arg([0x57, 0x91, 0x4e, 0x5a], "Ljava/util/List;")  // untyped variable list
        arg([0x55, 0x90, 0x91, 0x5a], "Ljava/util/List;")  // typed variable list, type ref 0
        arg([0x58, 0x92, 0x91, 0x92], "Ljava/util/List;")  // untyped fixed list 'X'
        arg([0x48, 0x91, 0x4e, 0x01, 0x61, 0x57, 0x5a, 0x5a], "Ljava/util/Map;")  // map with a list value
        arg([0x4d] + H.string("java.util.HashMap") + H.string("k") + [0x91, 0x5a], "Ljava/util/Map;")  // typed map
        // Class definition then an instance by 'O' and a compact instance of the same class, then a ref.
        arg(
            [0x43] + H.string("com.example.Point") + [0x92] + H.string("x") + H.string("y") + [0x60, 0x91, 0x92],
            "Lcom/example/Point;")
        arg([0x4f, 0x90, 0x93, 0x94], "Lcom/example/Point;")
        arg([0x51, 0x90], "Lcom/example/Point;")
        // Nested: a list of maps of objects.
        arg([0x79, 0x48, 0x01, 0x70, 0x60, 0x95, 0x96, 0x5a], "[Ljava/util/Map;")

        let attachments =
            [0x48] + H.string("group") + H.string("blue") + H.string("timeout") + H.int(2500)
            + [0x91, 0x92]  // int key: skipped
            + H.string("x") + [0x4e]  // null value: skipped
            + H.string("interface") + H.string("com.example.Iface") + [0x5a]
        let body = H.request(descriptor: descriptor, arguments: args.flatMap { $0 }, attachments: attachments)
        let frame = dubboFrame(flag: 0xc2, id: 1, body: body)
        let (info, error) = parse(DubboCodec.self, frame)
        #expect(error == nil)
        #expect(text(frame, info.group) == "blue")
        #expect(info.timeoutMs == 2500)
        #expect(text(frame, info.service) == "com.example.Iface")
        #expect(headers(info, in: frame).map(\.0) == ["group", "interface"])
    }

    @Test func typedMapAttachmentsAndNullAttachments() {
        let typed = [0x4d] + H.string("java.util.HashMap") + H.string("group") + H.string("g") + [0x5a]
        let frame = dubboFrame(
            flag: 0xc2, id: 1, body: H.request(descriptor: "I", arguments: [0x91], attachments: typed))
        #expect(text(frame, parse(DubboCodec.self, frame).info.group) == "g")
        let none = dubboFrame(
            flag: 0xc2, id: 1, body: H.request(descriptor: "I", arguments: [0x91], attachments: [0x4e]))
        let (info, error) = parse(DubboCodec.self, none)
        #expect(error == nil && info.headerNames.isEmpty && text(none, info.method) == "echo")
    }

    @Test func unknownTagsStopTheWalkButKeepTheLeadingFields() {
        for bad: [UInt8] in [[0x40], [0x45], [0x47], [0x50], [0x5a], [0x60], [0x4f, 0x95], [0x51], [0x56]] {
            let frame = dubboFrame(
                flag: 0xc2, id: 1,
                body: H.request(descriptor: "I", arguments: bad, attachments: H.map([("group", "g")])))
            let (info, error) = parse(DubboCodec.self, frame)
            #expect(error == nil, "tag \(bad)")
            #expect(text(frame, info.service) == "com.example.Echo" && text(frame, info.method) == "echo")
            #expect(text(frame, info.version) == "1.0.0")
            #expect(info.group == nil)
        }
        // A descriptor that is not one stops the walk the same way.
        let frame = dubboFrame(
            flag: 0xc2, id: 1,
            body: H.request(descriptor: "Ljava/lang/String", arguments: [], attachments: H.map([("group", "g")])))
        let (info, error) = parse(DubboCodec.self, frame)
        #expect(error == nil && info.group == nil && text(frame, info.method) == "echo")
    }

    @Test func nestingDeeperThanTheLimitStopsTheWalk() {
        let deep = [UInt8](repeating: 0x79, count: 40) + [0x91]  // 40 nested one-element lists
        let frame = dubboFrame(
            flag: 0xc2, id: 1, body: H.request(descriptor: "I", arguments: deep, attachments: H.map([("group", "g")])))
        let (info, error) = parse(DubboCodec.self, frame)
        #expect(error == nil && info.group == nil)
        let shallow = [UInt8](repeating: 0x79, count: 20) + [0x91]
        let ok = dubboFrame(
            flag: 0xc2, id: 1,
            body: H.request(descriptor: "I", arguments: shallow, attachments: H.map([("group", "g")])))
        #expect(text(ok, parse(DubboCodec.self, ok).info.group) == "g")
    }

    @Test func leadingFieldsThatAreNotStringsAreErrors() {
        let dv = H.string("2.0.2")
        let cases: [[UInt8]] = [
            [0x91],  // dubbo version is an int
            dv + [0x4e],  // path null
            dv + H.string("p") + [0x91],  // version an int
            dv + H.string("p") + [0x4e] + [0x54],  // method true
            dv + H.string("p") + H.string("v"),  // method missing
            [0x52, 0x00, 0x01, 0x61, 0x01, 0x62],  // chunked dubbo version
            [0x05, 0x61, 0x62],  // string overruns the body
            [0x02, 0xff, 0xfe],  // not UTF-8
            [0x01, 0xf0, 0x9f, 0x98, 0x80],  // a 4-byte character where one unit remains
            [],  // empty body
        ]
        for body in cases {
            let (_, error) = parse(DubboCodec.self, dubboFrame(flag: 0xc2, id: 1, body: body))
            #expect(error != nil, "body \(hex(body))")
        }
    }

    @Test func timeoutAttachmentForms() {
        func timeout(_ value: [UInt8]) -> Int? {
            let attachments = [0x48] + H.string("timeout") + value + [0x5a]
            let frame = dubboFrame(
                flag: 0xc2, id: 1, body: H.request(descriptor: "", arguments: [], attachments: attachments))
            return parse(DubboCodec.self, frame).info.timeoutMs
        }
        #expect(timeout(H.string("3000")) == 3000)
        #expect(timeout(H.string("30s")) == nil)
        #expect(timeout(H.string("")) == nil)
        #expect(timeout(H.int(40)) == 40)
        #expect(timeout(H.int(3000)) == 3000)
        #expect(timeout(H.int(200_000)) == 200_000)
        #expect(timeout(H.int(9_000_000)) == 9_000_000)
        #expect(timeout([0xf8, 0x10]) == 16)  // long, two bytes
        #expect(timeout([0x4c, 0, 0, 0, 0, 0, 0, 0x0b, 0xb8]) == 3000)
        #expect(timeout(H.int(-5)) == nil)
    }

    @Test func attachmentsPastTheLimitAreSkippedNotRefused() {
        let frame = Vectors.dubboRequest
        var info = RPCFrameInfo()
        let error = frame.withUnsafeBytes { DubboCodec.parse($0, into: &info, limits: RPCLimits(maxHeaders: 2)) }
        #expect(error == nil)
        #expect(info.headerNames.count == 2)
        #expect(info.timeoutMs == 5000)
    }
}
