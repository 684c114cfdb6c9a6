import Foundation
import SkiffProtocol

/// The wire vectors in `Tests/Vectors` (public data; its README names each one's source), read from the repository.
enum Vectors {
    /// `Tests/Vectors`, found from this file's place in the package.
    static let directory: String = {
        let parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        return (parts.dropLast(2) + ["Vectors"]).joined(separator: "/")
    }()

    /// The hex text of one vector file; empty when it cannot be read (`VectorFileTests` fails then).
    static func hexFile(_ name: String) -> String {
        (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? ""
    }

    /// Bolt v1 request from sofa-bolt-python's tests: id 109, codec 11, timeout 100, 16 header entries.
    static let boltRequest = bytes(hex: hexFile("bolt_v1_request_sofa_sample.hex"))
    /// Bolt v1 response from the same source: id 132, status 0, class `...SofaResponse`.
    static let boltResponse = bytes(hex: hexFile("bolt_v1_response_sofa_sample.hex"))
    /// Dubbo request from MOSN's decoder benchmark: id 76, hessian2, one object argument, 8 attachments.
    static let dubboRequest = bytes(hex: hexFile("dubbo_request_notify.hex"))

    /// The README's heartbeats for request id 1, fields separated by spaces.
    static let boltHeartbeatRequest = bytes(hex: "01 01 0000 01 00000001 01 ffffffff 0000 0000 00000000")
    static let boltHeartbeatResponse = bytes(hex: "01 00 0000 01 00000001 01 0000 0000 0000 00000000")

    /// Bytes from hex, ignoring whitespace.
    static func bytes(hex: String) -> [UInt8] {
        let digits = hex.unicodeScalars.filter { !$0.properties.isWhitespace }.map { Character($0) }
        precondition(digits.count % 2 == 0, "odd hex length")
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }
}
