import Testing

@testable import SkiffEngine

/// The DNS wire format of STRICT_DNS clusters: queries byte for byte, answers with name compression, CNAME chains,
/// both record types, and every malformed or unhelpful answer a failure with its reason (never a trap).
@Suite struct DNSMessageTests {
    @Test func aQueryIsOneQuestionWithRecursionDesired() throws {
        let q = try #require(DNSMessage.query(id: 0x1234, name: "api.svc", type: .a))
        #expect(q == [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 97, 112, 105, 3, 115, 118, 99, 0, 0, 1, 0, 1])
        #expect(DNSMessage.query(id: 1, name: "trailing.dot.", type: .aaaa)?.suffix(4) == [0, 28, 0, 1])
        #expect(DNSMessage.query(id: 1, name: "a..b", type: .a) == nil)
        #expect(DNSMessage.query(id: 1, name: String(repeating: "x", count: 64), type: .a) == nil)
        #expect(DNSMessage.query(id: 1, name: "", type: .a) == nil)
    }

    /// A response to `query` (its question echoed) with `answers` appended and `flags`/`rcode` set.
    static func response(id: UInt16, name: String, type: DNSMessage.RecordType, rcode: UInt8 = 0, truncated: Bool = false,
                         answers: [[UInt8]]) -> [UInt8] {
        var m = DNSMessage.query(id: id, name: name, type: type)!
        m[2] = 0x81 | (truncated ? 0x02 : 0)
        m[3] = 0x80 | rcode
        m[7] = UInt8(answers.count)
        for a in answers { m += a }
        return m
    }

    /// A record whose name is a pointer to the question (offset 12).
    static func record(type: UInt16, ttl: UInt32, data: [UInt8]) -> [UInt8] {
        [0xc0, 12, UInt8(type >> 8), UInt8(type & 0xff), 0, 1, UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xff),
         UInt8(ttl >> 8 & 0xff), UInt8(ttl & 0xff), UInt8(data.count >> 8), UInt8(data.count & 0xff)] + data
    }

    @Test func addressesAndTheLowestTTL() {
        let cname = Self.record(type: 5, ttl: 5, data: [3, 102, 111, 111, 0xc0, 12])  // ignored
        let m = Self.response(
            id: 7, name: "api.svc", type: .a,
            answers: [cname, Self.record(type: 1, ttl: 30, data: [10, 0, 0, 1]),
                      Self.record(type: 1, ttl: 12, data: [10, 0, 0, 2])])
        #expect(DNSMessage.parseAnswer(m, id: 7, type: .a) == .success(.init(addresses: ["10.0.0.1", "10.0.0.2"], minTTL: 12)))
        let v6 = Self.response(
            id: 8, name: "api.svc", type: .aaaa,
            answers: [Self.record(type: 28, ttl: 60, data: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])])
        #expect(DNSMessage.parseAnswer(v6, id: 8, type: .aaaa) == .success(.init(addresses: ["2001:db8::1"], minTTL: 60)))
        // No record of the type asked: an empty answer (the resolver counts it as a failure).
        #expect(DNSMessage.parseAnswer(Self.response(id: 9, name: "x", type: .a, answers: []), id: 9, type: .a)
            == .success(.init(addresses: [], minTTL: 0)))
    }

    @Test func failuresSayWhy() {
        #expect(DNSMessage.parseAnswer(Self.response(id: 1, name: "x", type: .a, rcode: 3, answers: []), id: 1, type: .a)
            == .failure(.rcode(3)))
        #expect(DNSFailure.rcode(3).description == "no such name (NXDOMAIN)")
        #expect(DNSMessage.parseAnswer(Self.response(id: 1, name: "x", type: .a, truncated: true, answers: []), id: 1, type: .a)
            == .failure(.truncated))
        #expect(DNSMessage.parseAnswer(Self.response(id: 1, name: "x", type: .a, answers: []), id: 2, type: .a)
            == .failure(.malformed("answer to another query")))
        #expect(DNSMessage.parseAnswer([0, 1, 0x81], id: 1, type: .a) == .failure(.malformed("shorter than a header")))
        // A record claiming more data than the message holds, and an A record of 5 bytes.
        var long = Self.response(id: 1, name: "x", type: .a, answers: [Self.record(type: 1, ttl: 1, data: [1, 2, 3, 4])])
        long[long.count - 5] = 200
        #expect(DNSMessage.parseAnswer(long, id: 1, type: .a) == .failure(.malformed("record longer than the message")))
        let odd = Self.response(id: 1, name: "x", type: .a, answers: [Self.record(type: 1, ttl: 1, data: [1, 2, 3, 4, 5])])
        #expect(DNSMessage.parseAnswer(odd, id: 1, type: .a) == .failure(.malformed("bad address length")))
        // Every truncation of a good answer fails cleanly.
        let good = Self.response(id: 3, name: "api.svc", type: .a, answers: [Self.record(type: 1, ttl: 1, data: [1, 2, 3, 4])])
        for n in 0..<good.count {
            if case .success(let a) = DNSMessage.parseAnswer(Array(good.prefix(n)), id: 3, type: .a) {
                #expect(a.addresses.isEmpty, "prefix \(n) gave \(a)")
            }
        }
    }
}
