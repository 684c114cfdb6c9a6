import SkiffJSON

/// Secrets a config may hold, hidden wherever the config is shown (`config.dump`, `GET /api/v1/config_dump`).
public enum ConfigRedaction {
    /// What a hidden value reads as.
    public static let placeholder = "<redacted>"

    /// The config with `admin.token` replaced by `placeholder` (keys matched case-insensitively, as the decoder does).
    public static func redacted(_ root: JSONValue) -> JSONValue {
        guard case .object(var top) = root else { return root }
        for i in top.indices where top[i].key.lowercased() == "admin" {
            guard case .object(var admin) = top[i].value else { continue }
            for j in admin.indices where admin[j].key.lowercased() == "token" {
                admin[j].value = .string(placeholder)
            }
            top[i].value = .object(admin)
        }
        return .object(top)
    }
}
