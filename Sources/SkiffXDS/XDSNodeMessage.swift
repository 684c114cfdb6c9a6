import SkiffConfig
import SkiffJSON
import SkiffXDSProto
import SwiftProtobuf

/// The bootstrap's `node` as the `Node` message every stream's first request carries.
enum XDSNodeMessage {
    static let userAgent = "skiff"

    static func make(_ node: XDSNode) -> Envoy_Config_Core_V3_Node {
        var n = Envoy_Config_Core_V3_Node()
        n.id = node.id
        n.cluster = node.cluster
        n.userAgentName = userAgent
        if case .object(let members)? = node.metadata { n.metadata = structValue(members) }
        return n
    }

    private static func structValue(_ members: [JSONMember]) -> Google_Protobuf_Struct {
        var s = Google_Protobuf_Struct()
        for m in members { s.fields[m.key] = value(m.value) }
        return s
    }

    private static func value(_ v: JSONValue) -> Google_Protobuf_Value {
        var out = Google_Protobuf_Value()
        switch v {
        case .null: out.nullValue = .nullValue
        case .bool(let b): out.boolValue = b
        case .number(let text): out.numberValue = Double(text) ?? 0
        case .string(let s): out.stringValue = s
        case .array(let a):
            var l = Google_Protobuf_ListValue()
            l.values = a.map(value)
            out.listValue = l
        case .object(let m): out.structValue = structValue(m)
        }
        return out
    }
}
