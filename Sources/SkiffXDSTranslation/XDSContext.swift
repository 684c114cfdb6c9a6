import SwiftProtobuf

/// Where a translation is: the resource it reports in rejections (`listener "ingress"`), and how field paths are
/// spelt (Envoy's proto field names, `filter_chains[0].filters[0].typed_config`). A value; any thread.
struct XDSContext: Sendable {
    let resource: String

    /// A rejection at `field` of this resource.
    func reject(_ field: String, _ reason: String) -> XDSRejection {
        XDSRejection(resource: resource, field: field, reason: reason)
    }

    /// Refuses a message that carries fields Skiff does not model (they arrive as unknown fields): one line per
    /// message translated.
    func checkUnknown(_ message: some SwiftProtobuf.Message, at path: String) throws(XDSRejection) {
        let data = message.unknownFields.data
        guard !data.isEmpty else { return }
        throw reject(path, UnknownFields.reason(data))
    }

    /// Refuses a field Skiff cannot honour when it is set.
    func refuse(_ set: Bool, _ path: String, _ reason: String) throws(XDSRejection) {
        if set { throw reject(path, reason) }
    }
}

/// Field paths: `a.b`, `a[3]`, `a["key"]`.
enum FieldPath {
    static func field(_ base: String, _ name: String) -> String { base.isEmpty ? name : base + "." + name }
    static func index(_ base: String, _ i: Int) -> String { base + "[\(i)]" }
    static func key(_ base: String, _ key: String) -> String { base + "[" + quotedName(key) + "]" }
}

extension String {
    /// `self.name` as a field path (`""` + name is name).
    func dot(_ name: String) -> String { FieldPath.field(self, name) }
    /// `self[i]`.
    func at(_ i: Int) -> String { FieldPath.index(self, i) }
}
