/// Reading members of parsed JSON without a switch at every step: absent or differently typed members read as nil
/// (or zero for the numeric accessors). Shared by the CLI, the console and the tests.
extension JSONValue {
    /// The member `key` of an object (the first, when a key repeats).
    public subscript(_ key: String) -> JSONValue? {
        if case .object(let m) = self { return m.first(where: { $0.key == key })?.value }
        return nil
    }

    public var arrayValue: [JSONValue] {
        if case .array(let a) = self { return a }
        return []
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// A number as Double (0 when not a number).
    public var number: Double {
        if case .number(let t) = self { return Double(t) ?? 0 }
        return 0
    }

    /// A non-negative integer (0 when not a number; fractions truncated).
    public var uint: UInt64 {
        if case .number(let t) = self { return UInt64(t) ?? UInt64(max(0, Double(t) ?? 0)) }
        return 0
    }

    /// An integer (0 when not a number; fractions truncated).
    public var int: Int {
        if case .number(let t) = self { return Int(t) ?? Int(Double(t) ?? 0) }
        return 0
    }
}
