import Testing

@testable import SkiffConfig

/// `slow_start` as MOSN writes it, and the shapes MOSN would quietly turn off or rewrite, refused with their path.
@Suite struct SlowStartConfigTests {
    static func cluster(_ slowStart: String, lb: String = "LB_WEIGHTED_ROUNDROBIN") -> String {
        Fixture.config(clusters: [Fixture.cluster("c1", extra: #","lb_type":"\#(lb)","slow_start":\#(slowStart)"#)])
    }

    @Test func mosnsShapeDecodes() throws {
        let config = try #require(
            decodeValid(
                Self.cluster(#"{"mode":"duration","slow_start_duration":"30s","aggression":2.5,"min_weight_percent":0.2}"#)))
        #expect(config.clusters[0].slowStart == SlowStartConfig(duration: .seconds(30), aggression: 2.5, minFraction: 0.2))
        let defaults = try #require(decodeValid(Self.cluster(#"{"mode":"duration","slow_start_duration":"5s"}"#, lb: "LB_LEAST_REQUEST")))
        #expect(defaults.clusters[0].slowStart == SlowStartConfig(duration: .seconds(5), aggression: 1, minFraction: 0.1))
    }

    static let refusals: [(String, String)] = [
        (cluster(#"{"mode":"linear","slow_start_duration":"5s"}"#), "slow_start.mode: unknown slow start mode \"linear\""),
        (cluster(#"{"slow_start_duration":"5s"}"#), "slow_start.mode: required"),
        (cluster(#"{"mode":"duration"}"#), "slow_start.slow_start_duration: required"),
        (cluster(#"{"mode":"duration","slow_start_duration":"0s"}"#), "slow_start.slow_start_duration"),
        (cluster(#"{"mode":"duration","slow_start_duration":"5s","aggression":0}"#), "slow_start.aggression: 0 is out of range"),
        (cluster(#"{"mode":"duration","slow_start_duration":"5s","min_weight_percent":10}"#), "min_weight_percent: 10 is out of range (above 0, at most 1)"),
        (cluster(#"{"mode":"duration","slow_start_duration":"5s"}"#, lb: "LB_ROUNDROBIN"), "lb_type LB_ROUNDROBIN ignores slow_start"),
    ]

    @Test(arguments: refusals.indices)
    func refusedWithTheirPath(_ i: Int) {
        let (json, expected) = Self.refusals[i]
        let errors = errorLines(json)
        #expect(errors.contains { $0.contains(expected) }, "\(errors)")
    }
}
