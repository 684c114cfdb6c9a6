/// An append-only JSON encoder into a byte array it owns: the one encoder for metrics frames, events, control-socket
/// replies and the admin API (so strings are escaped one way everywhere).
///
/// Built for the publisher's tick, which writes thousands of numbers: digits are produced directly into the buffer
/// (no `String` per number, no Foundation), strings are copied in runs between the bytes that need escaping, and
/// ``reset()`` keeps the capacity so a writer reused every tick stops allocating once warm. Commas are inserted
/// automatically; the writer does not validate structure (a `key` outside an object is the caller's bug).
///
/// Output is compact (no spaces, no newlines), so it can go on one line of the control socket as it is.
///
/// A value type owned by one thread at a time (typically the publisher thread, or one control-socket connection).
///
/// ```swift
/// var json = JSONWriter()
/// json.beginObject()
/// json.key("seq"); json.uint(42)
/// json.key("p99_ms"); json.double(3.14159, decimals: 2)
/// json.key("hosts"); json.beginArray(); json.string("10.0.0.1:80"); json.endArray()
/// json.endObject()
/// // {"seq":42,"p99_ms":3.14,"hosts":["10.0.0.1:80"]}
/// ```
public struct JSONWriter: Sendable {
    /// The encoded bytes so far (UTF-8).
    public private(set) var bytes: [UInt8]
    /// Whether the next key or value follows a sibling and needs a comma.
    private var needsComma = false

    /// - Parameter capacity: bytes to reserve up front.
    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Empties the buffer, keeping its capacity.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    // MARK: Structure

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// An object key known at compile time (escaped like any string, then `:`).
    public mutating func key(_ name: StaticString) {
        separate()
        name.withUTF8Buffer { appendQuoted($0) }
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// An object key built at run time (a cluster or listener name). Named apart from `key(_:)` so that a literal
    /// key always takes the `StaticString` path (a plain overload would let literals resolve to `String`).
    public mutating func key(dynamic name: String) {
        separate()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: Values

    /// A string value: `"` and `\` are escaped, as are control characters (`\b \f \n \r \t`, others `\u00XX`).
    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    /// A string value known at compile time (an event kind, an enum's name).
    public mutating func string(_ value: StaticString) {
        separate()
        value.withUTF8Buffer { appendQuoted($0) }
        needsComma = true
    }

    public mutating func int(_ value: Int) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(UInt64(value.magnitude))
        needsComma = true
    }

    public mutating func uint(_ value: UInt64) {
        separate()
        appendDigits(value)
        needsComma = true
    }

    /// A number with exactly `decimals` digits after the point, rounded half away from zero; `null` if not finite.
    ///
    /// - Parameters:
    ///   - value: magnitudes of 2^63 and above fall back to Swift's shortest representation (`1e+20`).
    ///   - decimals: clamped to `0...15`.
    public mutating func double(_ value: Double, decimals: Int) {
        separate()
        needsComma = true
        guard value.isFinite else {
            appendLiteral("null")
            return
        }
        let magnitude = value.magnitude
        guard magnitude < 9_223_372_036_854_775_808.0 else {
            bytes.append(contentsOf: value.description.utf8)
            return
        }
        let decimals = min(max(decimals, 0), 15)
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        var integer = UInt64(magnitude)
        // The subtraction is exact; only the scaling rounds, as any decimal rendering must.
        var fraction = UInt64(((magnitude - Double(integer)) * Double(scale)).rounded(.toNearestOrAwayFromZero))
        if fraction >= scale {
            integer += 1
            fraction -= scale
        }
        if value < 0 && (integer != 0 || fraction != 0) { bytes.append(UInt8(ascii: "-")) }
        appendDigits(integer)
        guard decimals > 0 else { return }
        bytes.append(UInt8(ascii: "."))
        var divisor = scale / 10
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
            divisor /= 10
        }
    }

    public mutating func bool(_ value: Bool) {
        separate()
        appendLiteral(value ? "true" : "false")
        needsComma = true
    }

    public mutating func null() {
        separate()
        appendLiteral("null")
        needsComma = true
    }

    /// A parsed value, compactly; numbers are written exactly as they were parsed or given.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let text):
            separate()
            bytes.append(contentsOf: text.utf8)
            needsComma = true
        case .string(let s): string(s)
        case .array(let items):
            beginArray()
            for item in items { self.value(item) }
            endArray()
        case .object(let members):
            beginObject()
            for member in members {
                key(dynamic: member.key)
                self.value(member.value)
            }
            endObject()
        }
    }

    /// The compact JSON text of `value`: `JSONWriter.encode(.object([JSONMember(key: "hosts", value: .array([]))]))`
    /// is `{"hosts":[]}`.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.value(value)
        return w.bytes
    }

    /// Appends `string` as a JSON string literal, quotes included, escaped as ``string(_:)-(String)`` escapes it: for
    /// replies assembled around bytes encoded elsewhere.
    public static func appendString(_ string: String, to out: inout [UInt8]) {
        var string = string
        string.withUTF8 { appendQuoted($0, to: &out) }
    }

    // MARK: Encoding

    @inline(__always)
    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendLiteral(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Writes decimal digits straight into the buffer, most significant first.
    private mutating func appendDigits(_ value: UInt64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { scratch in
            let n = JSONEscape.writeDigits(value, to: scratch.baseAddress!)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<n]))
        }
    }

    private mutating func appendQuoted(_ string: String) {
        var string = string
        string.withUTF8 { Self.appendQuoted($0, to: &bytes) }
    }

    private mutating func appendQuoted(_ utf8: UnsafeBufferPointer<UInt8>) {
        Self.appendQuoted(utf8, to: &bytes)
    }

    /// `"` and `\` escaped, as are control characters (`\b \f \n \r \t`, others `\u00XX`); everything else,
    /// non-ASCII included, is copied as UTF-8 in runs.
    private static func appendQuoted(_ utf8: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<utf8.count {
            let byte = utf8[index]
            guard JSONEscape.needsEscape(byte) else { continue }
            if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
            appendEscape(byte, to: &bytes)
            runStart = index + 1
        }
        if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func appendEscape(_ byte: UInt8, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 6) { scratch in
            let n = JSONEscape.writeEscape(byte, to: scratch.baseAddress!)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<n]))
        }
    }
}
