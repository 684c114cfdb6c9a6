import Glibc
import Logging
import SkiffConfig
import SkiffJSON
import SkiffTelemetry
import SkiffTestSupport
import Synchronization
import Testing

@testable import SkiffEngine

/// A dynamic source that reports a fixed summary (the engine only reads `summary` for frames and `/metrics`).
final class FixedDynamicSource: DynamicConfigSource {
    let current: Mutex<DynamicConfigSummary>
    init(_ summary: DynamicConfigSummary) { current = Mutex(summary) }

    func reloadFile(
        _ file: SkiffConfiguration, reload: (SkiffConfiguration) throws(EngineError) -> ReloadReport
    ) throws(EngineError) -> ReloadReport { try reload(file) }

    var statusJSON: JSONValue { .object([]) }
    var summary: DynamicConfigSummary { current.withLock { $0 } }
}

/// The control plane's state where operators look (issue 17, "Operators"): `/metrics` has the `skiff_xds_*`
/// families (valid for promtool) only when a dynamic source is set, and frames carry `xds` only then.
@Suite(.serialized) struct XDSOperatorsEngineTests {
    static let summary = DynamicConfigSummary(
        controlPlane: "127.0.0.1:15010", connected: true, sinceMs: 1_795_768_000_000, lastDisconnect: "", connects: 2,
        waiting: 1,
        types: [
            .init(type: "CDS", version: "3", resources: 2, pushes: 3, acks: 3, nacks: 0, lastError: ""),
            .init(type: "EDS", version: "7", resources: 2, pushes: 7, acks: 7, nacks: 0, lastError: ""),
            .init(type: "LDS", version: "1", resources: 1, pushes: 1, acks: 1, nacks: 0, lastError: ""),
            .init(type: "RDS", version: "2", resources: 1, pushes: 3, acks: 2, nacks: 1, lastError: "r1: invalid regex"),
        ])

    static func engine() throws -> Engine {
        let config = try ConfigDecoder.decode(
            #"""
            {"servers":[{"listeners":[{"name":"t","address":"127.0.0.1:\#(freePort())",
              "filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"c"}}]}]}]}],
             "cluster_manager":{"clusters":[{"name":"c","hosts":[{"address":"127.0.0.1:1"}]}]}}
            """#)
        return try Engine(config: config, logger: Logger(label: "test"))
    }

    @Test func metricsHaveTheXDSFamiliesAndPassPromtool() throws {
        let engine = try Self.engine()
        engine.dynamicSource = FixedDynamicSource(Self.summary)
        let text = String(decoding: AdminAPI.prometheus(engine), as: UTF8.self)
        let lines = text.split(separator: "\n").map(String.init)
        for (name, kind) in [
            ("skiff_xds_connected", "gauge"), ("skiff_xds_connects_total", "counter"),
            ("skiff_xds_waiting_listeners", "gauge"), ("skiff_xds_pushes_total", "counter"),
            ("skiff_xds_acks_total", "counter"), ("skiff_xds_nacks_total", "counter"), ("skiff_xds_resources", "gauge"),
        ] {
            #expect(lines.contains("# TYPE \(name) \(kind)"), "\(name)")
            #expect(lines.contains { $0.hasPrefix("# HELP \(name) ") }, "\(name)")
        }
        #expect(lines.contains("skiff_xds_connected 1"))
        #expect(lines.contains("skiff_xds_connects_total 2"))
        #expect(lines.contains("skiff_xds_waiting_listeners 1"))
        #expect(lines.contains(#"skiff_xds_pushes_total{type="EDS"} 7"#))
        #expect(lines.contains(#"skiff_xds_acks_total{type="RDS"} 2"#))
        #expect(lines.contains(#"skiff_xds_nacks_total{type="RDS"} 1"#))
        #expect(lines.contains(#"skiff_xds_nacks_total{type="CDS"} 0"#))
        #expect(lines.contains(#"skiff_xds_resources{type="LDS"} 1"#))
        // Every type in every per-type family, from the first scrape.
        for family in ["pushes_total", "acks_total", "nacks_total", "resources"] {
            #expect(lines.filter { $0.hasPrefix("skiff_xds_\(family){") }.count == 4, "\(family)")
        }

        // promtool's findings, less MOSN's counter names kept without _total (docs/metrics.md).
        #expect(try PromtoolCheck.problems(text) == [])

        // Disconnected: the gauge drops to 0.
        var lost = Self.summary
        lost.connected = false
        engine.dynamicSource = FixedDynamicSource(lost)
        #expect(String(decoding: AdminAPI.prometheus(engine), as: UTF8.self).contains("\nskiff_xds_connected 0\n"))
    }

    @Test func noXDSSeriesWithoutAControlPlane() throws {
        let engine = try Self.engine()
        let text = String(decoding: AdminAPI.prometheus(engine), as: UTF8.self)
        #expect(!text.contains("skiff_xds_"))
    }

    @Test func framesCarryXDSOnlyWithADynamicSource() throws {
        let engine = try Self.engine()
        #expect(engine.publisher.statsFrame().xds == nil)
        #expect(!String(decoding: engine.publisher.fullFrame().jsonBytes, as: UTF8.self).contains("\"xds\""))

        engine.dynamicSource = FixedDynamicSource(Self.summary)
        // As a `stats` reply carries it on the wire.
        let wire = try JSONParser.parse(engine.publisher.statsFrame().jsonBytes)
        let x = try #require(wire["xds"])
        #expect(x["control_plane"]?.stringValue == "127.0.0.1:15010")
        #expect(x["connected"] == .bool(true))
        #expect(x["since_ms"]?.uint == 1_795_768_000_000)
        #expect(x["waiting"]?.int == 1)
        let types = x["types"]?.arrayValue ?? []
        #expect(types.map { $0["type"]?.stringValue ?? "" } == ["CDS", "EDS", "LDS", "RDS"])
        #expect(types[3]["nacks"]?.int == 1)
        #expect(types[3]["last_error"]?.stringValue == "r1: invalid regex")
        let decoded = TelemetryFrame(json: wire).xds
        #expect(decoded?.types.map(\.version) == ["3", "7", "1", "2"])
        #expect(engine.publisher.fullFrame().xds?.totalNacks == 1)
    }
}
