import Glibc
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// rwloop with `workers: 0` against the real binary: L7 runs inline on the connections' own threads (no worker
/// pool), responses go out directly (no writer thread), and a client that stops reading starts one writer thread
/// and still gets every byte.
@Suite(.serialized) struct RWLoopInlineBinaryTests {
    static func httpConfig(port: Int, backend: Int) -> String {
        """
        {"servers":[{"routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],
           "routers":[{"match":{"prefix":"/"},"route":{"cluster_name":"b"}}]}]}],
          "listeners":[{"name":"rwl","address":"127.0.0.1:\(port)","thread_model":"rwloop",
            "filter_chains":[{"filters":[{"type":"proxy",
              "config":{"downstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
         "cluster_manager":{"clusters":[{"name":"b","hosts":[{"address":"127.0.0.1:\(backend)"}]}]}}
        """
    }

    /// The names of the process's threads (/proc/PID/task/*/comm).
    static func threadNames(_ pid: pid_t) -> [String] {
        guard let dir = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let e = readdir(dir) {
            let tid = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard tid.first?.isNumber == true, let comm = try? readFile("/proc/\(pid)/task/\(tid)/comm") else {
                continue
            }
            names.append(String(decoding: comm.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self))
        }
        return names
    }

    /// Reads one response with a Content-Length body; returns the head and the body.
    static func readResponse(_ s: TestSocket) throws -> (head: String, body: [UInt8]) {
        var got: [UInt8] = []
        var headEnd = -1
        while headEnd < 0 {
            guard let chunk = try s.receiveSome() else { throw TestError("EOF before a response head") }
            got += chunk
            if got.count >= 4 {
                for i in 0...(got.count - 4) where got[i..<(i + 4)].elementsEqual([13, 10, 13, 10]) {
                    headEnd = i + 4
                    break
                }
            }
        }
        let head = String(decoding: got[..<headEnd], as: UTF8.self)
        guard let line = head.lowercased().split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst(15).trimmingCharacters())
        else { throw TestError("no content-length in \(head)") }
        var body = Array(got[headEnd...])
        if body.count < length { body += try s.receive(exactly: length - body.count) }
        return (head, body)
    }

    @Test func httpRunsInlineWritesDirectlyAndStartsAWriterOnlyUnderBackPressure() throws {
        let backend = try HTTPTestServer(name: "b")
        defer { backend.stop() }
        let port = freePort()
        let path = try writeTempFile(Self.httpConfig(port: port, backend: backend.port))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(p.output.contains("thread_model=rwloop workers=0 (inline on strands)"), "\(p.output)")

        // Sequential keep-alive requests.
        let s = try TestSocket.connect(port: port, timeoutSeconds: 10)
        defer { s.close() }
        for i in 0..<50 {
            try s.send("GET /seq/\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try Self.readResponse(s)
            #expect(r.head.hasPrefix("HTTP/1.1 200"), "\(r.head)")
            #expect(String(decoding: r.body, as: UTF8.self) == "b /seq/\(i)")
        }
        // Eight clients at once, each response to its own client.
        let failures = Mutex<[String]>([])
        let done = Atomic<Int>(0)
        for client in 0..<8 {
            try NetThread.start(name: "rwl-client", stackSize: 1 << 20) {
                do {
                    let c = try TestSocket.connect(port: port, timeoutSeconds: 10)
                    defer { c.close() }
                    for i in 0..<100 {
                        try c.send("GET /c\(client)/\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
                        let body = String(decoding: try Self.readResponse(c).body, as: UTF8.self)
                        if body != "b /c\(client)/\(i)" { failures.withLock { $0.append("\(client)/\(i): \(body)") } }
                    }
                } catch {
                    failures.withLock { $0.append("client \(client): \(error)") }
                }
                done.wrappingAdd(1, ordering: .relaxed)
            }
        }
        #expect(waitUntil(seconds: 60) { done.load(ordering: .relaxed) == 8 })
        #expect(failures.withLock { Array($0.prefix(5)) } == [])
        let names = Self.threadNames(p.pid)
        #expect(names.contains("rwloop-r"), "\(names)")
        #expect(!names.contains { $0.hasPrefix("rwl-w") }, "a worker pool: \(names)")
        #expect(!names.contains("rwloop-w"), "a writer thread without back-pressure: \(names)")

        // A 32 MiB echo (more than loopback socket buffers hold) the client does not read for a while: the response
        // backs up, a writer thread takes over, and every byte arrives in order.
        let body = patternBytes(count: 32 << 20, seed: 11)
        try s.send(Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
        #expect(waitUntil(seconds: 10) { Self.threadNames(p.pid).contains("rwloop-w") }, "no writer thread started")
        let r = try Self.readResponse(s)
        #expect(r.head.hasPrefix("HTTP/1.1 200"))
        #expect(r.body.count == body.count)
        #expect(r.body == body, "the echoed body differs")
        // And the connection goes on: the next small response still arrives.
        try s.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(String(decoding: try Self.readResponse(s).body, as: UTF8.self) == "b /after")
        #expect(p.stop() == 0, "\(p.output)")
    }

    /// Bolt on rwloop with workers 0: many clients over the strands' upstream connections, every response to its
    /// caller with its own id and content.
    @Test func boltRunsInlineOnStrands() throws {
        let backend = try RPCTestServer(kind: .bolt, name: "java")
        defer { backend.stop() }
        let np = freePort()
        let rw = freePort()
        let routes =
            #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"java"}}"#
        let clusters = #"{"name":"java","hosts":[{"address":"127.0.0.1:\#(backend.port)"}]}"#
        let path = try writeTempFile(
            rpcConfig(proto: "bolt", netpoll: np, rwloop: rw, routes: routes, clusters: clusters, rwloopWorkers: 0))
        defer { unlink(path) }
        let p = try SkiffProcess(["start", "-c", path])
        defer { p.stop() }
        #expect(p.waitForOutput("started"), "\(p.output)")
        #expect(p.output.contains("thread_model=rwloop workers=0 (inline on strands)"), "\(p.output)")
        let failures = Mutex<[String]>([])
        let done = Atomic<Int>(0)
        for client in 0..<6 {
            try NetThread.start(name: "bolt-client", stackSize: 1 << 20) {
                do {
                    let got = try rpcClient(
                        port: rw, count: 300, window: 8,
                        frame: { i in
                            RPCFrames.boltRequest(
                                id: i, service: "com.alipay.Echo:1.0", content: Array("c\(client)-r\(i)".utf8))
                        },
                        responseID: { b in RPCFrames.parseBolt(b).map { ($0.length, $0.id) } })
                    for (id, frame) in got {
                        let f = RPCFrames.parseBolt(frame)!
                        if f.content != Array("java:c\(client)-r\(id)".utf8) || f.status != 0 {
                            failures.withLock { $0.append("client \(client) id \(id)") }
                        }
                    }
                } catch {
                    failures.withLock { $0.append("client \(client): \(error)") }
                }
                done.wrappingAdd(1, ordering: .relaxed)
            }
        }
        #expect(waitUntil(seconds: 60) { done.load(ordering: .relaxed) == 6 })
        #expect(failures.withLock { Array($0.prefix(5)) } == [])
        #expect(backend.requests.load(ordering: .relaxed) == 1800)
        #expect(!Self.threadNames(p.pid).contains { $0.hasPrefix("rw-w") }, "a worker pool")
        #expect(p.stop() == 0, "\(p.output)")
    }
}
