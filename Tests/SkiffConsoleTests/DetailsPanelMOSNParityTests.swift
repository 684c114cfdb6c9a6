import SkiffTelemetry
import Testing

@testable import SkiffConsole

/// Issue 20 in the details panel: a host's subset metadata and slow-start share, a cluster's subsets and fallbacks,
/// and a DNS cluster's resolutions, from frames as the publisher writes them.
@Suite struct DetailsPanelMOSNParityTests {
    static var frame: TelemetryFrame {
        var f = Fixtures.f2
        f.clusters[0].subsets = 5
        f.clusters[0].subsetPolicy = "DEFAULT_SUBSET"
        f.clusters[0].subsetFallbacks = 30
        f.clusters[0].dnsResolutions = 12
        f.clusters[0].dnsFailures = 2
        f.clusters[0].hosts[0].metadata = ["filter_metadata.mosn.lb.stage": "canary", "zone": "a"]
        f.clusters[0].hosts[0].weight = 10
        f.clusters[0].hosts[0].slowStartPercent = 34
        return f
    }

    @Test func hostShowsItsMetadataAndRamp() {
        let m = Fixtures.model(frames: [Fixtures.f1, Self.frame])
        let address = Self.frame.clusters[0].hosts[0].address
        let text = DetailsPanel.text(.host(cluster: "c1", address: address), m.snapshot)
        #expect(text.contains { $0.contains("weight 10 (slow start: 34%, 3.4)") }, "\(text.prefix(4))")
        #expect(text.contains("metadata   mosn.lb.stage=canary   zone=a"), "\(text.prefix(4))")
        #expect(Fmt.weightCell(Self.frame.clusters[0].hosts[0]) == "~3")
        #expect(Fmt.weightCell(Self.frame.clusters[0].hosts[1]) == "\(Self.frame.clusters[0].hosts[1].weight)")
    }

    @Test func clusterShowsSubsetsAndDNS() {
        let m = Fixtures.model(frames: [Fixtures.f1, Self.frame])
        let text = DetailsPanel.text(.cluster("c1"), m.snapshot)
        #expect(
            text.contains("subsets 5 (metadata_match; no match falls back: DEFAULT_SUBSET)   fallbacks since start 30"),
            "\(text.prefix(8))")
        #expect(text.contains("dns: names asked 12   without an answer 2 (the last answer is kept)"))
    }
}
