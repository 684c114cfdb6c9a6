/// Up to two header entries a proxy sets on a request it forwards (the trace context), held inline: no array, no
/// allocation. Names are the protocol's keys as written (case-sensitive); the bytes are borrowed and must outlive the
/// write.
public struct RPCHeaderEdits {
    public private(set) var count = 0
    private var names: (StaticString, StaticString) = ("", "")
    private var values: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) = (
        .init(start: nil, count: 0), .init(start: nil, count: 0)
    )

    public init() {}

    /// Adds `name = value`; false when two are held.
    @discardableResult
    public mutating func set(_ name: StaticString, _ value: UnsafeRawBufferPointer) -> Bool {
        switch count {
        case 0: (names.0, values.0) = (name, value)
        case 1: (names.1, values.1) = (name, value)
        default: return false
        }
        count += 1
        return true
    }

    func entry(_ i: Int) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        let (name, value) = i == 0 ? (names.0, values.0) : (names.1, values.1)
        return (UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), value)
    }

    /// The bytes the entries add at most (lengths included).
    var bytes: Int {
        var n = 0
        var i = 0
        while i < count {
            let (name, value) = entry(i)
            n += 8 + name.count + value.count
            i += 1
        }
        return n
    }

    /// Whether `key` (a range of `frame`) is one of the edited names.
    func edits(_ frame: UnsafeRawBufferPointer, _ key: Range<Int>) -> Bool {
        (count > 0 && RPCWire.equals(frame, key, names.0)) || (count > 1 && RPCWire.equals(frame, key, names.1))
    }
}

extension RPCCodec {
    /// A protocol without a header map the proxy can edit (Dubbo's attachments sit in the Hessian body) forwards
    /// its requests unchanged: nil.
    public static func writeWithHeaders(
        _ frame: UnsafeRawBufferPointer, _ edits: RPCHeaderEdits, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int? { nil }
}
