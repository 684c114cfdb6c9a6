/// A JSON syntax error with a 1-based line and column (columns count Unicode characters, a tab counts as one).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String
    /// Byte offset of the error in the input.
    public var offset: Int

    public init(line: Int, column: Int, message: String, offset: Int) {
        self.line = line
        self.column = column
        self.message = message
        self.offset = offset
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict RFC 8259 parser, written here so the config module needs no Foundation and so errors can point at a line
/// and column with a message a person can act on ("trailing comma", "comments are not allowed", ...).
///
/// Strict means: no comments, no trailing commas, no single quotes, no `NaN`, no leading zeros, no unescaped control
/// characters, valid UTF-8 only, no lone surrogates in `\u` escapes. A leading UTF-8 byte order mark is skipped, as
/// RFC 8259 allows. Nesting is limited to `maxDepth` so a hostile file cannot overflow the stack.
public struct JSONParser {
    public static let maxDepth = 256

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses a whole document: exactly one value, surrounded by optional whitespace.
    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.index = 3 }
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.index < bytes.count {
            throw parser.error("unexpected \(parser.describeHere()) after the JSON value")
        }
        return value
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input (expected a value)") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "+"): throw error("invalid number: a number cannot start with '+'")
        case UInt8(ascii: "."): throw error("invalid number: a number cannot start with '.' (write 0.5)")
        case UInt8(ascii: "'"): throw error("strings must use double quotes")
        case UInt8(ascii: "/"): throw error("comments are not allowed in JSON")
        case UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: ":"):
            throw error("unexpected \(describeHere()) (expected a value)")
        default:
            if isWordByte(bytes[index]) { return try parseWord() }
            throw error("unexpected \(describeHere()) (expected a value)")
        }
    }

    private mutating func parseWord() throws(JSONParseError) -> JSONValue {
        let start = index
        while index < bytes.count, isWordByte(bytes[index]) { index += 1 }
        let word = String(decoding: bytes[start..<index], as: UTF8.self)
        switch word {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "null": return .null
        default:
            throw error(
                "unexpected word \(quotedForMessage(word)) (literals are true, false, null; strings need double quotes)",
                at: start)
        }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        let open = index
        try enter(at: open)
        index += 1  // {
        var members: [JSONMember] = []
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw unclosed("object", open) }
            switch bytes[index] {
            case UInt8(ascii: "\""): break
            case UInt8(ascii: "'"): throw error("strings must use double quotes")
            case UInt8(ascii: "/"): throw error("comments are not allowed in JSON")
            default:
                if isWordByte(bytes[index]) { throw error("object keys must be strings in double quotes") }
                throw error("unexpected \(describeHere()) (expected a key in double quotes)")
            }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count else { throw unclosed("object", open) }
            guard bytes[index] == UInt8(ascii: ":") else {
                throw error("expected ':' after key \(quotedForMessage(key)), found \(describeHere())")
            }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            members.append(JSONMember(key: key, value: value))
            skipWhitespace()
            guard index < bytes.count else { throw unclosed("object", open) }
            switch bytes[index] {
            case UInt8(ascii: ","):
                let comma = index
                index += 1
                skipWhitespace()
                if peek(UInt8(ascii: "}")) { throw error("trailing comma (not allowed in JSON)", at: comma) }
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return .object(members)
            case UInt8(ascii: "/"):
                throw error("comments are not allowed in JSON")
            default:
                throw error("expected ',' or '}' after object member, found \(describeHere())")
            }
        }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        let open = index
        try enter(at: open)
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw unclosed("array", open) }
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw unclosed("array", open) }
            switch bytes[index] {
            case UInt8(ascii: ","):
                let comma = index
                index += 1
                skipWhitespace()
                if peek(UInt8(ascii: "]")) { throw error("trailing comma (not allowed in JSON)", at: comma) }
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return .array(elements)
            case UInt8(ascii: "/"):
                throw error("comments are not allowed in JSON")
            default:
                throw error("expected ',' or ']' after array element, found \(describeHere())")
            }
        }
    }

    private mutating func enter(at offset: Int) throws(JSONParseError) {
        depth += 1
        if depth > Self.maxDepth { throw error("nesting deeper than \(Self.maxDepth) levels", at: offset) }
    }

    private func unclosed(_ what: String, _ open: Int) -> JSONParseError {
        let (line, column) = Self.lineColumn(in: bytes, at: open)
        return error("unexpected end of input (\(what) opened at line \(line), column \(column) is not closed)")
    }

    // MARK: - Numbers

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as written.
    private mutating func parseNumber() throws(JSONParseError) -> String {
        let start = index
        if peek(UInt8(ascii: "-")) { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else {
            throw error("invalid number: expected a digit after '-'")
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) {
                throw error("invalid number: leading zeros are not allowed", at: start)
            }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: ".")) {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw error("invalid number: expected a digit after '.'")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw error("invalid number: expected a digit in the exponent")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, isWordByte(bytes[index]) {
            throw error("invalid number: unexpected \(describeHere()) (strings need double quotes)")
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    // MARK: - Strings

    private mutating func parseString() throws(JSONParseError) -> String {
        let open = index
        index += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated string", at: open) }
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &out)
            case 0..<0x20:
                let hint = b == 0x0A ? " (missing closing quote?)" : " (escape it, e.g. \\n or \\t)"
                throw error("control character U+\(hex4(UInt32(b))) in string\(hint)")
            case 0x80...:
                let length = try utf8SequenceLength()
                out.append(contentsOf: bytes[index..<index + length])
                index += length
            default:
                out.append(b)
                index += 1
            }
        }
    }

    private mutating func parseEscape(into out: inout [UInt8]) throws(JSONParseError) {
        let start = index
        index += 1  // backslash
        guard index < bytes.count else { throw error("unterminated string") }
        let c = bytes[index]
        index += 1
        switch c {
        case UInt8(ascii: "\""): out.append(c)
        case UInt8(ascii: "\\"): out.append(c)
        case UInt8(ascii: "/"): out.append(c)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var value = try hexQuad(escapeStart: start)
            if (0xD800...0xDBFF).contains(value) {
                // A high surrogate must be followed by \u and a low surrogate.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw error("invalid \\u escape: lone surrogate U+\(hex4(value))", at: start) }
                let lowStart = index
                index += 2
                let low = try hexQuad(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("invalid \\u escape: lone surrogate U+\(hex4(value))", at: start)
                }
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(value) {
                throw error("invalid \\u escape: lone surrogate U+\(hex4(value))", at: start)
            }
            // Valid by construction: surrogates were handled above.
            let scalar = Unicode.Scalar(value)!
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
            index -= 1
            throw error("invalid escape \\\(describeHere(bare: true)) in string", at: start)
        }
    }

    private mutating func hexQuad(escapeStart: Int) throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count, let digit = hexValue(bytes[index]) else {
                throw error("invalid \\u escape (expected 4 hex digits)", at: escapeStart)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// Length of the well-formed UTF-8 sequence at `index` (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
    private func utf8SequenceLength() throws(JSONParseError) -> Int {
        let b0 = bytes[index]
        let length: Int
        var lowest: UInt8 = 0x80
        var highest: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            lowest = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            highest = 0x9F
        case 0xF0:
            length = 4
            lowest = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            highest = 0x8F
        default: throw error("invalid UTF-8 byte 0x\(String(b0, radix: 16, uppercase: true))")
        }
        for k in 1..<length {
            guard index + k < bytes.count else { throw error("invalid UTF-8 (truncated sequence)") }
            let b = bytes[index + k]
            let (lo, hi) = k == 1 ? (lowest, highest) : (UInt8(0x80), UInt8(0xBF))
            guard b >= lo, b <= hi else { throw error("invalid UTF-8 sequence") }
        }
        return length
    }

    // MARK: - Helpers

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func peek(_ b: UInt8) -> Bool { index < bytes.count && bytes[index] == b }
    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    private func isWordByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || isDigit(b) || b == UInt8(ascii: "_")
    }
    private func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// `'x'` for printable ASCII, `U+00E9` for other characters, `end of input` past the end.
    private func describeHere(bare: Bool = false) -> String {
        guard index < bytes.count else { return "end of input" }
        let b = bytes[index]
        if b >= 0x21 && b < 0x7F { return bare ? String(UnicodeScalar(b)) : "'\(String(UnicodeScalar(b)))'" }
        if b < 0x80 { return "character U+\(hex4(UInt32(b)))" }
        var iterator = bytes[index...].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) {
            return "character U+\(hex4(scalar.value))"
        }
        return "byte 0x\(String(b, radix: 16, uppercase: true))"
    }

    private func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
        let at = min(offset ?? index, bytes.count)
        let (line, column) = Self.lineColumn(in: bytes, at: at)
        return JSONParseError(line: line, column: column, message: message, offset: at)
    }

    /// 1-based line and column of a byte offset; the column counts Unicode scalars, not bytes.
    static func lineColumn(in bytes: [UInt8], at offset: Int) -> (Int, Int) {
        var line = 1
        var column = 1
        var i = 0
        while i < offset && i < bytes.count {
            let b = bytes[i]
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return (line, column)
    }
}
