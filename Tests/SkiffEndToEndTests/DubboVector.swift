import Foundation

/// The Dubbo 2 request from MOSN's decoder benchmark data, read from `Tests/Vectors/dubbo_request_notify.hex` (its
/// README names the source); empty when the file is missing, which `VectorFileTests` reports.
let dubboRequestNotifyHex: String = {
    let parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    let path = (parts.dropLast(2) + ["Vectors", "dubbo_request_notify.hex"]).joined(separator: "/")
    return (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
}()
