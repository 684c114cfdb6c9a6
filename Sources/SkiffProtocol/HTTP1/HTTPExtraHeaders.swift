/// A few extra header lines for the renderer to add, held inline (no array, no allocation).
///
/// The bytes are borrowed: they must stay valid until the render call returns (static strings, or bytes in the
/// connection's buffers). They are written as given, unchecked: names must be tokens and values must hold no CR,
/// LF or NUL (the proxy builds them from its own configuration, never from a peer's bytes).
///
/// ```swift
/// var extra = HTTPExtraHeaders()
/// extra.append(name: "x-skiff-reason", value: error.reasonBytes)
/// ```
public struct HTTPExtraHeaders {
    /// Most entries held.
    public static let capacity = 4
    public private(set) var count = 0
    private typealias Four = (
        UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer
    )
    private var names: Four = (
        .init(start: nil, count: 0), .init(start: nil, count: 0), .init(start: nil, count: 0),
        .init(start: nil, count: 0)
    )
    private var values: Four = (
        .init(start: nil, count: 0), .init(start: nil, count: 0), .init(start: nil, count: 0),
        .init(start: nil, count: 0)
    )

    public init() {}

    /// Adds `name: value`; false when full.
    @discardableResult
    public mutating func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        switch count {
        case 0: (names.0, values.0) = (name, value)
        case 1: (names.1, values.1) = (name, value)
        case 2: (names.2, values.2) = (name, value)
        case 3: (names.3, values.3) = (name, value)
        default: return false
        }
        count += 1
        return true
    }

    @discardableResult
    public mutating func append(name: StaticString, value: UnsafeRawBufferPointer) -> Bool {
        append(name: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), value: value)
    }

    @discardableResult
    public mutating func append(name: StaticString, value: StaticString) -> Bool {
        append(name: name, value: UnsafeRawBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
    }

    public func name(at i: Int) -> UnsafeRawBufferPointer {
        precondition(i >= 0 && i < count, "extra header index out of range")
        switch i {
        case 0: return names.0
        case 1: return names.1
        case 2: return names.2
        default: return names.3
        }
    }

    public func value(at i: Int) -> UnsafeRawBufferPointer {
        precondition(i >= 0 && i < count, "extra header index out of range")
        switch i {
        case 0: return values.0
        case 1: return values.1
        case 2: return values.2
        default: return values.3
        }
    }
}
