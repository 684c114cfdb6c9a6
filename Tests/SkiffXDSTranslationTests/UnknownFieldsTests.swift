import Foundation
import Testing

@testable import SkiffXDSTranslation

/// Field numbers read back from unknown-field bytes, for rejections that say which field was not understood.
@Suite struct UnknownFieldsTests {
    @Test func readsEveryWireType() {
        // 38: varint 1; 40: length-delimited "ab"; 1001: fixed64; 7: fixed32; 38 again.
        var bytes: [UInt8] = [0xB0, 0x02, 0x01, 0xC2, 0x02, 0x02, 0x61, 0x62]
        bytes += [0xC9, 0x3E] + [UInt8](repeating: 0, count: 8)
        bytes += [0x3D, 0, 0, 0, 0, 0xB0, 0x02, 0x05]
        #expect(UnknownFields.fieldNumbers(Data(bytes)) == [38, 40, 1001, 7])
        #expect(UnknownFields.reason(Data(bytes)) == "fields 38, 40, 1001, 7 are not supported by skiff")
        #expect(UnknownFields.reason(Data([0xB0, 0x02, 0x01])) == "field 38 is not supported by skiff")
    }

    @Test func stopsAtMalformedBytes() {
        #expect(UnknownFields.fieldNumbers(Data([0xC2, 0x02, 0x7F, 0x61])) == [40])
        #expect(UnknownFields.fieldNumbers(Data([0xFF])) == [])
    }
}
