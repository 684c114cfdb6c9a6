/// Reading members of parsed JSON without a switch at every step: absent or differently typed members read as nil
/// (or zero for the numeric accessors). Shared by the CLI, the telemetry decoder and the tests.
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

    /// A non-negative integer (0 when not a number; fractions truncated; negatives read as 0 and numbers past
    /// `UInt64.max` as `UInt64.max`, never a trap: the numbers come from another process).
    public var uint: UInt64 {
        guard case .number(let t) = self else { return 0 }
        if let exact = UInt64(t) { return exact }
        let d = Double(t) ?? 0
        if !(d > 0) { return 0 }
        return d >= 18_446_744_073_709_551_615.0 ? UInt64.max : UInt64(d)
    }

    /// An integer (0 when not a number; fractions truncated; clamped to `Int`'s range, never a trap).
    public var int: Int {
        guard case .number(let t) = self else { return 0 }
        if let exact = Int(t) { return exact }
        let d = Double(t) ?? 0
        if d.isNaN { return 0 }
        if d >= 9_223_372_036_854_775_807.0 { return Int.max }
        if d <= -9_223_372_036_854_775_808.0 { return Int.min }
        return Int(d)
    }
}
