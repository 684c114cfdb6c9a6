import SkiffConfig
import SkiffTestSupport
import Testing

@testable import SkiffAccessLog

/// MOSN's default format has its own straight-line writer: it must write, byte for byte, what walking the format's
/// operations writes, for every kind of record (values absent and present, durations in every unit, flags).
@Suite struct MOSNDefaultLineTests {
    /// Values for the records, from a seeded generator: the same records on every run.
    struct Numbers {
        var random: SplitMix64
        mutating func next() -> UInt64 { random.next() }
        /// 0, a small value, or a value with up to `digits` decimal digits.
        mutating func value(digits: Int) -> UInt64 {
            switch next() % 4 {
            case 0: return 0
            case 1: return next() % 10
            default:
                var bound: UInt64 = 1
                for _ in 0..<Int(next() % UInt64(digits) + 1) {
                    bound = bound.multipliedReportingOverflow(by: 10).partialValue
                }
                return next() % max(bound, 1)
            }
        }
    }

    @Test func writesWhatTheWalkerWrites() {
        let layout = AccessLogLayout.text(.mosnDefault)
        let format = CompiledAccessLogFormat(layout, plan: AccessLogCapturePlan(layouts: [layout]))
        #expect(format.isMOSNDefault)
        let addresses = AccessLogAddresses(local: "127.0.0.1:2045", remote: "[::1]:51234")
        let upstream: [UInt8] = Array("10.0.0.12:8080".utf8)
        let hostname: [UInt8] = Array("web-1.example".utf8)
        let time = StartTimeCache.make()
        defer { StartTimeCache.free(time) }
        let a = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
        defer {
            a.deallocate()
            b.deallocate()
        }
        var numbers = Numbers(random: SplitMix64(seed: 42))
        let protocols: [AccessLogProtocol] = [.http1, .bolt, .boltv2, .dubbo, .tcp]
        upstream.withUnsafeBytes { upstreamText in
            hostname.withUnsafeBytes { hostnameText in
                for i in 0..<20_000 {
                    let r = AccessLogRecord(slots: 0)
                    let start = numbers.next() % 3 == 0 ? 0 : 1_000_000_000_000 + numbers.value(digits: 12)
                    r.startNs = start
                    // Durations from 0 to hours, in every unit and with every run of trailing zeros.
                    r.requestSentNs = numbers.next() % 5 == 0 ? 0 : start &+ numbers.value(digits: 13)
                    r.responseHeadNs = numbers.next() % 5 == 0 ? 0 : start &+ numbers.value(digits: 10) * 1_000
                    r.endNs = start &+ numbers.value(digits: 7) * 1_000_000 &+ numbers.value(digits: 3)
                    r.bytesSent = numbers.value(digits: 20)
                    r.bytesReceived = numbers.value(digits: 9)
                    r.proto = protocols[i % protocols.count]
                    r.responseCode = Int(numbers.value(digits: 3)) - (i % 50 == 0 ? 1_000 : 0)
                    r.connectionID = numbers.value(digits: 6)
                    r.upstreamConnectionID = numbers.value(digits: 6)
                    r.flags = numbers.next() % 4 == 0 ? AccessLogFlags(rawValue: UInt32(numbers.next() % 0x3_0000)) : []
                    if numbers.next() % 4 != 0 {
                        r.setUpstream(
                            address: upstreamText, hostname: numbers.next() % 2 == 0 ? hostnameText : nil,
                            cluster: nil)
                    }
                    if numbers.next() % 8 != 0 { r.setDownstream(addresses) }
                    let need = format.maxLength(r)
                    let endA = format.write(r, time: time, at: a)
                    let endB = format.walk(r, time: time, at: b)
                    let lineA = String(decoding: UnsafeBufferPointer(start: a, count: endA - a), as: UTF8.self)
                    let lineB = String(decoding: UnsafeBufferPointer(start: b, count: endB - b), as: UTF8.self)
                    if lineA != lineB || endA - a > need {
                        Issue.record(
                            "record \(i): straight-line \(lineA.debugDescription) walker \(lineB.debugDescription)")
                        return
                    }
                }
            }
        }
    }

    /// Only the default itself takes the straight line: a format that differs by one byte is walked.
    @Test func otherFormatsAreWalked() throws {
        let near = AccessLogLayout.text(try AccessLogFormat.parse(AccessLogFormat.mosnDefaultText + " ").get())
        #expect(!CompiledAccessLogFormat(near, plan: AccessLogCapturePlan(layouts: [near])).isMOSNDefault)
        let json = AccessLogLayout.json([AccessLogJSONField(key: "d", value: .mosnDefault)])
        #expect(!CompiledAccessLogFormat(json, plan: AccessLogCapturePlan(layouts: [json])).isMOSNDefault)
    }
}
