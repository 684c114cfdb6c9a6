import Foundation

/// The field numbers in a message's unknown-field bytes (the fields this build's protos do not model), read from the
/// protobuf wire format, so a rejection can say which field it was. Pure; any thread.
enum UnknownFields {
    /// `field 38 is not supported by skiff`, or `fields 38, 40 are ...` for several.
    static func reason(_ data: Data) -> String {
        let numbers = fieldNumbers(data)
        guard !numbers.isEmpty else { return "unreadable unknown fields are not supported by skiff" }
        if numbers.count == 1 { return "field \(numbers[0]) is not supported by skiff" }
        return "fields \(numbers.map(String.init).joined(separator: ", ")) are not supported by skiff"
    }

    /// The distinct field numbers in `data`, in order of first appearance; stops at the first malformed byte.
    static func fieldNumbers(_ data: Data) -> [UInt64] {
        let bytes = [UInt8](data)
        var i = 0
        var out: [UInt64] = []
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while i < bytes.count, shift < 64 {
                let b = bytes[i]
                i += 1
                value |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while i < bytes.count {
            guard let tag = varint() else { break }
            let number = tag >> 3
            if number == 0 { break }
            if !out.contains(number) { out.append(number) }
            switch tag & 7 {
            case 0: guard varint() != nil else { return out }
            case 1: i += 8
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - min(i, bytes.count)) else { return out }
                i += Int(length)
            case 3, 4: break  // group start/end: the fields inside are listed too
            case 5: i += 4
            default: return out
            }
        }
        return out
    }
}
