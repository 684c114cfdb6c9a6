import SwiftProtobuf

/// `google.protobuf.Any` configs (`typed_config`, protocol options) unpacked by their type URL: the URL must name the
/// message expected, an unknown URL is refused by name, and the unpacked message's own unknown fields are refused.
/// Pure; any thread.
enum AnyUnpacking {
    static let typePrefix = "type.googleapis.com/"

    /// The type URL's message name (`envoy.extensions.filters.http.router.v3.Router`), whatever host prefix it has.
    static func messageName(_ any: Google_Protobuf_Any) -> String {
        let url = any.typeURL
        guard let slash = url.lastIndex(of: "/") else { return url }
        return String(url[url.index(after: slash)...])
    }

    /// Whether `any` holds a `M`.
    static func holds<M: SwiftProtobuf.Message>(_ any: Google_Protobuf_Any, _ type: M.Type) -> Bool {
        messageName(any) == M.protoMessageName
    }

    /// The `M` in `any`, refused when the type URL names another message or the bytes do not decode; `path` is the
    /// Any's field path. The message's unknown fields are checked by the caller, which knows its path.
    static func unpack<M: SwiftProtobuf.Message>(
        _ any: Google_Protobuf_Any, as type: M.Type, at path: String, _ context: XDSContext
    ) throws(XDSRejection) -> M {
        guard holds(any, type) else {
            throw context.reject(
                path,
                "type \(quotedName(any.typeURL)) is not supported here (expected \(typePrefix + M.protoMessageName))")
        }
        do {
            return try M(unpackingAny: any)
        } catch {
            throw context.reject(path, "cannot decode \(M.protoMessageName): \(error)")
        }
    }

    /// The rejection for a type URL no translation knows.
    static func unknownType(_ any: Google_Protobuf_Any, at path: String, _ context: XDSContext, expected: [String])
        -> XDSRejection
    {
        let list = expected.map { typePrefix + $0 }.joined(separator: " or ")
        if any.typeURL.isEmpty { return context.reject(path, "no @type (expected \(list))") }
        return context.reject(path, "type \(quotedName(any.typeURL)) is not supported by skiff (expected \(list))")
    }
}
