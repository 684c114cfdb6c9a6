import Testing

@testable import SkiffNet

/// `SocketAddress`'s text (X-Forwarded-For, connection events, logs) is written without `inet_ntop` for IPv4 and
/// straight into caller memory for events: each form checked against the text it must produce.
@Suite struct SocketAddressTextTests {
    static let cases: [(literal: String, port: Int, ip: String, text: String)] = [
        ("127.0.0.1", 8080, "127.0.0.1", "127.0.0.1:8080"),
        ("0.0.0.0", 0, "0.0.0.0", "0.0.0.0:0"),
        ("255.255.255.255", 65535, "255.255.255.255", "255.255.255.255:65535"),
        ("10.9.100.99", 9, "10.9.100.99", "10.9.100.99:9"),
        ("::1", 443, "::1", "[::1]:443"),
        ("[2001:db8::8a2e:370:7334]", 10, "2001:db8::8a2e:370:7334", "[2001:db8::8a2e:370:7334]:10"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
         "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
        ("::ffff:1.2.3.4", 80, "::ffff:1.2.3.4", "[::ffff:1.2.3.4]:80"),
    ]

    @Test(arguments: cases.indices)
    func textForms(_ index: Int) throws {
        let c = Self.cases[index]
        let address = try #require(SocketAddress(ip: c.literal, port: c.port))
        #expect(address.ip == c.ip)
        #expect(address.description == c.text)
        let written = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: SocketAddress.maxTextLength) { buf in
            let n = address.writeText(to: buf.baseAddress!)
            #expect(n <= SocketAddress.maxTextLength)
            return String(decoding: UnsafeBufferPointer(rebasing: buf[..<n]), as: UTF8.self)
        }
        #expect(written == c.text)
    }
}
