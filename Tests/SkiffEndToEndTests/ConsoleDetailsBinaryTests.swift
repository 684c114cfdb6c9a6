import Glibc
import SkiffNet
import SkiffTestSupport
import Testing

/// The details panel and the host actions in a real terminal (tmux, 120x40) attached with `skiff top` to a daemon
/// under load (issue 15): Enter/Esc on a host, `w` with a typed weight, `M`, and the second confirmation that
/// guards the last READY host of a cluster.
@Suite(.serialized) struct ConsoleDetailsBinaryTests {
    func screen(_ session: String) -> String { (try? tmuxCapture(session)) ?? "" }

    func hostsJSON(_ sock: String) -> String {
        (try? SkiffProcess.run(["ctl", "hosts", "--json", "--socket", sock]).output) ?? ""
    }

    @Test func detailsWeightMaintAndLastHostConfirmation() throws {
        let d = try WeightDaemon(tag: "details")
        defer { d.stop() }
        #expect(d.process.waitForOutput("started"), "\(d.process.output)")
        let (sock, h1, h2) = (d.sock, d.h1, d.h2)
        try d.startLoad(clients: 2, path: "/t")

        let session = try tmuxStart("sh -c '\(SkiffProcess.binaryPath) top --socket \(sock); echo TOP-EXITED; sleep 30'")
        defer { tmuxKill(session) }
        #expect(waitUntil(seconds: 10) { screen(session).contains("Overview") })
        try tmuxKeys(session, "3")
        #expect(waitUntil(seconds: 10) { screen(session).contains(h2) }, "\(screen(session))")

        // Enter on the first host: its panel, live (requests counted), with plain-word labels; Esc closes it.
        try tmuxKeys(session, "Down")
        try tmuxKeys(session, "Enter")
        // The whole panel, not a capture taken while tmux is still drawing it (its last line is the key hint).
        #expect(
            waitUntil(seconds: 5) {
                let s = screen(session)
                return s.contains("host c/\(h1)") && s.contains("Esc close")
            }, "\(screen(session))")
        let panel = screen(session)
        #expect(panel.contains("admin READY   health UP   weight 1   takes new requests"), "\(panel)")
        #expect(panel.contains("connect failures 0"), "\(panel)")
        #expect(panel.contains("latency since start"), "\(panel)")
        #expect(panel.contains("Esc close"), "\(panel)")
        #expect(
            waitUntil(seconds: 5) {
                screen(session).split(separator: "\n").contains { l in
                    l.contains("requests ") && l.contains("responses ")
                        && !l.contains("requests 0 ")
                }
            }, "\(screen(session))")
        try tmuxKeys(session, "Escape")
        #expect(waitUntil(seconds: 5) { !screen(session).contains("host c/\(h1)") }, "\(screen(session))")
        #expect(screen(session).contains("CLUSTER / HOST"))

        // w: a weight typed, refused out of range, then confirmed; the daemon has it.
        try tmuxKeys(session, "w")
        #expect(waitUntil(seconds: 5) { screen(session).contains("weight for c/\(h1) (now 1") }, "\(screen(session))")
        try tmuxKeys(session, "2", "0", "0", "Enter")
        #expect(waitUntil(seconds: 5) { screen(session).contains("weight must be from 0 to 128") }, "\(screen(session))")
        try tmuxKeys(session, "BSpace", "BSpace", "BSpace", "3", "Enter")
        #expect(waitUntil(seconds: 5) { screen(session).contains("set weight of c/\(h1) 1 -> 3? y/n") }, "\(screen(session))")
        try tmuxKeys(session, "y")
        #expect(waitUntil(seconds: 10) { hostsJSON(sock).contains(#""address":"\#(h1)","weight":3"#) }, "\(hostsJSON(sock))")

        // M: MAINT closing the host's connections.
        try tmuxKeys(session, "M")
        #expect(
            waitUntil(seconds: 5) { screen(session).contains("maint host c/\(h1) and close its connections") },
            "\(screen(session))")
        try tmuxKeys(session, "y")
        #expect(waitUntil(seconds: 10) { hostsJSON(sock).contains(#""address":"\#(h1)","weight":3,"admin":"MAINT""#) })
        let maintEvents = try SkiffProcess.run(["ctl", "events", "--kind", "host.admin", "--socket", sock])
        #expect(maintEvents.output.contains("host=\(h1) from=READY to=MAINT"), "\(maintEvents.output)")
        #expect(maintEvents.output.contains("via=control socket kill=true"), "\(maintEvents.output)")

        // h2 is now the last READY, healthy host: draining it asks a second time, and only a capital Y does it.
        usleep(600_000)  // a frame showing h1 out of rotation reaches the console
        try tmuxKeys(session, "Down")
        try tmuxKeys(session, "d")
        #expect(waitUntil(seconds: 5) { screen(session).contains("drain host c/\(h2)") }, "\(screen(session))")
        try tmuxKeys(session, "y")
        #expect(waitUntil(seconds: 5) { screen(session).contains("LAST HOST") }, "\(screen(session))")
        #expect(screen(session).contains("leaves cluster c with no READY, healthy host"), "\(screen(session))")
        try tmuxKeys(session, "y")  // lower case: not enough
        #expect(waitUntil(seconds: 5) { screen(session).contains("cancelled: drain c/\(h2)") }, "\(screen(session))")
        usleep(400_000)
        #expect(hostsJSON(sock).contains(#""address":"\#(h2)","weight":1,"admin":"READY""#), "\(hostsJSON(sock))")
        try tmuxKeys(session, "d")
        try tmuxKeys(session, "y")
        #expect(waitUntil(seconds: 5) { screen(session).contains("LAST HOST") }, "\(screen(session))")
        try tmuxKeys(session, "Y")
        #expect(waitUntil(seconds: 10) { hostsJSON(sock).contains(#""address":"\#(h2)","weight":1,"admin":"DRAIN"#) },
                "\(hostsJSON(sock))")

        try tmuxKeys(session, "q")
        #expect(waitUntil(seconds: 10) { screen(session).contains("TOP-EXITED") }, "\(screen(session))")
    }
}
