import Glibc
import SkiffTestSupport
import Testing

/// One raw HTTP/1.1 request to the admin API on 127.0.0.1; returns the status and the body.
func adminRequest(
    _ port: Int, _ method: String, _ path: String, headers: [String] = [], body: String = ""
) throws -> (status: Int, body: String) {
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    for h in headers { head += h + "\r\n" }
    head += "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    let reply = try rawExchange(port: port, Array(head.utf8))
    let status = Int(reply.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
    let bytes = Array(reply.utf8)
    var text = ""
    if bytes.count >= 4 {
        for i in 0...(bytes.count - 4) where bytes[i..<(i + 4)].elementsEqual([13, 10, 13, 10]) {
            text = String(decoding: bytes[(i + 4)...], as: UTF8.self)
            break
        }
    }
    return (status, text)
}

/// The admin HTTP API's rules for changing state (issue 13, item 7): no browser may (Origin, Sec-Fetch-Site, Host);
/// beyond loopback only a holder of admin.token may, while reads go on; on loopback only root or skiff's uid (or a
/// token holder); and the port is never split with a second skiff.
@Suite(.serialized) struct AdminAccessBinaryTests {
    static let token = "s3cret-admin-token-0123456789"

    /// On loopback without a token: curl as root changes a state and the event names uid 0; a browser's request
    /// (Origin, Sec-Fetch-Site: cross-site, a rebinding Host) and another local user get 403 and change nothing.
    /// Before, every one of them got 200 and the event said uid 4294967295.
    @Test func loopbackMutationsNeedALocalOwnerAndNoBrowser() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let port = freePort()
        let admin = freePort()
        let sock = "/tmp/skiff-test-\(getpid())-adminlo-\(port).sock"
        let path = try writeTempFile(
            controlTestConfig(port: port, backend: backend.port, admin: ("127.0.0.1", admin, nil)))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        let state = "/api/v1/hosts/c/127.0.0.1:\(backend.port)/state"

        for (headers, reason) in [
            (["Origin: http://evil.example"], "cross-origin request refused (Origin: http://evil.example)"),
            (["Origin: null"], "cross-origin request refused (Origin: null)"),
            (["Sec-Fetch-Site: cross-site"], "cross-site request refused (Sec-Fetch-Site: cross-site)"),
            (["Sec-Fetch-Site: same-site"], "cross-site request refused (Sec-Fetch-Site: same-site)"),
        ] {
            let r = try adminRequest(admin, "POST", state, headers: headers, body: "drain")
            #expect(r.status == 403, "\(headers)")
            #expect(r.body.hasPrefix(reason), "\(headers): \(r.body)")
        }
        let rebinding = try rawExchange(
            port: admin,
            Array(
                "POST \(state) HTTP/1.1\r\nHost: evil.example:\(admin)\r\nConnection: close\r\nContent-Length: 5\r\n\r\ndrain"
                    .utf8))
        #expect(rebinding.hasPrefix("HTTP/1.1 403"), "\(rebinding)")

        if runningAsRoot {
            let (other, script) = try startPython(
                """
                import os, socket, sys
                os.setuid(\(otherUID))
                s = socket.socket(); s.connect(("127.0.0.1", int(sys.argv[1])))
                s.sendall(("POST " + sys.argv[2] + " HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\nContent-Length: 5\\r\\n\\r\\ndrain").encode())
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk: break
                    data += chunk
                print(data.decode(), flush=True)
                """, [String(admin), state])
            defer { unlink(script) }
            #expect(other.waitForExit(seconds: 10) == 0, "\(other.output)")
            #expect(other.output.hasPrefix("HTTP/1.1 403"), "\(other.output)")
            #expect(
                other.output.contains("permission denied: uid \(otherUID) may not change state (only root and uid 0"),
                "\(other.output)")
        }
        let hosts = try SkiffProcess.run(["ctl", "hosts", "--socket", sock])
        #expect(hosts.output.contains("READY"), "nothing above changed the state: \(hosts.output)")

        let ok = try adminRequest(admin, "POST", state, body: "drain")
        #expect(ok.status == 200, "\(ok.body)")
        let events = try SkiffProcess.run(["ctl", "events", "--kind", "host.admin", "--socket", sock])
        #expect(events.output.contains("to=DRAIN uid=0 via=admin http 127.0.0.1:"), "\(events.output)")
        #expect(try adminRequest(admin, "GET", "/api/v1/stats", headers: ["Origin: http://evil.example"]).status == 200)
        #expect(p.stop() == 0)
    }

    /// MOSN's samples bind the admin API to 0.0.0.0: such a config still starts and serves reads, but without a
    /// token refuses every change; with `admin.token`, only `Authorization: Bearer <token>` may change state, and
    /// `config_dump` does not show the token. (Reached through 127.0.0.1: the traffic stays on loopback.)
    @Test func beyondLoopbackMutationsNeedTheToken() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let state = "/api/v1/hosts/c/127.0.0.1:\(backend.port)/state"
        for token in [nil, Self.token] {
            let port = freePort()
            let admin = freePort()
            let sock = "/tmp/skiff-test-\(getpid())-adminany-\(port).sock"
            let path = try writeTempFile(
                controlTestConfig(port: port, backend: backend.port, admin: ("0.0.0.0", admin, token)))
            defer { unlink(path) }
            let p = try SkiffProcess(["start", "-c", path, "--control-socket", sock])
            defer { p.stop() }
            #expect(p.waitForOutput("started"), "\(p.output)")
            #expect(try adminRequest(admin, "GET", "/api/v1/clusters").status == 200)
            #expect(try adminRequest(admin, "GET", "/metrics").status == 200)

            let anonymous = try adminRequest(admin, "POST", state, body: "drain")
            #expect(anonymous.status == 403, "\(anonymous.body)")
            // MOSN's samples take this POST from anyone; here it is a change like any other. Probes stay open.
            let level = try adminRequest(admin, "POST", "/api/v1/update_loglevel", body: #"{"log_level":"DEBUG"}"#)
            #expect(level.status == 403, "\(level.body)")
            #expect(try adminRequest(admin, "GET", "/ready").status == 200)
            let wrong = try adminRequest(
                admin, "POST", state, headers: ["Authorization: Bearer not-the-token-at-all"], body: "drain")
            #expect(wrong.status == 403, "\(wrong.body)")
            if let token {
                #expect(anonymous.body.hasPrefix("changing state needs the admin token"), "\(anonymous.body)")
                let dump = try adminRequest(admin, "GET", "/api/v1/config_dump")
                #expect(!dump.body.contains(token) && dump.body.contains(#""token":"<redacted>""#), "\(dump.body)")
                let browser = try adminRequest(
                    admin, "POST", state, headers: ["Authorization: Bearer \(token)", "Origin: http://evil.example"],
                    body: "drain")
                #expect(browser.status == 403, "a browser is refused even with the token: \(browser.body)")
                let good = try adminRequest(
                    admin, "POST", state, headers: ["Authorization: bearer \(token)"], body: "drain")
                #expect(good.status == 200, "\(good.body)")
                #expect(p.output.contains("listens beyond loopback: changes need admin.token"), "\(p.output)")
            } else {
                #expect(
                    anonymous.body.hasPrefix(
                        "the admin API listens beyond loopback (0.0.0.0:\(admin)) without admin.token"),
                    "\(anonymous.body)")
                #expect(p.output.contains("without admin.token: it serves reads only"), "\(p.output)")
                let hosts = try SkiffProcess.run(["ctl", "hosts", "--socket", sock])
                #expect(hosts.output.contains("READY"), "\(hosts.output)")
            }
            #expect(p.stop() == 0, "\(p.output)")
        }
    }

    /// A second skiff asking for the same admin port started silently and the two split the requests
    /// (SO_REUSEPORT). Now it prints one line and exits 1 before any of its listeners opens, and the first answers
    /// every request.
    @Test func secondSkiffOnTheAdminPortIsRefused() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let admin = freePort()
        let port = freePort()
        let path = try writeTempFile(
            controlTestConfig(port: port, backend: backend.port, admin: ("127.0.0.1", admin, nil)))
        defer { unlink(path) }
        let first = try SkiffProcess(["start", "-c", path])
        defer { first.stop() }
        #expect(first.waitForOutput("started"), "\(first.output)")

        let other = freePort()
        let otherPath = try writeTempFile(
            controlTestConfig(port: other, backend: backend.port, admin: ("127.0.0.1", admin, nil)))
        defer { unlink(otherPath) }
        let second = try SkiffProcess(["start", "-c", otherPath])
        defer { second.stop() }
        #expect(second.waitForExit(seconds: 10) == 1, "\(second.output)")
        #expect(
            second.output
                == "error: admin http 127.0.0.1:\(admin): the port is already in use (another skiff with the same admin address?)\n",
            "\(second.output)")
        #expect((try? TestSocket.connect(port: other, timeoutSeconds: 1)) == nil)
        for _ in 0..<20 {
            let dump = try adminRequest(admin, "GET", "/api/v1/config_dump")
            #expect(dump.body.contains("127.0.0.1:\(port)") && !dump.body.contains("127.0.0.1:\(other)"))
        }
        #expect(first.stop() == 0)
    }
}
