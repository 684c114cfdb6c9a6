import Foundation
import Testing

/// The embedded vectors are the reference files, when the files are there to compare.
@Suite struct VectorFileTests {
    @Test(arguments: [
        ("bolt_v1_request_sofa_sample.hex", Vectors.boltRequestHex),
        ("bolt_v1_response_sofa_sample.hex", Vectors.boltResponseHex),
        ("dubbo_request_notify.hex", Vectors.dubboRequestHex),
    ])
    func embeddedVectorsMatchTheFiles(_ file: String, _ embedded: String) throws {
        let path = Vectors.directory + "/" + file
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        #expect(Vectors.bytes(hex: contents) == Vectors.bytes(hex: embedded))
    }
}
