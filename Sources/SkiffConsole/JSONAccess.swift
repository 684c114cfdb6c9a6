import SkiffJSON

/// Member access for frames and events (absent or mistyped members read as empty / zero).
extension JSONValue {
    var arr: [JSONValue] { arrayValue }
    var str: String? { stringValue }
    var bool: Bool? { boolValue }
    var num: Double { number }
    var u: UInt64 { uint }
    var i: Int { int }
    /// A short rendering of a scalar (for event fields).
    var scalarText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let t): return t
        case .string(let s): return s
        case .array(let a): return "[\(a.count)]"
        case .object(let o): return "{\(o.count)}"
        }
    }
}

extension Optional where Wrapped == JSONValue {
    var arr: [JSONValue] { self?.arr ?? [] }
    var str: String? { self?.str }
    var bool: Bool? { self?.bool }
    var num: Double { self?.num ?? 0 }
    var u: UInt64 { self?.u ?? 0 }
    var i: Int { self?.i ?? 0 }
    subscript(_ key: String) -> JSONValue? { self?[key] }
}
