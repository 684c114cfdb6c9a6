/// A cursor over hessian2 values in place: reads strings as byte ranges and integers, and skips any other value
/// without decoding it, which is all the proxy needs to reach a Dubbo request's attachments.
///
/// Strings: hessian2 lengths count UTF-16 code units, the bytes are UTF-8 (Java writes a supplementary character as
/// two 3-byte surrogates, others as one 4-byte sequence: both count 2 units). Every read checks bounds against `end`;
/// nothing allocates. Nesting deeper than `maxDepth` is refused rather than risking the stack.
///
/// Ownership: a plain value on the parsing thread's stack.
struct Hessian2Reader {
    let bytes: UnsafeRawBufferPointer
    /// Next byte to read.
    var position: Int
    let end: Int

    static let maxDepth = 32

    init(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) {
        self.bytes = bytes
        self.position = start
        self.end = end
    }

    /// What stood at the cursor when a string was expected.
    enum StringRead: Equatable {
        case string(Range<Int>)
        case null
        /// A non-final 'R' chunk: the text is not one byte range.
        case chunked
        case notString
        /// Lengths past the end, or bytes that are not UTF-8.
        case malformed
    }

    // MARK: Strings

    /// Reads a single-chunk string (or null) and moves past it; the cursor stays put on anything else.
    mutating func readString() -> StringRead {
        guard position < end else { return .malformed }
        let tag = bytes[position]
        if tag == Tag.null {
            position += 1
            return .null
        }
        if tag == Tag.stringChunk { return .chunked }
        guard Self.isStringTag(tag) else { return .notString }
        let saved = position
        guard let chunk = stringChunkHeader() else { return .malformed }
        let start = position
        guard skipUTF8(units: chunk.units) else {
            position = saved
            return .malformed
        }
        return .string(start..<position)
    }

    /// Skips a string of any number of chunks.
    mutating func skipString() -> Bool {
        while true {
            guard position < end, Self.isStringTag(bytes[position]), let chunk = stringChunkHeader(),
                skipUTF8(units: chunk.units)
            else { return false }
            if chunk.final { return true }
        }
    }

    static func isStringTag(_ tag: UInt8) -> Bool {
        tag <= 0x1f || (0x30...0x33).contains(tag) || tag == Tag.stringChunk || tag == Tag.stringFinal
    }

    /// Consumes a string chunk's tag and length: `x00-x1f`, `x30-x33 b0`, `'S' b1 b0` (final), `'R' b1 b0`.
    private mutating func stringChunkHeader() -> (units: Int, final: Bool)? {
        let tag = bytes[position]
        switch tag {
        case 0x00...0x1f:
            position += 1
            return (Int(tag), true)
        case 0x30...0x33:
            guard end - position >= 2 else { return nil }
            let units = Int(tag - 0x30) << 8 | Int(bytes[position + 1])
            position += 2
            return (units, true)
        case Tag.stringFinal, Tag.stringChunk:
            guard end - position >= 3 else { return nil }
            let units = Int(RPCWire.u16(bytes, at: position + 1))
            position += 3
            return (units, tag == Tag.stringFinal)
        default:
            return nil
        }
    }

    /// Moves past `units` UTF-16 code units of UTF-8; false (cursor unspecified) if they overrun or are not UTF-8.
    private mutating func skipUTF8(units: Int) -> Bool {
        var remaining = units
        var p = position
        // ASCII, the common case, one byte per unit.
        while remaining > 0, p < end, bytes[p] < 0x80 {
            p += 1
            remaining -= 1
        }
        while remaining > 0 {
            guard p < end else { return false }
            let lead = bytes[p]
            let width: Int
            var codeUnits = 1
            switch lead {
            case 0x00..<0x80: width = 1
            case 0xC0..<0xE0: width = 2
            case 0xE0..<0xF0: width = 3
            case 0xF0..<0xF8:
                width = 4
                codeUnits = 2
            default: return false
            }
            guard codeUnits <= remaining, width <= end - p else { return false }
            var k = 1
            while k < width {
                guard bytes[p + k] & 0xC0 == 0x80 else { return false }
                k += 1
            }
            p += width
            remaining -= codeUnits
        }
        position = p
        return true
    }

    // MARK: Numbers

    /// Reads a hessian2 `int` (`x80-xbf`, `xc0-xcf b0`, `xd0-xd7 b1 b0`, `'I' b3..b0`); nil leaves the cursor.
    mutating func readInt() -> Int? {
        guard position < end else { return nil }
        let tag = bytes[position]
        switch tag {
        case 0x80...0xbf:
            position += 1
            return Int(tag) - 0x90
        case 0xc0...0xcf:
            guard end - position >= 2 else { return nil }
            defer { position += 2 }
            return (Int(tag) - 0xc8) << 8 | Int(bytes[position + 1])
        case 0xd0...0xd7:
            guard end - position >= 3 else { return nil }
            defer { position += 3 }
            return (Int(tag) - 0xd4) << 16 | Int(RPCWire.u16(bytes, at: position + 1))
        case Tag.int:
            guard end - position >= 5 else { return nil }
            defer { position += 5 }
            return Int(Int32(bitPattern: RPCWire.u32(bytes, at: position + 1)))
        default:
            return nil
        }
    }

    /// Reads a hessian2 `int` or `long` (`xd8-xef`, `xf0-xff b0`, `x38-x3f b1 b0`, `x59 b3..b0`, `'L' b7..b0`).
    mutating func readInteger() -> Int? {
        if let value = readInt() { return value }
        guard position < end else { return nil }
        let tag = bytes[position]
        switch tag {
        case 0xd8...0xef:
            position += 1
            return Int(tag) - 0xe0
        case 0xf0...0xff:
            guard end - position >= 2 else { return nil }
            defer { position += 2 }
            return (Int(tag) - 0xf8) << 8 | Int(bytes[position + 1])
        case 0x38...0x3f:
            guard end - position >= 3 else { return nil }
            defer { position += 3 }
            return (Int(tag) - 0x3c) << 16 | Int(RPCWire.u16(bytes, at: position + 1))
        case Tag.longInt32:
            guard end - position >= 5 else { return nil }
            defer { position += 5 }
            return Int(Int32(bitPattern: RPCWire.u32(bytes, at: position + 1)))
        case Tag.long:
            guard end - position >= 9 else { return nil }
            defer { position += 9 }
            return Int(Int64(bitPattern: RPCWire.u64(bytes, at: position + 1)))
        default:
            return nil
        }
    }

    // MARK: Maps

    /// Moves past a map's opening (`'H'`, or `'M'` and its type); false on anything else.
    mutating func beginMap() -> Bool {
        guard position < end else { return false }
        switch bytes[position] {
        case Tag.untypedMap:
            position += 1
            return true
        case Tag.typedMap:
            position += 1
            return skipType()
        default:
            return false
        }
    }

    /// At a list's or map's closing `'Z'`: consumes it and returns true.
    mutating func endIfAtEnd() -> Bool {
        guard position < end, bytes[position] == Tag.end else { return false }
        position += 1
        return true
    }

    // MARK: Skipping

    /// Skips one value of any type; false if it is malformed, too deep, or of a reserved tag.
    mutating func skipValue(_ classes: inout Hessian2ClassTable, depth: Int = 0) -> Bool {
        guard depth < Self.maxDepth else { return false }
        while true {
            guard position < end else { return false }
            let tag = bytes[position]
            switch tag {
            case 0x00...0x1f, 0x30...0x33, Tag.stringChunk, Tag.stringFinal:
                return skipString()
            case 0x20...0x2f:
                return skip(1 + Int(tag - 0x20))
            case 0x34...0x37:
                guard end - position >= 2 else { return false }
                return skip(2 + (Int(tag - 0x34) << 8 | Int(bytes[position + 1])))
            case Tag.binaryChunk, Tag.binaryFinal:
                return skipBinary()
            case Tag.null, Tag.true, Tag.false, 0x80...0xbf, 0xd8...0xef, Tag.doubleZero, Tag.doubleOne:
                return skip(1)
            case 0xc0...0xcf, 0xf0...0xff, Tag.doubleByte:
                return skip(2)
            case 0xd0...0xd7, 0x38...0x3f, Tag.doubleShort:
                return skip(3)
            case Tag.int, Tag.longInt32, Tag.dateMinutes, Tag.doubleFloat:
                return skip(5)
            case Tag.long, Tag.double, Tag.dateMillis:
                return skip(9)
            case Tag.ref:
                position += 1
                return readInt() != nil
            case Tag.untypedMap, Tag.typedMap:
                guard beginMap() else { return false }
                return skipEntriesUntilEnd(&classes, depth: depth, pairs: true)
            case Tag.variableTypedList:
                position += 1
                return skipType() && skipEntriesUntilEnd(&classes, depth: depth, pairs: false)
            case Tag.variableList:
                position += 1
                return skipEntriesUntilEnd(&classes, depth: depth, pairs: false)
            case Tag.fixedTypedList:
                position += 1
                guard skipType(), let count = readInt() else { return false }
                return skipValues(count, &classes, depth: depth)
            case Tag.fixedList:
                position += 1
                guard let count = readInt() else { return false }
                return skipValues(count, &classes, depth: depth)
            case 0x70...0x77:
                position += 1
                return skipType() && skipValues(Int(tag - 0x70), &classes, depth: depth)
            case 0x78...0x7f:
                position += 1
                return skipValues(Int(tag - 0x78), &classes, depth: depth)
            case Tag.classDefinition:
                // `class-def value`: record the field count, then skip the value that follows.
                position += 1
                guard skipString(), let fields = readInt(), fields >= 0, fields <= end - position else { return false }
                for _ in 0..<fields {
                    guard skipString() else { return false }
                }
                guard classes.append(fields) else { return false }
                continue
            case Tag.object:
                position += 1
                guard let index = readInt(), let fields = classes.fields(index) else { return false }
                return skipValues(fields, &classes, depth: depth)
            case 0x60...0x6f:
                position += 1
                guard let fields = classes.fields(Int(tag - 0x60)) else { return false }
                return skipValues(fields, &classes, depth: depth)
            default:
                return false
            }
        }
    }

    private mutating func skip(_ count: Int) -> Bool {
        guard count <= end - position else { return false }
        position += count
        return true
    }

    /// `'A' b1 b0 data` chunks ending with a `'B' b1 b0 data` chunk.
    private mutating func skipBinary() -> Bool {
        while true {
            guard end - position >= 3 else { return false }
            let final = bytes[position] == Tag.binaryFinal
            guard final || bytes[position] == Tag.binaryChunk else { return false }
            guard skip(3 + Int(RPCWire.u16(bytes, at: position + 1))) else { return false }
            if final { return true }
        }
    }

    /// A list's or map's type: a string, or an int referring to an earlier type.
    private mutating func skipType() -> Bool {
        guard position < end else { return false }
        if Self.isStringTag(bytes[position]) { return skipString() }
        return readInt() != nil
    }

    private mutating func skipValues(_ count: Int, _ classes: inout Hessian2ClassTable, depth: Int) -> Bool {
        // Each value takes at least a byte: a count past the end is malformed, and must not spin.
        guard count >= 0, count <= end - position else { return false }
        for _ in 0..<count {
            guard skipValue(&classes, depth: depth + 1) else { return false }
        }
        return true
    }

    private mutating func skipEntriesUntilEnd(_ classes: inout Hessian2ClassTable, depth: Int, pairs: Bool) -> Bool {
        while !endIfAtEnd() {
            guard skipValue(&classes, depth: depth + 1) else { return false }
            if pairs, !skipValue(&classes, depth: depth + 1) { return false }
        }
        return true
    }

    /// The tags named by letters in the hessian2 grammar.
    enum Tag {
        static let binaryChunk = UInt8(ascii: "A")
        static let binaryFinal = UInt8(ascii: "B")
        static let classDefinition = UInt8(ascii: "C")
        static let double = UInt8(ascii: "D")
        static let `false` = UInt8(ascii: "F")
        static let untypedMap = UInt8(ascii: "H")
        static let int = UInt8(ascii: "I")
        static let dateMillis = UInt8(ascii: "J")
        static let dateMinutes = UInt8(ascii: "K")
        static let long = UInt8(ascii: "L")
        static let typedMap = UInt8(ascii: "M")
        static let null = UInt8(ascii: "N")
        static let object = UInt8(ascii: "O")
        static let ref = UInt8(ascii: "Q")
        static let stringChunk = UInt8(ascii: "R")
        static let stringFinal = UInt8(ascii: "S")
        static let `true` = UInt8(ascii: "T")
        static let variableTypedList: UInt8 = 0x55
        static let fixedTypedList = UInt8(ascii: "V")
        static let variableList: UInt8 = 0x57
        static let fixedList: UInt8 = 0x58
        static let longInt32: UInt8 = 0x59
        static let end = UInt8(ascii: "Z")
        static let doubleZero: UInt8 = 0x5b
        static let doubleOne: UInt8 = 0x5c
        static let doubleByte: UInt8 = 0x5d
        static let doubleShort: UInt8 = 0x5e
        static let doubleFloat: UInt8 = 0x5f
    }
}

/// The field counts of the class definitions seen so far in one body, which object instances refer to by index.
/// Lives in caller-provided (stack) memory; a body with more definitions than it holds is not skipped.
struct Hessian2ClassTable {
    private let storage: UnsafeMutableBufferPointer<Int>
    private(set) var count = 0

    init(storage: UnsafeMutableBufferPointer<Int>) {
        self.storage = storage
    }

    mutating func append(_ fields: Int) -> Bool {
        guard count < storage.count else { return false }
        storage[count] = fields
        count += 1
        return true
    }

    func fields(_ index: Int) -> Int? {
        guard index >= 0, index < count else { return nil }
        return storage[index]
    }
}
