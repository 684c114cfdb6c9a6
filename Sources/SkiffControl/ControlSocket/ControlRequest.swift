import SkiffJSON

/// A request's `id`, echoed in its reply: an integer, a string, or absent (echoed as `null`).
public enum ControlRequestID: Sendable, Equatable, Hashable {
    case none
    case int(Int64)
    case string(String)

    /// The id as it goes into a reply.
    func append(to out: inout [UInt8]) {
        switch self {
        case .none: out.append(contentsOf: Array("null".utf8))
        case .int(let n): out.append(contentsOf: Array(String(n).utf8))
        case .string(let s): JSONWriter.appendString(s, to: &out)
        }
    }
}

/// One parsed request line, e.g.
/// `{"id":2,"cmd":"host.set_state","cluster":"c1","host":"10.0.0.3:8080","state":"drain"}`.
///
/// Arguments are the object's other members; read them with `string(_:)`, `int(_:)` and friends, which return nil
/// when the member is absent or of another type. When a key appears twice, the first one counts.
public struct ControlRequest: Sendable, Equatable {
    public var id: ControlRequestID
    public var cmd: String
    /// The whole request object, `id` and `cmd` included.
    public var body: JSONValue

    public init(id: ControlRequestID, cmd: String, body: JSONValue) {
        self.id = id
        self.cmd = cmd
        self.body = body
    }

    /// The member `key` of the request object, if present.
    public func value(_ key: String) -> JSONValue? {
        guard case .object(let members) = body else { return nil }
        return members.first(where: { $0.key == key })?.value
    }

    public func string(_ key: String) -> String? {
        if case .string(let s)? = value(key) { return s }
        return nil
    }

    public func bool(_ key: String) -> Bool? {
        if case .bool(let b)? = value(key) { return b }
        return nil
    }

    /// An integer argument written without fraction or exponent (`5`, `-3`), within `Int`'s range.
    public func int(_ key: String) -> Int? {
        if case .number(let text)? = value(key) { return Int(text) }
        return nil
    }

    /// A non-negative integer argument within `UInt64`'s range (sequence numbers).
    public func uint64(_ key: String) -> UInt64? {
        if case .number(let text)? = value(key) { return UInt64(text) }
        return nil
    }

    /// A number argument as a `Double` (`0.5`, `1e3`, `7`).
    public func double(_ key: String) -> Double? {
        if case .number(let text)? = value(key) { return Double(text) }
        return nil
    }
}

extension ControlRequest {
    /// Why a line is not a request; the id is known when the line was an object with a usable `id`.
    struct Rejection: Error, Equatable {
        var id: ControlRequestID
        var message: String
    }

    /// Parses one line (without its newline) into a request.
    static func parse(line: [UInt8]) -> Result<ControlRequest, Rejection> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            return .failure(Rejection(id: .none, message: "bad json: \(error)"))
        }
        guard case .object(let members) = value else {
            return .failure(
                Rejection(id: .none, message: "a request must be a JSON object, got \(value.kindDescription)"))
        }
        var id = ControlRequestID.none
        if let idValue = members.first(where: { $0.key == "id" })?.value {
            switch idValue {
            case .null: id = .none
            case .string(let s): id = .string(s)
            case .number(let text):
                guard let n = Int64(text) else {
                    return .failure(Rejection(id: .none, message: "id must be an integer or a string, got \(text)"))
                }
                id = .int(n)
            default:
                return .failure(
                    Rejection(id: .none, message: "id must be an integer or a string, got \(idValue.kindDescription)"))
            }
        }
        guard let cmdValue = members.first(where: { $0.key == "cmd" })?.value else {
            return .failure(Rejection(id: id, message: "missing \"cmd\""))
        }
        guard case .string(let cmd) = cmdValue else {
            return .failure(Rejection(id: id, message: "cmd must be a string, got \(cmdValue.kindDescription)"))
        }
        return .success(ControlRequest(id: id, cmd: cmd, body: value))
    }
}
