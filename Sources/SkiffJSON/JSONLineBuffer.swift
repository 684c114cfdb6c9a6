/// Writes one JSON line into memory the caller owns, without growing or allocating: for lines written thousands of
/// times a second whose longest form is known (connection events), where `JSONWriter`'s array and its per-call
/// comma bookkeeping cost more than the line itself. The caller writes structure with `raw` fragments (keys and
/// punctuation as one literal) and values with `quoted` and `digits`; escaping is `JSONWriter`'s, byte for byte.
///
/// Bounds: `quoted` needs up to 6 bytes per input byte plus 2 and `digits` up to 20; the caller sizes the buffer
/// with `JSONLineBuffer.quotedCapacity` and traps on overflow (a sizing bug, never input's doing).
///
/// A value type over borrowed memory: use it inside the `withUnsafeTemporaryAllocation` that provides the bytes.
public struct JSONLineBuffer: ~Copyable {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    /// Bytes written so far.
    public private(set) var count = 0

    public init(_ memory: UnsafeMutableBufferPointer<UInt8>) {
        base = memory.baseAddress!
        capacity = memory.count
    }

    /// The most bytes `quoted` can write for `utf8Count` bytes of input.
    public static func quotedCapacity(_ utf8Count: Int) -> Int { 6 * utf8Count + 2 }

    /// The line so far.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Bytes copied as they are: keys, punctuation, values known to need no escaping.
    public mutating func raw(_ literal: StaticString) {
        literal.withUTF8Buffer { raw($0) }
    }

    public mutating func raw(_ bytes: UnsafeBufferPointer<UInt8>) {
        precondition(count + bytes.count <= capacity, "JSONLineBuffer overflow: the caller sized it too small")
        if let source = bytes.baseAddress { (base + count).update(from: source, count: bytes.count) }
        count += bytes.count
    }

    public mutating func byte(_ value: UInt8) {
        precondition(count < capacity, "JSONLineBuffer overflow: the caller sized it too small")
        base[count] = value
        count += 1
    }

    /// Decimal digits, most significant first.
    public mutating func digits(_ value: UInt64) {
        precondition(count + 20 <= capacity, "JSONLineBuffer overflow: the caller sized it too small")
        count += JSONEscape.writeDigits(value, to: base + count)
    }

    /// A JSON string: quotes around `string`, escaped as `JSONWriter.string` escapes.
    public mutating func quoted(_ string: String) {
        var string = string
        string.withUTF8 { quoted($0) }
    }

    public mutating func quoted(_ utf8: UnsafeBufferPointer<UInt8>) {
        precondition(
            count + Self.quotedCapacity(utf8.count) <= capacity, "JSONLineBuffer overflow: the caller sized it too small")
        base[count] = UInt8(ascii: "\"")
        count += 1
        for byte in utf8 {
            if JSONEscape.needsEscape(byte) {
                count += JSONEscape.writeEscape(byte, to: base + count)
            } else {
                base[count] = byte
                count += 1
            }
        }
        base[count] = UInt8(ascii: "\"")
        count += 1
    }
}

/// JSON's escapes and decimal digits written into raw memory: shared by `JSONWriter` and `JSONLineBuffer` so both
/// write the same bytes.
enum JSONEscape {
    /// `"` and `\`, and control characters.
    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Writes the escape for `byte` (`\"`, `\\`, `\b \f \n \r \t`, others `\u00XX`): 2 or 6 bytes; returns how many.
    static func writeEscape(_ byte: UInt8, to p: UnsafeMutablePointer<UInt8>) -> Int {
        p[0] = UInt8(ascii: "\\")
        let short: UInt8? =
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): byte
            case 0x08: UInt8(ascii: "b")
            case 0x0C: UInt8(ascii: "f")
            case 0x0A: UInt8(ascii: "n")
            case 0x0D: UInt8(ascii: "r")
            case 0x09: UInt8(ascii: "t")
            default: nil
            }
        if let short {
            p[1] = short
            return 2
        }
        let hex: StaticString = "0123456789abcdef"
        hex.withUTF8Buffer { hex in
            p[1] = UInt8(ascii: "u")
            p[2] = UInt8(ascii: "0")
            p[3] = UInt8(ascii: "0")
            p[4] = hex[Int(byte >> 4)]
            p[5] = hex[Int(byte & 0xF)]
        }
        return 6
    }

    /// Writes `value` in decimal (1 to 20 bytes); returns how many.
    static func writeDigits(_ value: UInt64, to p: UnsafeMutablePointer<UInt8>) -> Int {
        var digits = 1
        var bound: UInt64 = 10
        while digits < 20 && value >= bound {
            digits += 1
            bound &*= 10
        }
        var rest = value
        var index = digits
        repeat {
            index -= 1
            p[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        } while index > 0
        return digits
    }
}
