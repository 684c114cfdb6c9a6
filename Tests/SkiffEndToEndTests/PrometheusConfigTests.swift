import Glibc
import SkiffJSON
import SkiffTestSupport
import Testing

/// The shipped monitoring files (issue 18): `configs/prometheus/prometheus.yml` and `alerts.yml` pass promtool's
/// checks, the alert rules' unit tests (`alerts_test.yml`) pass, and the Grafana dashboard is a dashboard whose every
/// query reads series docs/metrics.md documents, as do the alerts.
@Suite struct PrometheusConfigTests {
    static let dir = SkiffProcess.packageRoot + "/configs/prometheus"
    static let dashboardPath = SkiffProcess.packageRoot + "/configs/grafana/skiff-dashboard.json"

    /// Every target expression of the Grafana dashboard, with its panel's title.
    static func dashboardQueries() throws -> [(panel: String, expr: String)] {
        let root = try JSONParser.parse(try readFile(dashboardPath))
        var out: [(String, String)] = []
        for panel in root["panels"]?.arrayValue ?? [] {
            for target in panel["targets"]?.arrayValue ?? [] {
                if let expr = target["expr"]?.stringValue { out.append((panel["title"]?.stringValue ?? "?", expr)) }
            }
        }
        return out
    }

    /// The `expr:` values of alerts.yml (single-line or `|` blocks).
    static func alertExpressions() throws -> [String] {
        let lines = String(decoding: try readFile(dir + "/alerts.yml"), as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false)
        var out: [String] = []
        var i = 0
        while i < lines.count {
            let line = lines[i]
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("expr:") {
                let rest = trimmed.dropFirst("expr:".count).drop { $0 == " " }
                if rest == "|" {
                    let indent = line.count - trimmed.count
                    var block: [Substring] = []
                    i += 1
                    while i < lines.count, lines[i].prefix { $0 == " " }.count > indent || lines[i].isEmpty {
                        block.append(lines[i])
                        i += 1
                    }
                    out.append(block.joined(separator: "\n"))
                    continue
                }
                out.append(String(rest))
            }
            i += 1
        }
        return out
    }

    @Test func promtoolAcceptsTheConfigAndTheRules() throws {
        let config = try SkiffProcess.runCommand("promtool", ["check", "config", Self.dir + "/prometheus.yml"])
        #expect(config.status == 0, "\(config.output)")
        #expect(config.output.contains("SUCCESS: 1 rule files found"), "\(config.output)")
        let rules = try SkiffProcess.runCommand("promtool", ["check", "rules", Self.dir + "/alerts.yml"])
        #expect(rules.status == 0, "\(rules.output)")
    }

    @Test func theAlertRulesUnitTestsPass() throws {
        let run = try SkiffProcess.runCommand("promtool", ["test", "rules", Self.dir + "/alerts_test.yml"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("SUCCESS"), "\(run.output)")
    }

    @Test func theDashboardIsAGrafanaDashboardOnPrometheus() throws {
        let root = try JSONParser.parse(try readFile(Self.dashboardPath))
        #expect(root["title"]?.stringValue == "Skiff")
        #expect(root["uid"]?.stringValue?.isEmpty == false)
        #expect((root["schemaVersion"]?.number ?? 0) >= 30)
        let variables = root["templating"]?["list"]?.arrayValue ?? []
        #expect(variables.contains { $0["type"]?.stringValue == "datasource" && $0["query"]?.stringValue == "prometheus" })
        #expect(variables.contains { $0["name"]?.stringValue == "instance" })
        var ids: Set<Int> = []
        for panel in root["panels"]?.arrayValue ?? [] {
            let id = Int(panel["id"]?.number ?? -1)
            #expect(ids.insert(id).inserted, "panel id \(id) used twice")
            #expect(panel["gridPos"]?["w"] != nil && panel["gridPos"]?["h"] != nil)
            if panel["type"]?.stringValue == "row" { continue }
            #expect(panel["datasource"]?["type"]?.stringValue == "prometheus", "\(panel["title"]?.stringValue ?? "")")
            #expect((panel["targets"]?.arrayValue ?? []).isEmpty == false)
        }
        let titles = try Self.dashboardQueries().map(\.panel)
        for wanted in ["Requests per second", "5xx ratio", "p99", "Healthy hosts", "Ejected", "connections", "writev"] {
            #expect(titles.contains { $0.contains(wanted) }, "no panel about \(wanted)")
        }
    }

    @Test func dashboardsAndAlertsReadOnlyDocumentedSeries() throws {
        let doc = try MetricsDoc.documented()
        var read: Set<String> = []
        for (panel, expr) in try Self.dashboardQueries() {
            let families = MetricsDoc.families(inPromQL: expr)
            #expect(!families.isEmpty, "\(panel): \(expr)")
            read.formUnion(families)
        }
        let alerts = try Self.alertExpressions()
        #expect(alerts.count == 8)
        for expr in alerts { read.formUnion(MetricsDoc.families(inPromQL: expr)) }
        #expect(read.filter { !MetricsDoc.isDocumented($0, in: doc) }.sorted() == [])
        for wanted in ["upstream_host_healthy", "upstream_host_ejected", "upstream_host_admin_state",
            "downstream_request_duration_seconds", "upstream_request_duration_seconds", "skiff_xds_connected"]
        {
            #expect(read.contains(wanted), "\(wanted) is read by no panel or alert")
        }
    }
}
