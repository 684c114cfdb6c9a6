import SkiffConfig

/// Member access for frames and events (absent or mistyped members read as empty / zero).
extension JSONValue {
    subscript(_ key: String) -> JSONValue? {
        if case .object(let m) = self { return m.first(where: { $0.key == key })?.value }
        return nil
    }
    var arr: [JSONValue] {
        if case .array(let a) = self { return a }
        return []
    }
    var str: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    var num: Double {
        if case .number(let t) = self { return Double(t) ?? 0 }
        return 0
    }
    var u: UInt64 {
        if case .number(let t) = self { return UInt64(t) ?? UInt64(Swift.max(0, Double(t) ?? 0)) }
        return 0
    }
    var i: Int {
        if case .number(let t) = self { return Int(t) ?? Int(Double(t) ?? 0) }
        return 0
    }
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
