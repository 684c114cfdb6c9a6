import SkiffProtocol
import SkiffTestSupport
import Testing

/// Every prefix of every vector, and corrupted copies of them: the codecs answer by value and never trap (an
/// out-of-bounds read traps in these debug builds, so passing means none happened).
@Suite struct RobustnessTests {
    enum Codec: Sendable {
        case bolt, boltV2, dubbo
        var type: any RPCCodec.Type {
            switch self {
            case .bolt: BoltCodec.self
            case .boltV2: BoltV2Codec.self
            case .dubbo: DubboCodec.self
            }
        }
    }

    struct Vector: CustomTestStringConvertible, Sendable {
        let name: String
        let bytes: [UInt8]
        let wire: Codec
        var codec: any RPCCodec.Type { wire.type }
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "bolt request", bytes: Vectors.boltRequest, wire: .bolt),
        Vector(name: "bolt response", bytes: Vectors.boltResponse, wire: .bolt),
        Vector(name: "bolt heartbeat", bytes: Vectors.boltHeartbeatRequest, wire: .bolt),
        Vector(
            name: "bolt v2 request with CRC",
            bytes: BoltFrameBuilder(isV2: true, version1: 2, switchByte: 1, headers: [("service", "s")]).bytes,
            wire: .boltV2),
        Vector(name: "dubbo request", bytes: Vectors.dubboRequest, wire: .dubbo),
    ]

    @Test(arguments: vectors)
    func everyPrefixIsIncomplete(_ vector: Vector) {
        let n = vector.bytes.count
        #expect(frameLength(vector.codec, vector.bytes) == .complete(length: n))
        for length in 0..<n {
            let prefix = Array(vector.bytes[..<length])
            switch frameLength(vector.codec, prefix) {
            case .incomplete(let needed):
                #expect(needed > length && needed <= n, "prefix \(length) needs \(needed)")
            case let other:
                Issue.record("prefix \(length): \(other)")
            }
            // Parsing a partial frame is refused, not trapped on.
            #expect(parse(vector.codec, prefix).error != nil, "prefix \(length)")
        }
    }

    /// Length, then parse when complete; whatever the bytes, only values come back.
    static func exercise(_ codec: any RPCCodec.Type, _ bytes: [UInt8]) {
        switch frameLength(codec, bytes) {
        case .complete(let length):
            #expect(length <= bytes.count)
            var frame = Array(bytes[..<length])
            let (info, error) = parse(codec, frame)
            if error == nil {
                // Every range the parser hands out lies inside the frame.
                for range in [info.service, info.method, info.version, info.group].compactMap({ $0 })
                    + info.headerNames + info.headerValues
                {
                    #expect(range.lowerBound >= 0 && range.upperBound <= length)
                }
                let before = frame
                setRequestID(codec, info.requestID, in: &frame)
                #expect(frame == before)
            }
        case .incomplete(let needed):
            #expect(needed > bytes.count)
        case .invalid:
            break
        }
        _ = parse(codec, bytes)
    }

    @Test(arguments: vectors)
    func flippedBytesNeverTrap(_ vector: Vector) {
        let original = vector.bytes
        for i in original.indices {
            for mask: UInt8 in [0x01, 0x80, 0xff] {
                var corrupted = original
                corrupted[i] ^= mask
                Self.exercise(vector.codec, corrupted)
            }
        }
    }

    @Test(arguments: vectors)
    func everyValueInTheHeaderNeverTraps(_ vector: Vector) {
        let headerLength = min(vector.bytes.count, 24)
        for i in 0..<headerLength {
            for value in 0...255 {
                var corrupted = vector.bytes
                corrupted[i] = UInt8(value)
                Self.exercise(vector.codec, corrupted)
            }
        }
    }

    /// The hessian2 body is where a parser wanders: every tag value at every body position of the Dubbo vector.
    @Test func everyTagAtEveryDubboBodyPositionNeverTraps() {
        let original = Vectors.dubboRequest
        for i in 16..<original.count {
            for value in 0...255 {
                var corrupted = original
                corrupted[i] = UInt8(value)
                Self.exercise(DubboCodec.self, corrupted)
            }
        }
    }

    /// Seeded random bytes after a valid header, and random frames that keep their length consistent.
    @Test func randomBodiesNeverTrap() {
        var rng = SplitMix64(seed: 0x5eed)
        for _ in 0..<3000 {
            let bodyLength = Int(rng.next() % 96)
            let body = (0..<bodyLength).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let flag: UInt8 = [0xc2, 0x82, 0xe2, 0x02, 0x22][Int(rng.next() % 5)]
            Self.exercise(DubboCodec.self, dubboFrame(flag: flag, id: rng.next(), body: body))
            // A valid prefix of leading strings then noise: the skipper's territory.
            let prefix = H.string("2.0.2") + H.string("p") + [0x4e] + H.string("m") + H.string("I")
            Self.exercise(DubboCodec.self, dubboFrame(flag: 0xc2, id: 1, body: prefix + body))

            var bolt = BoltFrameBuilder()
            bolt.isV2 = rng.next() % 2 == 0
            bolt.className = ""
            bolt.content = []
            var frame = bolt.bytes
            let mapOffset = frame.count
            frame += body
            let lengthOffset = bolt.isV2 ? 18 : 16
            frame[lengthOffset] = UInt8(bodyLength >> 8)
            frame[lengthOffset + 1] = UInt8(bodyLength & 0xff)
            #expect(frame.count == mapOffset + bodyLength)
            Self.exercise(bolt.isV2 ? BoltV2Codec.self : BoltCodec.self, frame)
        }
    }
}
