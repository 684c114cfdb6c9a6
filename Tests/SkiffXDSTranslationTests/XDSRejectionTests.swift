import Testing

@testable import SkiffXDSTranslation

@Suite struct XDSRejectionTests {
    @Test func namesResourceAndField() {
        let r = XDSRejection(resource: #"listener "ingress""#, field: "address", reason: "no socket_address")
        #expect(r.description == #"listener "ingress": address: no socket_address"#)
        #expect(XDSRejection(resource: #"cluster "a""#, field: "", reason: "x").description == #"cluster "a": x"#)
    }
}
