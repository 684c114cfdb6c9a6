import SkiffTelemetry
import Testing

@testable import SkiffConsole

/// `w` (weight), `M` (maint closing connections) and the second confirmation for a cluster's last READY, healthy
/// host (issue 15), on frames encoded as the publisher sends them.
@Suite struct HostActionKeyTests {
    func press(_ keys: [Key], _ s: inout ConsoleState, _ m: ConsoleModel) -> ConsoleCommand {
        var last = ConsoleCommand.none
        for k in keys { last = handle(k, state: &s, model: m) }
        return last
    }

    /// f2 where `available` is as given per host (10.0.0.3, .4, .5).
    static func model(available: [Bool]) -> ConsoleModel {
        var f = Fixtures.f2
        for (i, a) in available.enumerated() { f.clusters[0].hosts[i].available = a }
        return Fixtures.model(frames: [Fixtures.f1, f])
    }

    @Test func weightIsTypedCheckedAndConfirmed() {
        let m = Self.model(available: [true, true, false])
        var s = Fixtures.state(.health)  // row 0: c1/10.0.0.3:8080
        #expect(press([.char("w")], &s, m) == .none)
        #expect(s.weightEntry?.prompt == "weight for c1/10.0.0.3:8080 (now 1, 0-128; 0 = no new traffic): _")
        _ = press([.char("x")], &s, m)
        #expect(s.weightEntry?.problem == "digits only; Enter sets, Esc cancels")
        _ = press([.char("2"), .char("0"), .char("0"), .enter], &s, m)
        #expect(s.weightEntry?.problem == "weight must be from 0 to 128")
        #expect(Fixtures.render(m, s).text()[28].contains("200_  weight must be from 0 to 128"))
        _ = press([.backspace, .backspace, .enter], &s, m)
        #expect(s.weightEntry == nil)
        #expect(s.pending?.text == "set weight of c1/10.0.0.3:8080 1 -> 2? y/n")
        #expect(press([.char("y")], &s, m) == .setHostWeight(cluster: "c1", host: "10.0.0.3:8080", weight: 2))
        #expect(s.status == "weight 2 c1/10.0.0.3:8080 requested")
        // Esc while typing cancels; n at the prompt cancels.
        _ = press([.char("w"), .char("5"), .escape], &s, m)
        #expect(s.weightEntry == nil && s.pending == nil && s.status.hasPrefix("cancelled"))
        #expect(press([.char("w"), .char("5"), .enter, .char("n")], &s, m) == .none)
        #expect(s.pending == nil && s.status == "cancelled: weight 5 c1/10.0.0.3:8080")
    }

    @Test func capitalMIsMaintClosingConnections() {
        let m = Self.model(available: [true, true, false])
        var s = Fixtures.state(.health)
        _ = press([.down, .char("M")], &s, m)  // 10.0.0.4:8080
        #expect(s.pending?.text == "maint host c1/10.0.0.4:8080 and close its connections (2 active requests)? y/n")
        #expect(press([.char("y")], &s, m) == .setHostMaintClosingConnections(cluster: "c1", host: "10.0.0.4:8080"))
        // Plain m stays plain MAINT.
        _ = press([.char("m")], &s, m)
        #expect(press([.char("y")], &s, m) == .setHostState(cluster: "c1", host: "10.0.0.4:8080", state: "maint"))
    }

    @Test func theLastAvailableHostAsksAgainAndWantsCapitalY() {
        let m = Self.model(available: [false, true, false])
        var s = Fixtures.state(.health)
        _ = press([.down, .char("d"), .char("y")], &s, m)
        let again = s.pending
        #expect(again?.lastHost == true)
        #expect(
            again?.text
                == "LAST HOST: drain c1/10.0.0.4:8080 leaves cluster c1 with no READY, healthy host; its requests will fail. "
                + "Press Y (capital) to do it, any other key cancels")
        let screen = Fixtures.render(m, s)
        #expect(screen.text()[28].hasPrefix("LAST HOST: drain c1/10.0.0.4:8080"))
        #expect(screen.cells[28 * screen.width].role == .bad)
        #expect(press([.char("y")], &s, m) == .none)
        #expect(s.pending == nil && s.status == "cancelled: drain c1/10.0.0.4:8080")
        _ = press([.char("d"), .char("y")], &s, m)
        #expect(press([.char("Y")], &s, m) == .setHostState(cluster: "c1", host: "10.0.0.4:8080", state: "drain"))
        // maint, M and weight 0 ask too; ready and a weight above 0 do not.
        _ = press([.char("M"), .char("y")], &s, m)
        #expect(s.pending?.lastHost == true)
        #expect(press([.char("Y")], &s, m) == .setHostMaintClosingConnections(cluster: "c1", host: "10.0.0.4:8080"))
        _ = press([.char("w"), .char("0"), .enter, .char("y")], &s, m)
        #expect(s.pending?.lastHost == true)
        #expect(press([.char("Y")], &s, m) == .setHostWeight(cluster: "c1", host: "10.0.0.4:8080", weight: 0))
        #expect(press([.char("w"), .char("4"), .enter, .char("y")], &s, m) == .setHostWeight(cluster: "c1", host: "10.0.0.4:8080", weight: 4))
        #expect(press([.char("r"), .char("y")], &s, m) == .setHostState(cluster: "c1", host: "10.0.0.4:8080", state: "ready"))
    }

    @Test func anotherAvailableHostOrAnUnavailableTargetAsksOnce() {
        // Another host takes traffic: one y is enough.
        let two = Self.model(available: [true, true, false])
        var s = Fixtures.state(.health)
        #expect(press([.char("d"), .char("y")], &s, two) == .setHostState(cluster: "c1", host: "10.0.0.3:8080", state: "drain"))
        // The target takes no traffic already (DOWN): taking it out changes nothing, one y.
        let none = Self.model(available: [false, false, false])
        var t = Fixtures.state(.health)
        #expect(press([.down, .char("m"), .char("y")], &t, none) == .setHostState(cluster: "c1", host: "10.0.0.4:8080", state: "maint"))
    }

    @Test func actionsInTheDetailsPanelActOnItsHostAndReadOnlyRefuses() {
        let m = Self.model(available: [true, true, false])
        var s = Fixtures.state(.health)
        _ = press([.down, .enter], &s, m)
        #expect(s.details == .host(cluster: "c1", address: "10.0.0.4:8080"))
        _ = press([.char("w"), .char("7"), .enter], &s, m)
        #expect(press([.char("y")], &s, m) == .setHostWeight(cluster: "c1", host: "10.0.0.4:8080", weight: 7))
        #expect(s.details != nil)  // the panel stays open
        var r = Fixtures.state(.health)
        r.readOnly = true
        for k: Character in ["w", "M"] {
            #expect(press([.char(k)], &r, m) == .none)
            #expect(r.weightEntry == nil && r.pending == nil)
            #expect(r.status == "read-only: host actions are disabled")
        }
        var l = Fixtures.state(.listeners)
        _ = press([.char("w"), .char("M")], &l, m)
        #expect(l.weightEntry == nil && l.pending == nil)
    }
}
