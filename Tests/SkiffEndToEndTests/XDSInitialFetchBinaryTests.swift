import Glibc
import SkiffJSON
import SkiffTestSupport
import Testing

/// When an LDS listener binds (issue 17): once its routes and endpoints are there, so its first request is routed;
/// or, when its route configuration never comes, at the initial-fetch timeout, answering 404 until it does.
@Suite(.serialized) struct XDSInitialFetchBinaryTests {
    /// `routes-absent.json` (listener `ingress` names RDS `local_route`, which the control plane does not have) with
    /// a 1 s initial-fetch timeout: the listener waits (shown by `skiff ctl xds`), binds at the timeout answering
    /// 404, and routes once the route configuration is pushed.
    @Test func aListenerWithoutItsRoutesBindsAtTheInitialFetchTimeout() throws {
        let rig = try XDSRig(fixture: "routes-absent.json", initialFetchTimeout: "1s")
        defer { rig.stop() }

        // Before the timeout: waiting for its route configuration, and not bound.
        var waitingFor = ""
        #expect(
            waitUntil(seconds: 20) {
                waitingFor = rig.waiting()?["ingress"] ?? ""
                return !waitingFor.isEmpty
            }, "\(rig.diagnostics)")
        let seenWaiting = ContinuousClock.now
        #expect(waitingFor.contains("route configuration local_route"), "\(waitingFor)")
        #expect(rig.type("RDS")?["names"]?.arrayValue.compactMap(\.stringValue) == ["local_route"])
        let refusedWhileWaiting = XDSRig.refuses(rig.listenerPort)

        // After it: bound, every request a 404 (no route configuration), nothing waiting.
        #expect(waitUntil(seconds: 10) { rig.get("/x").hasSuffix(" 404") }, "\(rig.diagnostics)")
        let boundAfter = ContinuousClock.now - seenWaiting
        #expect(refusedWhileWaiting, "the listener answered before the initial-fetch timeout")
        #expect(rig.waiting() == [:])
        #expect(rig.a.requests.load(ordering: .relaxed) == 0)

        // The route configuration arrives: routed.
        let v2 = try XDSRig.fixture("basic.json").replacing("\"version\": \"1\"", with: "\"version\": \"2\"")
        try rig.push(v2)
        #expect(waitUntil(seconds: 20) { rig.get("/x") == "a /x 200" }, "\(rig.diagnostics)")
        #expect(rig.get("/b/x") == "b /b/x 200")
        #expect(waitUntil(seconds: 5) { rig.acked("routes") == "2" })
        print("xds initial fetch: waited for \(waitingFor), bound \(boundAfter) after first seen waiting")
    }

    /// Everything present (`basic.json`): probed from Skiff's start, the listener refuses until it binds, and from
    /// its first answer on every request is routed (200 from backend a), never a 404, a 503 or a refusal.
    @Test func aListenerWithEverythingPresentRoutesItsFirstRequest() throws {
        let rig = try XDSRig()
        defer { rig.stop() }
        var refusedBefore = 0
        var answers: [String] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while answers.count < 30 && ContinuousClock.now < deadline {
            guard let s = try? TestSocket.connect(port: rig.listenerPort, timeoutSeconds: 5) else {
                if answers.isEmpty {
                    refusedBefore += 1
                    usleep(2_000)
                    continue
                }
                answers.append("refused")
                continue
            }
            defer { s.close() }
            do {
                try s.send("GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                let reply = String(decoding: try s.receiveToEOF(), as: UTF8.self)
                let status = reply.split(separator: "\r\n").first.map(String.init) ?? "(nothing)"
                let body = reply.firstRange(of: "\r\n\r\n").map { String(reply[$0.upperBound...]) } ?? ""
                answers.append("\(status) \(body)")
            } catch {
                answers.append("error \(error)")
            }
        }
        #expect(answers.count == 30, "\(rig.diagnostics)")
        #expect(answers.first?.hasPrefix("HTTP/1.1 200") == true, "first answer: \(answers.first ?? "none")")
        let bad = answers.filter { !($0.hasPrefix("HTTP/1.1 200") && $0.hasSuffix("a /x")) }
        #expect(bad.isEmpty, "\(bad)")
        print("xds first request: \(refusedBefore) connects refused before the listener bound, then \(answers.count) routed")
    }
}
