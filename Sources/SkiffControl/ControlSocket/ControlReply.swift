import SkiffJSON

/// Encodes reply lines (without the newline): `{"id":<id>,"ok":true,...fields}` and
/// `{"id":<id>,"ok":false,"error":"..."}`.
enum ControlReply {
    /// The reply line and whether it says `"ok":true`.
    static func encode(id: ControlRequestID, result: ControlResult) -> (line: [UInt8], ok: Bool) {
        switch result {
        case .error(let message):
            return (error(id: id, message), false)
        case .ok(let fields):
            guard let inner = objectInterior(fields) else {
                return (
                    error(id: id, "internal error: the engine's reply for this command is not a JSON object"), false
                )
            }
            var out: [UInt8] = Array(#"{"id":"#.utf8)
            id.append(to: &out)
            out.append(contentsOf: Array(#","ok":true"#.utf8))
            if !inner.isEmpty {
                out.append(UInt8(ascii: ","))
                out.append(contentsOf: inner)
            }
            out.append(UInt8(ascii: "}"))
            return (out, true)
        }
    }

    static func error(id: ControlRequestID, _ message: String) -> [UInt8] {
        var out: [UInt8] = Array(#"{"id":"#.utf8)
        id.append(to: &out)
        out.append(contentsOf: Array(#","ok":false,"error":"#.utf8))
        JSONWriter.appendString(message, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// What lies between an object's braces, whitespace-trimmed; `[]` for empty bytes or `{}`; nil when `fields` is
    /// not brace-delimited (the engine's bug, reported to the client rather than sent as broken JSON).
    static func objectInterior(_ fields: [UInt8]) -> ArraySlice<UInt8>? {
        var lo = fields.startIndex
        var hi = fields.endIndex
        while lo < hi, isSpace(fields[lo]) { lo += 1 }
        while hi > lo, isSpace(fields[hi - 1]) { hi -= 1 }
        if lo == hi { return [] }
        guard hi - lo >= 2, fields[lo] == UInt8(ascii: "{"), fields[hi - 1] == UInt8(ascii: "}") else { return nil }
        lo += 1
        hi -= 1
        while lo < hi, isSpace(fields[lo]) { lo += 1 }
        while hi > lo, isSpace(fields[hi - 1]) { hi -= 1 }
        return fields[lo..<hi]
    }

    /// JSON whitespace. Raw CR/LF can only be whitespace in valid JSON (inside strings they must be escaped), so
    /// `flattened` may turn them into spaces without changing the value.
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// Appends `line` and a newline to `out`, with any raw CR or LF in the line turned into a space so a
    /// pretty-printed object from the engine cannot break the one-object-per-line framing.
    static func appendLine(_ line: [UInt8], to out: inout OutgoingBuffer) {
        if line.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            out.append(line.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 })
        } else {
            out.append(line)
        }
        out.append(0x0A)
    }
}
