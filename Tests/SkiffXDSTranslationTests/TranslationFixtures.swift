import Foundation
import SkiffXDSProto
import SwiftProtobuf

@testable import SkiffXDSTranslation

/// Envoy v3 resources for the translation tests: the samples in Tests/Fixtures/xds (basic.json is what the test
/// control plane serves, with `${NAME}` ports filled in here), resources written as Envoy v3 JSON in the tests, and
/// messages with fields this build does not model (as a newer control plane would send them).
enum TranslationFixture {
    /// The messages tests pack in `Any`, registered once per process (swift-protobuf's registry is global).
    static let registered: Void = {
        for type in [
            Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager.self,
            Envoy_Extensions_Filters_Network_TcpProxy_V3_TcpProxy.self,
            Envoy_Extensions_Filters_Http_Router_V3_Router.self,
            Envoy_Extensions_Upstreams_Http_V3_HttpProtocolOptions.self,
            Envoy_Extensions_TransportSockets_Tls_V3_UpstreamTlsContext.self,
            Envoy_Extensions_TransportSockets_Tls_V3_DownstreamTlsContext.self,
        ] as [any SwiftProtobuf.Message.Type] {
            Google_Protobuf_Any.register(messageType: type)
        }
    }()

    static var directory: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(2)  // SkiffXDSTranslationTests/TranslationFixtures.swift under Tests/
        return parts.joined(separator: "/") + "/Fixtures/xds"
    }

    /// A message from Envoy v3 JSON (unknown JSON fields are errors, so a misspelt field fails here).
    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, json: String) throws -> M {
        _ = registered
        return try M(jsonString: json)
    }

    /// A single-resource sample (`listener-http`, `route-config`, ...).
    static func sample<M: SwiftProtobuf.Message>(_ type: M.Type, _ name: String) throws -> M {
        try decode(type, json: try String(contentsOfFile: directory + "/\(name).json", encoding: .utf8))
    }

    /// The ports basic.json leaves to the test control plane.
    static let basicPorts = ["LISTENER_PORT": 18080, "BACKEND_A_PORT": 18081, "BACKEND_B_PORT": 18082]

    /// basic.json's resources of one kind (`listeners`, `routes`, `clusters`, `endpoints`), ports filled in and the
    /// `@type` of each resource checked and dropped (the message type says it).
    static func basic<M: SwiftProtobuf.Message>(_ kind: String, _ type: M.Type) throws -> [M] {
        var text = try String(contentsOfFile: directory + "/basic.json", encoding: .utf8)
        for (name, port) in basicPorts { text = text.replacingOccurrences(of: "\"${\(name)}\"", with: "\(port)") }
        let root = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        let list = root[kind] as? [[String: Any]] ?? []
        return try list.map { resource in
            var r = resource
            let typeURL = r.removeValue(forKey: "@type") as? String
            precondition(
                typeURL == "type.googleapis.com/" + M.protoMessageName, "basic.json \(kind): \(typeURL ?? "no @type")")
            let data = try JSONSerialization.data(withJSONObject: r)
            return try decode(type, json: String(decoding: data, as: UTF8.self))
        }
    }

    /// `message` with an extra varint field `number` on the wire, as a control plane with a newer API would send.
    static func withUnknownField<M: SwiftProtobuf.Message>(_ message: M, number: Int) throws -> M {
        var bytes: [UInt8] = try message.serializedBytes()
        var tag = UInt64(number) << 3  // wire type 0
        while tag >= 0x80 {
            bytes.append(UInt8(tag & 0x7F) | 0x80)
            tag >>= 7
        }
        bytes.append(UInt8(tag))
        bytes.append(1)
        return try M(serializedBytes: bytes)
    }
}

/// The rejection `body` throws, or nil when it translates (any other error is a rejection nobody would expect).
func rejection<T>(_ body: () throws -> T) -> XDSRejection? {
    do {
        _ = try body()
        return nil
    } catch let r as XDSRejection {
        return r
    } catch {
        return XDSRejection(resource: "(not a rejection)", field: "", reason: "\(error)")
    }
}
