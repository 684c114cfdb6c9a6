/// A parsed JSON document, as close to the text as is useful for validating a config and reading telemetry.
///
/// Why not `[String: Any]` or Foundation's `JSONSerialization`: a config checker needs things those lose.
/// - Objects keep their members in order and keep duplicates, so the decoder can report `"Name"` next to `"name"`
///   (Go matches keys case-insensitively, so both would silently land in the same field in MOSN).
/// - Numbers stay as their source text, so `1`, `1.0`, `1.5` and `1e99` can be told apart and an integer field can say
///   exactly what it got instead of a rounded `Double`.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number exactly as written, e.g. `"-12"`, `"1.5"`, `"1e99"` (already checked against RFC 8259's grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order, duplicates kept.
    case object([JSONMember])

    /// "an object", "the string \"x\"", ... for messages like `expected an integer, got the string "5"`.
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let text): return "the number \(text)"
        case .string(let s): return "the string \(quotedForMessage(s))"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// True for the values Go's `omitempty` treats as "not set": `{}`, `[]`, `""`, `false`, `null`, `0`.
    /// Used to accept MOSN fields Skiff does not support when they are written but empty (the TCP sample has
    /// `"tls_context": {}`).
    public var isEmptyValue: Bool {
        switch self {
        case .null: return true
        case .bool(let b): return !b
        case .number(let text): return text == "0"
        case .string(let s): return s.isEmpty
        case .array(let a): return a.isEmpty
        case .object(let o): return o.isEmpty
        }
    }
}

/// One `"key": value` pair of a JSON object.
public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue
    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// `"text"` with quotes and backslashes escaped and long values shortened, for error messages (the parser's, the
/// config decoder's): `quotedForMessage("a\"b")` is `"a\"b"`.
public func quotedForMessage(_ s: String, limit: Int = 60) -> String {
    var body = ""
    var count = 0
    for ch in s.unicodeScalars {
        if count == limit {
            body += "..."
            break
        }
        switch ch {
        case "\"": body += "\\\""
        case "\\": body += "\\\\"
        case "\n": body += "\\n"
        case "\t": body += "\\t"
        case "\r": body += "\\r"
        default:
            if ch.value < 0x20 {
                body += "\\u" + hex4(ch.value)
            } else {
                body.unicodeScalars.append(ch)
            }
        }
        count += 1
    }
    return "\"" + body + "\""
}

func hex4(_ v: UInt32) -> String {
    let digits = Array("0123456789ABCDEF")
    var out = ""
    for shift in stride(from: 12, through: 0, by: -4) {
        out.append(digits[Int((v >> UInt32(shift)) & 0xF)])
    }
    return out
}
