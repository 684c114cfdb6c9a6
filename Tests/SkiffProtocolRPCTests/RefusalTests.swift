import SkiffProtocol
import Testing

/// What the codecs refuse, and that they refuse it by value, never by reading out of bounds.
@Suite struct RefusalTests {
    static func isInvalid(_ result: RPCFrameLength) -> Bool {
        if case .invalid = result { return true }
        return false
    }

    // MARK: Bolt

    @Test func boltUnknownProtocolCodeIsInvalidFromTheFirstByte() {
        for proto: UInt8 in [0x00, 0x03, 0xda, 0xff] {
            #expect(Self.isInvalid(frameLength(BoltCodec.self, [proto])))
            var frame = Vectors.boltRequest
            frame[0] = proto
            #expect(Self.isInvalid(frameLength(BoltV2Codec.self, frame)))
            #expect(parse(BoltCodec.self, frame).error != nil)
        }
    }

    @Test func boltUnknownTypeOrCommandCodeIsInvalid() {
        var frame = Vectors.boltRequest
        frame[1] = 3
        #expect(Self.isInvalid(frameLength(BoltCodec.self, Array(frame[..<2]))))
        frame = Vectors.boltRequest
        frame[3] = 7  // cmdcode 7
        #expect(Self.isInvalid(frameLength(BoltCodec.self, frame)))
        var v2 = BoltFrameBuilder(isV2: true).bytes
        v2[1] = 3  // ver1 3
        #expect(Self.isInvalid(frameLength(BoltV2Codec.self, Array(v2[..<2]))))
    }

    @Test func boltFramesOverTheLimitAreInvalid() {
        let limits = RPCLimits(maxFrameBytes: 810)
        #expect(Self.isInvalid(frameLength(BoltCodec.self, Vectors.boltRequest, limits: limits)))
        // Known from the header alone: no need to buffer the body first.
        #expect(Self.isInvalid(frameLength(BoltCodec.self, Array(Vectors.boltRequest[..<22]), limits: limits)))
        #expect(
            frameLength(BoltCodec.self, Vectors.boltRequest, limits: RPCLimits(maxFrameBytes: 811))
                == .complete(length: 811))
        var huge = Vectors.boltRequest
        huge.replaceSubrange(18..<22, with: [0xff, 0xff, 0xff, 0xff])  // contentLen 4 GiB
        #expect(Self.isInvalid(frameLength(BoltCodec.self, huge)))
    }

    @Test func boltIncompleteNeedsTheHeaderThenTheFrame() {
        #expect(frameLength(BoltCodec.self, []) == .incomplete(needed: 20))
        #expect(frameLength(BoltCodec.self, [0x01]) == .incomplete(needed: 20))
        #expect(frameLength(BoltCodec.self, [0x01, 0x01]) == .incomplete(needed: 22))
        #expect(frameLength(BoltCodec.self, [0x01, 0x00]) == .incomplete(needed: 20))
        #expect(frameLength(BoltCodec.self, [0x02, 0x01]) == .incomplete(needed: 22))
        #expect(frameLength(BoltCodec.self, [0x02, 0x01, 0x01]) == .incomplete(needed: 24))
        #expect(frameLength(BoltCodec.self, Array(Vectors.boltRequest[..<22])) == .incomplete(needed: 811))
    }

    /// Entry boundaries of the request vector's header map, as offsets into the map (from its 16 entries).
    static let mapEntryEnds = [91, 127, 169, 236, 278, 329, 367, 402, 447, 479, 553, 587, 624, 666, 708, 742]

    /// Moving bytes from the header map's length to the content's keeps the frame whole but cuts the map: every cut
    /// inside an entry is a truncated map.
    @Test func boltHeaderMapCutAnywhereIsAnErrorUnlessOnAnEntryBoundary() {
        let original = Vectors.boltRequest
        for shortened in 0..<742 {
            var frame = original
            let cut = 742 - shortened
            frame.replaceSubrange(16..<18, with: [UInt8(shortened >> 8), UInt8(shortened & 0xff)])
            let content = 3 + cut
            frame.replaceSubrange(18..<22, with: [0, 0, UInt8(content >> 8), UInt8(content & 0xff)])
            #expect(frameLength(BoltCodec.self, frame) == .complete(length: 811))
            let (info, error) = parse(BoltCodec.self, frame)
            if shortened == 0 || Self.mapEntryEnds.contains(shortened) {
                #expect(error == nil, "map cut at \(shortened)")
                #expect(info.headerNames.count == Self.mapEntryEnds.filter { $0 <= shortened }.count)
            } else {
                #expect(error != nil, "map cut at \(shortened)")
            }
        }
    }

    @Test func boltHeaderLengthsThatOverrunTheMapAreErrors() {
        let mapStart = 22 + 44
        // First key length, first value length, and the last entry's value length (at 742 - 5 - 4).
        for offset in [mapStart, mapStart + 4 + 24, mapStart + 742 - 5 - 4] {
            for value: UInt32 in [0xffff_ffff, 0x8000_0000, 743, 0x0001_0000] {
                var frame = Vectors.boltRequest
                withUnsafeBytes(of: value.bigEndian) { frame.replaceSubrange(offset..<(offset + 4), with: $0) }
                let (_, error) = parse(BoltCodec.self, frame)
                #expect(error != nil, "length \(value) at \(offset)")
            }
        }
    }

    @Test func boltParseRefusesBuffersThatAreNotExactlyOneFrame() {
        #expect(parse(BoltCodec.self, []).error != nil)
        #expect(parse(BoltCodec.self, Array(Vectors.boltRequest.dropLast())).error != nil)
        #expect(parse(BoltCodec.self, Vectors.boltRequest + [0]).error != nil)
    }

    // MARK: Dubbo

    @Test func dubboBadMagicIsInvalidFromTheFirstBytes() {
        #expect(Self.isInvalid(frameLength(DubboCodec.self, [0xdb])))
        #expect(Self.isInvalid(frameLength(DubboCodec.self, [0xda, 0xbc])))
        #expect(Self.isInvalid(frameLength(DubboCodec.self, Vectors.boltRequest)))
        var frame = Vectors.dubboRequest
        frame[1] = 0xbc
        #expect(Self.isInvalid(frameLength(DubboCodec.self, frame)))
        #expect(parse(DubboCodec.self, frame).error != nil)
    }

    @Test func dubboFramesOverTheLimitAreInvalid() {
        #expect(
            Self.isInvalid(frameLength(DubboCodec.self, Vectors.dubboRequest, limits: RPCLimits(maxFrameBytes: 522))))
        #expect(
            Self.isInvalid(
                frameLength(DubboCodec.self, Array(Vectors.dubboRequest[..<16]), limits: RPCLimits(maxFrameBytes: 522)))
        )
        var huge = Vectors.dubboRequest
        huge.replaceSubrange(12..<16, with: [0xff, 0xff, 0xff, 0xff])
        #expect(Self.isInvalid(frameLength(DubboCodec.self, huge)))
        #expect(frameLength(DubboCodec.self, Array(Vectors.dubboRequest[..<16])) == .incomplete(needed: 523))
        #expect(frameLength(DubboCodec.self, []) == .incomplete(needed: 16))
    }

    @Test func dubboParseRefusesBuffersThatAreNotExactlyOneFrame() {
        #expect(parse(DubboCodec.self, []).error != nil)
        #expect(parse(DubboCodec.self, Array(Vectors.dubboRequest[..<15])).error != nil)
        #expect(parse(DubboCodec.self, Array(Vectors.dubboRequest.dropLast())).error != nil)
        #expect(parse(DubboCodec.self, Vectors.dubboRequest + [0x4e]).error != nil)
    }
}
