import Glibc
import SkiffTestSupport
import Testing

/// Upstream TLS and its health checks: a front skiff (plain HTTP listener) whose clusters speak TLS to
/// - `secure`: a back skiff's mTLS listener -> checks pass over TLS, the host is UP, requests flow;
/// - `plain`: plaintext servers (an HTTPTestServer and Python's http.server) -> DOWN with a TLS reason, 503;
/// - `wrong`: the back skiff again, but `server_name` is not on its certificate -> untrusted_certificate, DOWN.
@Suite(.serialized) struct TLSHealthCheckBinaryTests {
    /// Both skiffs, the backends, and the plaintext servers, on one thread model (the front's and the back's
    /// listener; the checks run on the health poller).
    final class TLSUpstreams {
        let back: TLSFront
        let plain: HTTPTestServer
        let pythonServer: SkiffProcess
        let pythonScript: String
        let pythonPort: Int
        let front: TLSSkiff

        init(model: String) throws {
            let context = TLSConfigText.context(TLSConfigText.mutualTLS)
            let backFront = try TLSFront(model: model, name: "back", tls: #""tls_context":\#(context)"#)
            var cleanups: [() -> Void] = [backFront.stop]
            do {
                let plainServer = try HTTPTestServer(name: "plain")
                cleanups.append(plainServer.stop)
                let (python, script) = try startPython(
                    """
                    import http.server
                    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
                    print("port:", server.server_address[1], flush=True)
                    server.serve_forever()
                    """)
                cleanups.append {
                    python.kill()
                    unlink(script)
                }
                guard python.waitForOutput("port: "), let port = emitted("port", in: python.output).flatMap({ Int($0) })
                else { throw TestError("python http.server did not start: \(python.output)") }
                let plainPorts = [plainServer.port, port]
                front = try TLSSkiff { ports in
                    Self.frontConfig(port: ports[0], model: model, back: backFront.port, plain: plainPorts)
                }
                (back, plain, pythonServer, pythonScript, pythonPort) = (backFront, plainServer, python, script, port)
            } catch {
                for cleanup in cleanups.reversed() { cleanup() }
                throw error
            }
        }

        func stop() {
            front.stop()
            pythonServer.kill()
            _ = pythonServer.waitForExit(seconds: 5)
            unlink(pythonScript)
            plain.stop()
            back.stop()
        }

        static func frontConfig(port: Int, model: String, back: Int, plain: [Int]) -> String {
            let check = """
                "health_check":{"protocol":"Http1","service_name":"tls","timeout":"1s","interval":"200ms",
                  "healthy_threshold":1,"unhealthy_threshold":2,"check_config":{"http_check_config":{"path":"/health"}}}
                """
            let client = #""cert_chain":"\#(TLSFixture.clientCert)","private_key":"\#(TLSFixture.clientKey)""#
            func cluster(_ name: String, _ hosts: [Int], tls: String) -> String {
                let list = hosts.map { #"{"address":"127.0.0.1:\#($0)"}"# }.joined(separator: ",")
                return #"{"name":"\#(name)","connect_timeout":"1s","tls_context":{"status":true,"ca_cert":"\#(TLSFixture.ca)",\#(tls)},\#(check),"hosts":[\#(list)]}"#
            }
            return """
                {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[
                  {"match":{"prefix":"/secure/"},"route":{"cluster_name":"secure","timeout":"5s"}},
                  {"match":{"prefix":"/plain/"},"route":{"cluster_name":"plain","timeout":"5s"}},
                  {"match":{"prefix":"/wrong/"},"route":{"cluster_name":"wrong","timeout":"5s"}}]}]}],
                 "listeners":[{"name":"front","address":"127.0.0.1:\(port)","thread_model":"\(model)",
                   "filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
                 "cluster_manager":{"clusters":[
                   \(cluster("secure", [back], tls: #""server_name":"localhost",\#(client)"#)),
                   \(cluster("plain", plain, tls: #""server_name":"localhost","handshake_timeout":"500ms""#)),
                   \(cluster("wrong", [back], tls: #""server_name":"wrong.skiff.test",\#(client)"#))
                 ]}}
                """
        }

        /// The `skiff ctl hosts` line of `cluster`'s host on `port` ("CLUSTER/ADDRESS ADMIN HEALTH ... LAST CHECK ...").
        func hostLine(_ cluster: String, _ port: Int) -> String {
            let r = try? SkiffProcess.run(["ctl", "hosts", "--socket", front.controlSocket], timeoutSeconds: 10)
            let line = r?.output.split(separator: "\n").first { $0.hasPrefix("\(cluster)/127.0.0.1:\(port) ") }
            return line.map(String.init) ?? ""
        }

        /// Waits until that host's health is `health` ("UP", "DOWN") with a last check containing `lastCheck`.
        func waitForHost(_ cluster: String, _ port: Int, _ health: String, lastCheck: String, seconds: Double = 8) -> Bool {
            waitUntil(seconds: seconds) {
                let line = self.hostLine(cluster, port)
                return line.contains(" \(health) ") && line.contains(lastCheck)
            }
        }
    }

    /// A request through the front: its response with the head (`curl -i`), or curl's error.
    func frontRequest(_ u: TLSUpstreams, _ path: String) throws -> String {
        let r = try curl(["-i", "--max-time", "5", "http://127.0.0.1:\(u.front.port)\(path)"])
        return r.output
    }

    @Test(arguments: tlsThreadModels)
    func tlsUpstreamIsHealthyAndCarriesTraffic(model: String) throws {
        let u = try TLSUpstreams(model: model)
        defer { u.stop() }
        #expect(waitUntil(seconds: 8) { u.back.backend.count(path: "/health") >= 2 }, "checks reach the backend over TLS")
        #expect(u.waitForHost("secure", u.back.port, "UP", lastCheck: "L7OK"), "\(u.hostLine("secure", u.back.port))")
        for i in 0..<5 {
            let r = try curl(["--max-time", "5", "http://127.0.0.1:\(u.front.port)/secure/\(i)"])
            #expect(r.status == 0 && r.output == "backend /secure/\(i)", "\(r.output)")
        }
        // The back listener speaks only TLS and wants the client certificate: what reached it came over mTLS.
        #expect(!u.front.log.contains("tls: cluster secure:"), "\(u.front.log)")
    }

    @Test(arguments: tlsThreadModels)
    func plaintextUpstreamIsUnhealthyWithATLSReason(model: String) throws {
        let u = try TLSUpstreams(model: model)
        defer { u.stop() }
        // Python's http.server answers the ClientHello with a 400: not TLS.
        #expect(u.waitForHost("plain", u.pythonPort, "DOWN", lastCheck: "L6RSP tls not_tls"), "\(u.hostLine("plain", u.pythonPort))")
        #expect(u.front.loggedFailure("cluster plain", "not_tls"), "\(u.front.log)")
        #expect(u.front.log.contains("host plain/127.0.0.1:\(u.pythonPort): DOWN (L6RSP tls not_tls)"), "\(u.front.log)")
        // The HTTPTestServer waits for the end of a request head the ClientHello never brings: the handshake times
        // out (`handshake_timeout` 500 ms, before the check's own 1 s).
        #expect(u.waitForHost("plain", u.plain.port, "DOWN", lastCheck: "L6RSP tls timeout"), "\(u.hostLine("plain", u.plain.port))")
        #expect(u.front.loggedFailure("cluster plain", "timeout"), "\(u.front.log)")
        let r = try frontRequest(u, "/plain/x")
        #expect(r.hasPrefix("HTTP/1.1 503") && r.contains("x-skiff-reason: no healthy upstream"), "\(r)")
        #expect(u.plain.count(path: "/plain/x") == 0)
    }

    @Test(arguments: tlsThreadModels)
    func serverNameNotOnTheCertificateIsUntrusted(model: String) throws {
        let u = try TLSUpstreams(model: model)
        defer { u.stop() }
        #expect(
            u.waitForHost("wrong", u.back.port, "DOWN", lastCheck: "L6RSP tls untrusted_certificate"),
            "\(u.hostLine("wrong", u.back.port))")
        #expect(u.front.loggedFailure("cluster wrong", "untrusted_certificate"), "\(u.front.log)")
        #expect(u.front.log.contains("failed: untrusted_certificate: hostname mismatch"), "\(u.front.log)")
        // The back skiff hears about it from the client's alert.
        #expect(u.back.loggedFailure("peer_rejected"), "\(u.back.skiff.log)")
        let r = try frontRequest(u, "/wrong/x")
        #expect(r.hasPrefix("HTTP/1.1 503") && r.contains("x-skiff-reason: no healthy upstream"), "\(r)")
        #expect(u.back.backend.count(path: "/wrong/x") == 0)
        // The same back, named right, serves.
        let ok = try curl(["--max-time", "5", "http://127.0.0.1:\(u.front.port)/secure/y"])
        #expect(ok.output == "backend /secure/y", "\(ok.output)")
    }
}
