import Testing

@testable import SkiffConfig

@Suite struct DurationTextTests {
    static let good: [(String, Duration)] = [
        ("15s", .seconds(15)), ("250ms", .milliseconds(250)), ("1m", .seconds(60)), ("1h", .seconds(3600)),
        ("1.5s", .milliseconds(1500)), ("1m30s", .seconds(90)), ("100us", .microseconds(100)),
        ("100\u{00B5}s", .microseconds(100)), ("100\u{03BC}s", .microseconds(100)), ("0s", .zero),
        ("300ns", .nanoseconds(300)), ("2h45m", .seconds(9900)), (".5s", .milliseconds(500)), ("1.s", .seconds(1)),
        ("1.25m", .seconds(75)), ("0.000000001s", .nanoseconds(1)), ("90m", .seconds(5400)),
    ]

    @Test(arguments: good)
    func parsesGoDurations(_ text: String, _ expected: Duration) {
        #expect(DurationText.parse(text) == expected)
    }

    static let bad = [
        "", "15", "0", "-1s", "+1s", "1m30", "1x", "s", "1.5", "1 s", " 1s", "1s ", "1e3s", "9999999999h", "ms", ".s",
        "1S", "1sec",
    ]

    @Test(arguments: bad)
    func refusesBadDurations(_ text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    static let formats: [(Duration, String)] = [
        (.zero, "0s"), (.milliseconds(1500), "1.5s"), (.seconds(90), "1m30s"), (.seconds(3600), "1h0m0s"),
        (.microseconds(100), "100\u{00B5}s"), (.milliseconds(250), "250ms"), (.nanoseconds(1), "1ns"),
        (.nanoseconds(1500), "1.5\u{00B5}s"), (.seconds(15), "15s"), (.seconds(-2), "-2s"),
        (.nanoseconds(3_723_000_000_001), "1h2m3.000000001s"),
    ]

    @Test(arguments: formats)
    func formatsLikeGo(_ d: Duration, _ expected: String) {
        #expect(DurationText.format(d) == expected)
        if d >= .zero { #expect(DurationText.parse(expected) == d) }
    }
}
