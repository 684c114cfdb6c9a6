import Foundation
import SkiffXDSProto
import SwiftProtobuf

/// The Envoy v3 samples in Tests/Fixtures/xds: NAME.json as an Envoy user writes it, and NAME.binpb, the same JSON
/// serialized by Envoy's own generated Python code (PyPI xds-protos, scripts/make-xds-fixtures.py). Read-only.
enum XDSFixture {
    /// Registers the messages the samples pack in `Any`, once per process (swift-protobuf's registry is global).
    static let registered: Void = {
        for type in [
            Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager.self,
            Envoy_Extensions_Filters_Http_Router_V3_Router.self,
            Envoy_Extensions_Upstreams_Http_V3_HttpProtocolOptions.self,
            Envoy_Extensions_TransportSockets_Tls_V3_UpstreamTlsContext.self,
        ] as [any SwiftProtobuf.Message.Type] {
            Google_Protobuf_Any.register(messageType: type)
        }
    }()

    static var directory: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(2)  // SkiffXDSProtoTests/XDSFixtures.swift under Tests/
        return parts.joined(separator: "/") + "/Fixtures/xds"
    }

    static func json(_ name: String) throws -> String {
        try String(contentsOfFile: directory + "/\(name).json", encoding: .utf8)
    }

    static func envoyBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/\(name).binpb")))
    }

    /// The sample decoded from its JSON; unknown JSON fields are errors, so a misspelt field name fails here.
    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, _ name: String) throws -> M {
        _ = registered
        return try M(jsonString: try json(name))
    }
}

/// Message equality that looks through `Any`: swift-protobuf's `==` tells an `Any` that still holds JSON or bytes from
/// one that holds a message, so messages with packed filters compare by their (deterministic) serialized bytes.
func sameOnTheWire(_ a: some SwiftProtobuf.Message, _ b: some SwiftProtobuf.Message) throws -> Bool {
    var options = BinaryEncodingOptions()
    options.useDeterministicOrdering = true
    let left: [UInt8] = try a.serializedBytes(options: options)
    let right: [UInt8] = try b.serializedBytes(options: options)
    return left == right
}
