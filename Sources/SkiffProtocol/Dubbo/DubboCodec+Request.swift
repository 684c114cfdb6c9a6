/// Reading a hessian2 request body (Dubbo `DubboCodec.encodeRequestData`) for routing:
///
/// ```text
/// dubbo version, service path, service version (or null), method name   strings: required
/// parameter descriptor ("Ljava/lang/String;I...")                      string
/// one value per parameter                                               skipped, not decoded
/// attachments                                                           map, string keys and values collected
/// ```
///
/// Past the method name everything is best effort: a descriptor, argument or attachment the skipper cannot follow
/// ends the walk quietly, keeping what was found.
extension DubboCodec {
    /// Class definitions one body may hold for the argument skipper (stack memory, 512 bytes).
    static let maxClassDefinitions = 64

    static func parseRequestBody(
        _ frame: UnsafeRawBufferPointer, into info: inout RPCFrameInfo, maxHeaders: Int
    ) -> RPCError? {
        var reader = Hessian2Reader(frame, from: Dubbo.headerLength, to: frame.count)
        switch reader.readString() {
        case .string: break
        case let other: return leadingStringError(other, notString: "dubbo: dubbo version is not a hessian2 string")
        }
        let path: Range<Int>
        switch reader.readString() {
        case .string(let range): path = range
        case let other: return leadingStringError(other, notString: "dubbo: service path is not a hessian2 string")
        }
        switch reader.readString() {
        case .string(let range): info.version = range
        case .null: break
        case let other: return leadingStringError(other, notString: "dubbo: service version is not a hessian2 string")
        }
        switch reader.readString() {
        case .string(let range): info.method = range
        case let other: return leadingStringError(other, notString: "dubbo: method name is not a hessian2 string")
        }
        info.service = path

        guard case .string(let descriptor) = reader.readString(),
            let argumentCount = argumentCount(frame, descriptor)
        else { return nil }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: maxClassDefinitions) { storage in
            var classes = Hessian2ClassTable(storage: storage)
            for _ in 0..<argumentCount {
                guard reader.skipValue(&classes) else { return }
            }
            readAttachments(&reader, &classes, into: &info, maxHeaders: maxHeaders)
        }
        return nil
    }

    private static func leadingStringError(_ read: Hessian2Reader.StringRead, notString: StaticString) -> RPCError {
        switch read {
        case .chunked: RPCError("dubbo: chunked hessian2 string in the request's leading fields is not supported")
        case .malformed: RPCError("dubbo: hessian2 string overruns the body or is not UTF-8")
        case .string, .null, .notString: RPCError(notString)
        }
    }

    /// How many parameters a JVM method descriptor lists: primitives `VZBCDFIJS`, objects `L...;`, arrays `[` of
    /// either. nil if it is not a descriptor.
    static func argumentCount(_ frame: UnsafeRawBufferPointer, _ descriptor: Range<Int>) -> Int? {
        var count = 0
        var i = descriptor.lowerBound
        while i < descriptor.upperBound {
            switch frame[i] {
            case UInt8(ascii: "["):
                i += 1
                continue
            case UInt8(ascii: "V"), UInt8(ascii: "Z"), UInt8(ascii: "B"), UInt8(ascii: "C"), UInt8(ascii: "D"),
                UInt8(ascii: "F"), UInt8(ascii: "I"), UInt8(ascii: "J"), UInt8(ascii: "S"):
                i += 1
            case UInt8(ascii: "L"):
                i += 1
                while i < descriptor.upperBound, frame[i] != UInt8(ascii: ";") { i += 1 }
                guard i < descriptor.upperBound else { return nil }
                i += 1
            default:
                return nil
            }
            count += 1
        }
        return count
    }

    /// Walks the attachment map (`'H'` or typed `'M'`; null or anything else means none). String→string entries go
    /// to the header lists (up to `maxHeaders`); `interface` sets the service, `group` the group, `version` the
    /// version when the body had none, `timeout` (a decimal string or a hessian2 integer) the timeout.
    private static func readAttachments(
        _ reader: inout Hessian2Reader, _ classes: inout Hessian2ClassTable, into info: inout RPCFrameInfo,
        maxHeaders: Int
    ) {
        let frame = reader.bytes
        guard reader.beginMap() else { return }
        while !reader.endIfAtEnd() {
            let key: Range<Int>?
            switch reader.readString() {
            case .string(let range): key = range
            case .null: key = nil
            case .chunked, .notString:
                guard reader.skipValue(&classes) else { return }
                key = nil
            case .malformed: return
            }
            guard let key else {
                guard reader.skipValue(&classes) else { return }
                continue
            }
            switch reader.readString() {
            case .string(let value):
                if info.headerNames.count < maxHeaders {
                    info.headerNames.append(key)
                    info.headerValues.append(value)
                }
                if RPCWire.equals(frame, key, "interface") {
                    info.service = value
                } else if RPCWire.equals(frame, key, "group") {
                    info.group = value
                } else if RPCWire.equals(frame, key, "version") {
                    if info.version == nil { info.version = value }
                } else if RPCWire.equals(frame, key, "timeout") {
                    if let ms = RPCWire.decimal(frame, value), ms > 0 { info.timeoutMs = ms }
                }
            case .null:
                break
            case .chunked, .notString:
                if RPCWire.equals(frame, key, "timeout"), let ms = reader.readInteger() {
                    if ms > 0 { info.timeoutMs = ms }
                } else {
                    guard reader.skipValue(&classes) else { return }
                }
            case .malformed:
                return
            }
        }
    }
}
