import Glibc
import SkiffJSON
import SkiffTestSupport
import Testing

/// Skiff and real Envoy configured from the same resources (issue 17): `Tests/Fixtures/xds/route-table.json`, a
/// route table with a domain-specific virtual host, exact, prefix (case-sensitive and not) and safe_regex paths,
/// header matches, weighted clusters 100/0, prefix and host rewrites, a direct response and redirects. Two control
/// planes (`Tests/peers/xds_server.py`) read the one resources file and differ only in LISTENER_PORT, since both
/// proxies bind the listener they are given. The same requests go to both; each must come back the same (backend,
/// path it saw, status, Location). Skips when Envoy is missing.
@Suite(.serialized) struct XDSEnvoySideBySideBinaryTests {
    /// One request: a label for the table, the path, and extra headers (`Host: t.test` unless one is given, so
    /// redirects name the same host on both sides).
    struct Probe {
        var label: String
        var path: String
        var headers: [String] = []
        /// A difference known and explained: what Envoy and Skiff each answer (checked, so a change shows).
        var known: (envoy: String, skiff: String, why: String)?
    }

    static let probes: [Probe] = [
        Probe(label: "exact path", path: "/exact"),
        Probe(label: "exact path, longer", path: "/exact/more"),
        Probe(label: "exact path, other case", path: "/EXACT"),
        Probe(label: "regex", path: "/re/123"),
        Probe(label: "regex with a query", path: "/re/123?q=1"),
        Probe(label: "regex, letters", path: "/re/abc"),
        Probe(label: "regex, longer", path: "/re/123/x"),
        Probe(label: "header exact b", path: "/hdr/x", headers: ["x-pick: b"]),
        Probe(label: "header exact c", path: "/hdr/x", headers: ["x-pick: c"]),
        Probe(label: "header absent", path: "/hdr/x"),
        Probe(label: "header prefix gold", path: "/hdrp/x", headers: ["x-tenant: gold-7"]),
        Probe(label: "header prefix silver", path: "/hdrp/x", headers: ["x-tenant: silver"]),
        Probe(label: "header regex match", path: "/hdrre/x", headers: ["x-id: abc-42"]),
        Probe(label: "header regex no match", path: "/hdrre/x", headers: ["x-id: abc-42z"]),
        Probe(label: "header present (empty)", path: "/present/x", headers: ["x-present;"]),
        Probe(label: "header present (value)", path: "/present/x", headers: ["x-present: 1"]),
        Probe(label: "header not present", path: "/present/x"),
        Probe(label: "weighted 100/0", path: "/weighted/x"),
        Probe(label: "prefix rewrite", path: "/rw/x"),
        Probe(label: "prefix rewrite + query", path: "/rw/x?y=1"),
        Probe(label: "prefix rewrite to /", path: "/strip/x"),
        Probe(label: "host rewrite", path: "/hostrw"),
        Probe(label: "direct response", path: "/direct"),
        Probe(label: "redirect path", path: "/moved"),
        Probe(label: "redirect host", path: "/hostmove/x"),
        Probe(label: "prefix, case-sensitive", path: "/CaseSensitive/x"),
        Probe(label: "prefix, wrong case", path: "/casesensitive/x"),
        Probe(label: "prefix, case-insensitive", path: "/CI/x"),
        Probe(label: "prefix /b/", path: "/b/x"),
        Probe(label: "default route", path: "/anything"),
        Probe(label: "domain special.test", path: "/y", headers: ["Host: special.test"]),
        Probe(label: "domain SPECIAL.test", path: "/y", headers: ["Host: SPECIAL.test"]),
        Probe(
            label: "domain special.test:80", path: "/y", headers: ["Host: special.test:80"],
            known: (
                "a /y 200", "b /special/y 200",
                "Envoy compares the Host with its port unless the HCM says strip_any_host_port; Skiff's domain "
                    + "without a port matches any port, and its model has no 'this host, no port' domain")),
    ]

    @Test(.enabled(if: XDSPeers.envoy != nil, "no Envoy binary; install it with \(XDSPeers.envoyInstallHint)"))
    func skiffAndEnvoyRouteTheSameRequestsTheSameWay() throws {
        let envoyBinary = try #require(XDSPeers.envoy)
        let rig = try XDSRig(fixture: "route-table.json")
        defer { rig.stop() }
        let envoyPort = freePort()
        var envoyVariables = rig.variables
        envoyVariables["LISTENER_PORT"] = "\(envoyPort)"
        let (envoy, envoyPlane) = try rig.startEnvoy(envoyBinary, variables: envoyVariables)
        defer {
            envoy.stop()
            envoyPlane.stop()
        }

        func ask(_ port: Int, _ p: Probe) -> String {
            let headers = p.headers.contains { $0.lowercased().hasPrefix("host:") } ? p.headers : ["Host: t.test"] + p.headers
            return XDSRig.ask(port: port, p.path, headers: headers)
        }
        let ready = Probe(label: "", path: "/exact")
        #expect(waitUntil(seconds: 30) { ask(rig.listenerPort, ready) == "b /exact 200" }, "\(rig.diagnostics)")
        #expect(
            waitUntil(seconds: 30) { ask(envoyPort, ready) == "b /exact 200" },
            "envoy: \(envoy.output)\nxds: \(envoyPlane.process.output)")

        var rows: [(Probe, String, String)] = []
        for p in Self.probes { rows.append((p, ask(envoyPort, p), ask(rig.listenerPort, p))) }
        let width = rows.map { $0.0.label.count }.max() ?? 0
        var table = "xds envoy vs skiff (route-table.json):\n"
        for (p, e, s) in rows {
            let label = p.label.padding(width)
            let mark = e == s ? "same " : p.known != nil ? "KNOWN" : "DIFF "
            table += "  \(mark) \(label)  \(p.path)  envoy: \(e)" + (e == s ? "" : "  skiff: \(s)") + "\n"
            if let known = p.known { table += "        (\(known.why))\n" }
        }
        print(table)
        for (p, e, s) in rows {
            if let known = p.known {
                #expect(e == known.envoy && s == known.skiff, "\(p.label): envoy \(e), skiff \(s); expected \(known)")
            } else {
                #expect(e == s, "\(p.label) \(p.path) \(p.headers): envoy \(e), skiff \(s)")
            }
        }
        // The table means something only if the routes were not all the default one.
        #expect(Set(rows.map(\.1)).count > 10)
        #expect(rows.allSatisfy { !$0.1.hasSuffix(" 000") && !$0.1.contains("curl failed") }, "\(table)")
        #expect(envoy.stop() == 0, "\(envoy.output)")
    }
}

extension String {
    /// Padded with spaces to `width` characters.
    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
