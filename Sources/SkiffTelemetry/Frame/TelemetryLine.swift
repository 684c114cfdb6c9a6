import SkiffJSON

/// One line of a `subscribe` stream, by its `type`: a frame, an event, or a gap (the reader fell behind a ring).
public enum TelemetryLine: Sendable, Equatable {
    /// The member every stream line carries.
    public static let typeKey: StaticString = "type"

    case frame(TelemetryFrame)
    case event(TelemetryEvent)
    case gap(StreamGap)
    /// A sample of the live request tap (`subscribe` with `"stream":"requests"`).
    case request(TelemetryRequestSample)
    /// A line of another type (or none): a reply interleaved with the stream, or a newer skiff's line.
    case other(JSONValue)

    public init(json: JSONValue) {
        switch LineType(json: json).type {
        case TelemetryFrame.type.description: self = .frame(TelemetryFrame(json: json))
        case TelemetryEvent.type.description: self = .event(TelemetryEvent(json: json))
        case StreamGap.type.description: self = .gap(StreamGap(json: json))
        case TelemetryRequestSample.type.description: self = .request(TelemetryRequestSample(json: json))
        default: self = .other(json)
        }
    }

    /// Just the `type` member.
    private struct LineType: TelemetryRecord {
        var type = ""
        init() {}
        mutating func fields<C: TelemetryCoder>(_ c: inout C) { c.field(TelemetryLine.typeKey, &type) }
    }
}

/// `{"type":"gap","ring":"frames","missed":N}`: a reader fell behind a ring and lost `missed` entries.
public struct StreamGap: TelemetryRecord {
    public static let type: StaticString = "gap"
    /// The ring names.
    public static let frames = "frames"
    public static let events = "events"

    /// ``frames`` or ``events``.
    public var ring = StreamGap.frames
    public var missed: UInt64 = 0

    public init() {}

    public init(ring: String, missed: UInt64) {
        self.ring = ring
        self.missed = missed
    }

    public mutating func fields<C: TelemetryCoder>(_ c: inout C) {
        c.tag(TelemetryLine.typeKey, Self.type)
        c.field("ring", &ring)
        c.field("missed", &missed)
    }
}
