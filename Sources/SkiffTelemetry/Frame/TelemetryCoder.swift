import SkiffJSON

/// One walk over a schema type's members in wire order. The same walk encodes a value (``JSONWriter`` conforms),
/// decodes one (``JSONRecordReader``) and lists its members (``JSONMemberCollector``), so every key of the frame and
/// event format is spelled once, in the type's ``TelemetryRecord/fields(_:)``, and the encoder and the decoders
/// cannot drift apart.
///
/// Encoding only reads the `inout` values. Decoding overwrites them with what the JSON holds; an absent or
/// differently typed member leaves the default in place (a reader of an older or newer skiff's frames shows what it
/// can). An optional member is written only when it is non-nil and reads as nil when absent.
public protocol TelemetryCoder {
    mutating func field(_ key: StaticString, _ value: inout UInt64)
    mutating func field(_ key: StaticString, _ value: inout Int)
    mutating func field(_ key: StaticString, _ value: inout Bool)
    mutating func field(_ key: StaticString, _ value: inout String)
    mutating func field(_ key: StaticString, _ value: inout UInt64?)
    mutating func field(_ key: StaticString, _ value: inout Int?)
    mutating func field(_ key: StaticString, _ value: inout Bool?)
    mutating func field(_ key: StaticString, _ value: inout String?)
    mutating func field(_ key: StaticString, _ value: inout [UInt64])
    mutating func field(_ key: StaticString, _ value: inout [UInt64]?)
    mutating func field(_ key: StaticString, _ value: inout [String])
    /// An object of strings written with its keys sorted (host metadata).
    mutating func field(_ key: StaticString, _ value: inout [String: String]?)
    /// An object of counters written with its keys sorted (TLS failures by reason); absent reads as empty.
    mutating func field(_ key: StaticString, _ value: inout [String: UInt64])
    mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout R)
    mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout R?)
    mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout [R])
    mutating func field<R: TelemetryRecord>(_ key: StaticString, _ value: inout [R]?)
    /// A member whose value the type fixes (`"type":"frame"`): written, never read back.
    mutating func tag(_ key: StaticString, _ value: StaticString)
    /// Members the schema does not know (an event kind from a newer skiff): written as they are; when reading, every
    /// member except `known` lands here, in document order.
    mutating func otherMembers(_ members: inout [JSONMember], known: [StaticString])
}

/// A JSON object of the telemetry format: a frame or a part of one, an event, a control reply built from them.
///
/// A conforming type lists its members once, in wire order, in `fields(_:)`; `encode(into:)`, `init(json:)` and
/// `jsonValue` all come from that one list.
///
/// ```swift
/// public struct Latency: TelemetryRecord {
///     public var count: UInt64 = 0
///     public var p99Us: UInt64 = 0
///     public init() {}
///     public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
///         c.field("count", &count)
///         c.field("p99_us", &p99Us)
///     }
/// }
/// ```
public protocol TelemetryRecord: Sendable, Equatable {
    /// Every member at its default (zero, empty, nil): what a decoder starts from.
    init()
    /// Visits every member, in wire order.
    mutating func fields<C: TelemetryCoder>(_ coder: inout C)
}

extension TelemetryRecord {
    /// Appends `{...}` to `writer`.
    public func encode(into writer: inout JSONWriter) {
        var copy = self
        writer.beginObject()
        copy.fields(&writer)
        writer.endObject()
    }

    /// The compact JSON text, as one line of the control socket carries it.
    public var jsonBytes: [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        encode(into: &writer)
        return writer.bytes
    }

    /// Reads a parsed object; what is absent or of another type keeps its default.
    public init(json: JSONValue) {
        self.init()
        var reader = JSONRecordReader(json)
        fields(&reader)
    }

    /// The value as a parsed JSON object would hold it.
    public var jsonValue: JSONValue {
        var copy = self
        var collector = JSONMemberCollector()
        copy.fields(&collector)
        return .object(collector.members)
    }
}
