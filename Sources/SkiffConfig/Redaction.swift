import SkiffJSON

/// Secrets a config may hold, hidden wherever the config is shown (`config.dump`, `GET /api/v1/config_dump`).
public enum ConfigRedaction {
    /// What a hidden value reads as.
    public static let placeholder = "<redacted>"

    /// The config with `admin.token` and every inline `private_key` (PEM text in a `tls_context`, wherever it is)
    /// replaced by `placeholder`; keys are matched case-insensitively, as the decoder does. A `private_key` that is a
    /// file path stays: the path is no secret and says which file is used.
    public static func redacted(_ root: JSONValue) -> JSONValue {
        guard case .object(var top) = redactingInlineKeys(root) else { return root }
        for i in top.indices where top[i].key.lowercased() == "admin" {
            guard case .object(var admin) = top[i].value else { continue }
            for j in admin.indices where admin[j].key.lowercased() == "token" {
                admin[j].value = .string(placeholder)
            }
            top[i].value = .object(admin)
        }
        return .object(top)
    }

    private static func redactingInlineKeys(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let elements):
            return .array(elements.map(redactingInlineKeys))
        case .object(var members):
            for i in members.indices {
                if members[i].key.lowercased() == "private_key", case .string(let s) = members[i].value,
                    ConfigDecoder.isInlinePEM(s)
                {
                    members[i].value = .string(placeholder)
                } else {
                    members[i].value = redactingInlineKeys(members[i].value)
                }
            }
            return .object(members)
        default:
            return value
        }
    }
}
