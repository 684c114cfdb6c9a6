import SkiffJSON

/// Decoding a ``TelemetryRecord`` from a parsed object. Tolerant by design: the console and `skiff ctl` read frames
/// from whatever skiff they are attached to, so a member that is absent, `null` or of another type keeps its
/// default instead of failing the whole frame; numbers out of range are clamped, never trapped on.
public struct JSONRecordReader: TelemetryCoder {
    private let members: [JSONMember]
    /// Where the previous member was found: members usually come in the order the schema walks them, so the next
    /// one is tried first and a frame decodes in one pass.
    private var next = 0

    public init(_ json: JSONValue) {
        if case .object(let m) = json { members = m } else { members = [] }
    }

    private mutating func member(_ key: StaticString) -> JSONValue? {
        if next < members.count, Self.same(members[next].key, key) {
            next += 1
            return members[next - 1].value
        }
        for (i, m) in members.enumerated() where Self.same(m.key, key) {
            next = i + 1
            return m.value
        }
        return nil
    }

    private static func same(_ name: String, _ key: StaticString) -> Bool {
        key.withUTF8Buffer { name.utf8.elementsEqual($0) }
    }

    private static func uint(_ v: JSONValue) -> UInt64? {
        guard case .number = v else { return nil }
        return v.uint
    }

    private static func int(_ v: JSONValue) -> Int? {
        guard case .number = v else { return nil }
        return v.int
    }

    /// A string, or a number's text (an older frame wrote some labels as numbers).
    private static func string(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): return s
        case .number(let t): return t
        default: return nil
        }
    }

    public mutating func field(_ key: StaticString, _ value: inout UInt64) {
        if let v = member(key).flatMap(Self.uint) { value = v }
    }

    public mutating func field(_ key: StaticString, _ value: inout Int) {
        if let v = member(key).flatMap(Self.int) { value = v }
    }

    public mutating func field(_ key: StaticString, _ value: inout Bool) {
        if let v = member(key)?.boolValue { value = v }
    }

    public mutating func field(_ key: StaticString, _ value: inout String) {
        if let v = member(key).flatMap(Self.string) { value = v }
    }

    public mutating func field(_ key: StaticString, _ value: inout UInt64?) {
        value = member(key).flatMap(Self.uint)
    }

    public mutating func field(_ key: StaticString, _ value: inout Int?) {
        value = member(key).flatMap(Self.int)
    }

    public mutating func field(_ key: StaticString, _ value: inout Bool?) {
        value = member(key)?.boolValue
    }

    public mutating func field(_ key: StaticString, _ value: inout String?) {
        value = member(key).flatMap(Self.string)
    }

    public mutating func field(_ key: StaticString, _ value: inout [UInt64]) {
        if case .array(let items)? = member(key) { value = items.map(\.uint) }
    }

    public mutating func field(_ key: StaticString, _ value: inout [UInt64]?) {
        if case .array(let items)? = member(key) { value = items.map(\.uint) } else { value = nil }
    }

    public mutating func field(_ key: StaticString, _ value: inout [String]) {
        if case .array(let items)? = member(key) { value = items.compactMap(Self.string) }
    }

    public mutating func field(_ key: StaticString, _ value: inout [String: String]?) {
        guard case .object(let entries)? = member(key) else {
            value = nil
            return
        }
        var map: [String: String] = [:]
        for e in entries where map[e.key] == nil { map[e.key] = Self.string(e.value) }
        value = map
    }

    public mutating func field(_ key: StaticString, _ value: inout [String: UInt64]) {
        guard case .object(let entries)? = member(key) else { return }
        var map: [String: UInt64] = [:]
        for e in entries where map[e.key] == nil { map[e.key] = Self.uint(e.value) }
        value = map
    }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout R) {
        if let v = member(key), case .object = v { value = R(json: v) }
    }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout R?) {
        if let v = member(key), case .object = v { value = R(json: v) } else { value = nil }
    }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout [R]) {
        if case .array(let items)? = member(key) { value = Self.records(items) }
    }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout [R]?) {
        if case .array(let items)? = member(key) { value = Self.records(items) } else { value = nil }
    }

    /// The objects of an array as records (anything else in it is skipped).
    private static func records<R: TelemetryRecord>(_ items: [JSONValue]) -> [R] {
        items.compactMap { item in
            guard case .object = item else { return nil }
            return R(json: item)
        }
    }

    public mutating func tag(_ key: StaticString, _ value: StaticString) {
        _ = member(key)
    }

    public mutating func otherMembers(_ rest: inout [JSONMember], known: [StaticString]) {
        rest = members.filter { m in !known.contains { Self.same(m.key, $0) } }
    }
}

/// Listing a ``TelemetryRecord``'s members as parsed JSON would hold them (``TelemetryRecord/jsonValue``): what the
/// console shows as an event's `key=value` fields.
public struct JSONMemberCollector: TelemetryCoder {
    public private(set) var members: [JSONMember] = []

    public init() {}

    private mutating func add(_ key: StaticString, _ value: JSONValue) {
        members.append(JSONMember(key: key.description, value: value))
    }

    public mutating func field(_ key: StaticString, _ value: inout UInt64) { add(key, .number(String(value))) }
    public mutating func field(_ key: StaticString, _ value: inout Int) { add(key, .number(String(value))) }
    public mutating func field(_ key: StaticString, _ value: inout Bool) { add(key, .bool(value)) }
    public mutating func field(_ key: StaticString, _ value: inout String) { add(key, .string(value)) }

    public mutating func field(_ key: StaticString, _ value: inout UInt64?) {
        if let v = value { add(key, .number(String(v))) }
    }

    public mutating func field(_ key: StaticString, _ value: inout Int?) {
        if let v = value { add(key, .number(String(v))) }
    }

    public mutating func field(_ key: StaticString, _ value: inout Bool?) {
        if let v = value { add(key, .bool(v)) }
    }

    public mutating func field(_ key: StaticString, _ value: inout String?) {
        if let v = value { add(key, .string(v)) }
    }

    public mutating func field(_ key: StaticString, _ value: inout [UInt64]) {
        add(key, .array(value.map { .number(String($0)) }))
    }

    public mutating func field(_ key: StaticString, _ value: inout [UInt64]?) {
        if let v = value { add(key, .array(v.map { .number(String($0)) })) }
    }

    public mutating func field(_ key: StaticString, _ value: inout [String]) {
        add(key, .array(value.map { .string($0) }))
    }

    public mutating func field(_ key: StaticString, _ value: inout [String: String]?) {
        guard let map = value else { return }
        add(key, .object(map.sorted { $0.key < $1.key }.map { JSONMember(key: $0.key, value: .string($0.value)) }))
    }

    public mutating func field(_ key: StaticString, _ value: inout [String: UInt64]) {
        add(key, .object(value.sorted { $0.key < $1.key }.map { JSONMember(key: $0.key, value: .number(String($0.value))) }))
    }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout R) { add(key, value.jsonValue) }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout R?) {
        if let v = value { add(key, v.jsonValue) }
    }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout [R]) {
        add(key, .array(value.map(\.jsonValue)))
    }

    public mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout [R]?) {
        if let v = value { add(key, .array(v.map(\.jsonValue))) }
    }

    public mutating func tag(_ key: StaticString, _ value: StaticString) { add(key, .string(value.description)) }

    public mutating func otherMembers(_ rest: inout [JSONMember], known: [StaticString]) {
        members += rest
    }
}
