import Foundation
import Testing

/// The reference vectors are in the repository and are the frames their README describes.
@Suite struct VectorFileTests {
    @Test(arguments: [
        ("bolt_v1_request_sofa_sample.hex", 811), ("bolt_v1_response_sofa_sample.hex", 69), ("dubbo_request_notify.hex", 523),
    ])
    func vectorFilesArePresentAndWhole(_ file: String, _ length: Int) throws {
        let text = try String(contentsOfFile: Vectors.directory + "/" + file, encoding: .utf8)
        #expect(Vectors.bytes(hex: text).count == length)
    }

    @Test func loadedVectorsStartWithTheirMagic() {
        #expect(Vectors.boltRequest.prefix(2) == [0x01, 0x01])
        #expect(Vectors.boltResponse.prefix(2) == [0x01, 0x00])
        #expect(Vectors.dubboRequest.prefix(2) == [0xda, 0xbb])
    }
}
