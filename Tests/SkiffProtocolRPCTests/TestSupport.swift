import SkiffProtocol

// MARK: Running codecs on arrays

func frameLength(_ codec: any RPCCodec.Type, _ bytes: [UInt8], limits: RPCLimits = .default) -> RPCFrameLength {
    bytes.withUnsafeBytes { codec.frameLength($0, limits: limits) }
}

/// Parses `bytes` as one whole frame.
func parse(_ codec: any RPCCodec.Type, _ bytes: [UInt8]) -> (info: RPCFrameInfo, error: RPCError?) {
    var info = RPCFrameInfo()
    let error = bytes.withUnsafeBytes { codec.parse($0, into: &info) }
    return (info, error)
}

func setRequestID(_ codec: any RPCCodec.Type, _ id: UInt64, in bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { codec.setRequestID(id, in: $0) }
}

/// Runs an encoder into a buffer of `capacity` bytes; the written prefix, or nil when the encoder refused.
func encode(capacity: Int = 512, _ body: (UnsafeMutableRawPointer, Int) -> Int?) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0xEE, count: max(capacity, 1))
    let written = buffer.withUnsafeMutableBytes { body($0.baseAddress!, capacity) }
    guard let written else { return nil }
    precondition(written <= capacity, "encoder wrote past its capacity")
    return Array(buffer[..<written])
}

/// The text at `range` of `bytes`.
func text(_ bytes: [UInt8], _ range: Range<Int>?) -> String? {
    guard let range, range.lowerBound >= 0, range.upperBound <= bytes.count else { return nil }
    return String(decoding: bytes[range], as: UTF8.self)
}

/// Header `name` of a parsed frame, through the contract's own lookup.
func header(_ info: RPCFrameInfo, _ name: String, in bytes: [UInt8]) -> String? {
    let key = Array(name.utf8)
    let value: [UInt8]? = bytes.withUnsafeBytes { frame in
        key.withUnsafeBytes { info.header($0, in: frame).map { Array($0) } }
    }
    return value.map { String(decoding: $0, as: UTF8.self) }
}

/// All header entries as text pairs, in order.
func headers(_ info: RPCFrameInfo, in bytes: [UInt8]) -> [(String, String)] {
    zip(info.headerNames, info.headerValues).map { (text(bytes, $0)!, text(bytes, $1)!) }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

// MARK: Building frames

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}

/// A Bolt frame built field by field from the layout (independently of the codec's own writer).
struct BoltFrameBuilder {
    var isV2 = false
    var version1: UInt8 = 1
    var switchByte: UInt8 = 0
    var type: UInt8 = 1
    var cmdCode: UInt16 = 1
    var commandVersion: UInt8 = 1
    var id: UInt32 = 7
    var codec: UInt8 = 1
    /// The timeout (requests) or the status (responses, low 16 bits).
    var timeoutOrStatus: Int32 = 3000
    var className: String = "com.alipay.sofa.rpc.core.request.SofaRequest"
    var headers: [(String, String)] = []
    var content: [UInt8] = [0x0a, 0x01, 0x61]

    var bytes: [UInt8] {
        var map: [UInt8] = []
        for (k, v) in headers {
            map.appendBigEndian(UInt32(k.utf8.count))
            map.append(contentsOf: k.utf8)
            map.appendBigEndian(UInt32(v.utf8.count))
            map.append(contentsOf: v.utf8)
        }
        var out: [UInt8] = [isV2 ? 2 : 1]
        if isV2 { out.append(version1) }
        out.append(type)
        out.appendBigEndian(cmdCode)
        out.append(commandVersion)
        out.appendBigEndian(id)
        out.append(codec)
        if isV2 { out.append(switchByte) }
        if type == 0 {
            out.appendBigEndian(UInt16(truncatingIfNeeded: timeoutOrStatus))
        } else {
            out.appendBigEndian(timeoutOrStatus)
        }
        out.appendBigEndian(UInt16(className.utf8.count))
        out.appendBigEndian(UInt16(map.count))
        out.appendBigEndian(UInt32(content.count))
        out.append(contentsOf: className.utf8)
        out.append(contentsOf: map)
        out.append(contentsOf: content)
        if isV2, version1 == 2, switchByte & 1 != 0 { out.appendBigEndian(bitwiseCRC32(out)) }
        return out
    }
}

/// CRC-32/IEEE bit by bit: an implementation independent of the codec's table-driven one.
func bitwiseCRC32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// A Dubbo frame: header then `body`.
func dubboFrame(flag: UInt8, status: UInt8 = 0, id: UInt64, body: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0xda, 0xbb, flag, status]
    out.appendBigEndian(id)
    out.appendBigEndian(UInt32(body.count))
    return out + body
}

/// Hessian2 encodings for building bodies by hand.
enum H {
    /// A string in the shortest single-chunk form; the length counts UTF-16 units.
    static func string(_ s: String) -> [UInt8] {
        header(units: s.utf16.count) + Array(s.utf8)
    }

    /// A single-chunk string header for `units` UTF-16 units.
    static func header(units: Int) -> [UInt8] {
        switch units {
        case 0...31: [UInt8(units)]
        case 32...1023: [0x30 + UInt8(units >> 8), UInt8(units & 0xff)]
        default: [0x53, UInt8(units >> 8), UInt8(units & 0xff)]
        }
    }

    static func int(_ v: Int32) -> [UInt8] {
        switch v {
        case -16...47: [UInt8(Int(v) + 0x90)]
        case -2048...2047: [UInt8(0xc8 + (Int(v) >> 8)), UInt8(truncatingIfNeeded: v)]
        case -262_144...262_143:
            [UInt8(0xd4 + (Int(v) >> 16)), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
        default:
            [0x49] + withUnsafeBytes(of: v.bigEndian) { Array($0) }
        }
    }

    /// A request body: dubbo version, path, version, method, descriptor, arguments, attachments.
    static func request(
        path: String = "com.example.Echo", version: String? = "1.0.0", method: String = "echo",
        descriptor: String, arguments: [UInt8], attachments: [UInt8]
    ) -> [UInt8] {
        string("2.0.2") + string(path) + (version.map(string) ?? [0x4e]) + string(method) + string(descriptor)
            + arguments + attachments
    }

    /// An untyped map `'H' (key value)* 'Z'` of string pairs.
    static func map(_ pairs: [(String, String)]) -> [UInt8] {
        [0x48] + pairs.flatMap { string($0.0) + string($0.1) } + [0x5a]
    }
}
