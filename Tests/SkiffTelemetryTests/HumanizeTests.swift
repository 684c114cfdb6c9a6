import Testing

@testable import SkiffTelemetry

@Suite("Humanize")
struct HumanizeTests {
    @Test(
        "counts",
        arguments: [
            (UInt64(0), "0"), (987, "987"), (999, "999"), (1000, "1.0k"), (1234, "1.2k"), (34_560, "34.6k"),
            (99_949, "99.9k"), (99_950, "100k"), (678_400, "678k"), (999_499, "999k"), (999_500, "1.0M"),
            (3_400_000, "3.4M"), (5_600_000_000, "5.6G"), (7_000_000_000_000, "7.0T"), (UInt64.max, "18.4E"),
        ])
    func counts(value: UInt64, expected: String) {
        #expect(Humanize.count(value) == expected)
    }

    @Test(
        "bytes",
        arguments: [
            (UInt64(0), "0B"), (512, "512B"), (1023, "1023B"), (1024, "1.0KiB"), (1536, "1.5KiB"),
            (102_400, "100KiB"), (1_048_064, "1.0MiB"), (2 << 20, "2.0MiB"), (5 << 30, "5.0GiB"),
            (3 << 40, "3.0TiB"), (UInt64.max, "16.0EiB"),
        ])
    func bytes(value: UInt64, expected: String) {
        #expect(Humanize.bytes(value) == expected)
    }

    @Test(
        "durations",
        arguments: [
            (UInt64(0), "0ns"), (850, "850ns"), (999, "999ns"), (1000, "1.0µs"), (1_540, "1.5µs"), (9_960, "10µs"),
            (12_000, "12µs"), (999_400, "999µs"), (999_500, "1.0ms"), (3_400_000, "3.4ms"), (250_000_000, "250ms"),
            (999_600_000, "1.00s"), (1_200_000_000, "1.20s"), (9_994_000_000, "9.99s"), (9_995_000_000, "10.0s"),
            (12_340_000_000, "12.3s"), (59_940_000_000, "59.9s"), (59_960_000_000, "1m00s"),
            (125_000_000_000, "2m05s"), (11_220_000_000_000, "3h07m"), (187_200_000_000_000, "2d04h"),
            (UInt64.max, "213504d00h"),
        ])
    func durations(ns: UInt64, expected: String) {
        #expect(Humanize.duration(ns: ns) == expected)
    }

    @Test(
        "rates",
        arguments: [
            (0.0, "0.0/s"), (0.5, "0.5/s"), (9.94, "9.9/s"), (9.96, "10/s"), (12.4, "12/s"), (987, "987/s"),
            (999.6, "1.0k/s"), (1234, "1.2k/s"), (56_789, "56.8k/s"), (3_400_000, "3.4M/s"), (-2.5, "-2.5/s"),
            (2e40, "2e+22E/s"),
            (.nan, "-"), (.infinity, "-"),
        ])
    func rates(value: Double, expected: String) {
        #expect(Humanize.rate(value) == expected)
    }
}
