import Glibc
import SkiffConfig
import SkiffJSON
import SkiffNet
import SkiffTestSupport
import Synchronization
import Testing

/// Bolt and Dubbo under hostile clients, against the real binary on both thread models: declared lengths past the
/// limit, frames split at every byte, 10,000 streams on one connection, one request id reused by many requests,
/// and a heartbeat flood from a client that never reads. Each vector names its verdict; the process always survives
/// and other clients are never affected.
@Suite(.serialized) struct AdversarialRPCTests {
    /// A running skiff with one Bolt (or Dubbo) listener per thread model in front of one test backend.
    struct Rig {
        let backend: RPCTestServer
        let process: SkiffProcess
        let socket: String
        let netpoll: Int
        let rwloop: Int
        let configPath: String
        var ports: [Int] { [netpoll, rwloop] }

        init(_ kind: RPCTestServer.Kind) throws {
            backend = try RPCTestServer(kind: kind, name: "b")
            netpoll = freePort()
            rwloop = freePort()
            let routes = #"{"match":{"headers":[{"name":"service","value":".*","regex":true}]},"route":{"cluster_name":"b"}}"#
            let clusters = #"{"name":"b","hosts":[{"address":"127.0.0.1:\#(backend.port)"}]}"#
            configPath = try writeTempFile(
                rpcConfig(proto: kind == .bolt ? "bolt" : "dubbo", netpoll: netpoll, rwloop: rwloop, routes: routes, clusters: clusters))
            socket = "/tmp/skiff-test-\(getpid())-\(netpoll).sock"
            process = try SkiffProcess(["start", "-c", configPath, "--control-socket", socket, "--publish-interval", "100"])
            guard process.waitForOutput("started") else { throw TestError("skiff did not start: \(process.output)") }
        }

        func stop() {
            _ = process.stop()
            backend.stop()
            unlink(configPath)
        }

        /// A listener's counter from a fresh snapshot frame.
        func counter(_ listener: String, _ key: String) throws -> Int {
            let r = try SkiffProcess.run(["ctl", "snapshot", "--socket", socket])
            let frame = try JSONParser.parse(Array(r.output.utf8))
            let listeners = frame["frame"]?["listeners"]?.arrayValue ?? frame["listeners"]?.arrayValue ?? []
            guard let l = listeners.first(where: { $0["name"]?.stringValue == listener }) else {
                throw TestError("no listener \(listener) in \(r.output.prefix(300))")
            }
            guard let v = l[key] else { throw TestError("no \(key) on \(listener)") }
            return v.int
        }

        /// Resident memory of the skiff process, in KiB.
        var rssKiB: Int {
            let status = String(decoding: (try? readFile("/proc/\(process.pid)/status")) ?? [], as: UTF8.self)
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
            }
            return 0
        }
    }

    /// Reads Bolt frames until `count` arrived (or the peer closed / timed out).
    static func readBolt(_ s: TestSocket, count: Int) throws -> [(id: Int, status: Int, content: [UInt8])] {
        var out: [(Int, Int, [UInt8])] = []
        var buf: [UInt8] = []
        var start = 0
        while out.count < count {
            guard let chunk = try s.receiveSome(max: 1 << 20) else { throw TestError("closed after \(out.count) frames") }
            buf += chunk
            while true {
                guard let f = RPCFrames.parseBolt(Array(buf[start..<min(buf.count, start + 4096)])) else { break }
                out.append((f.id, f.status, f.content))
                start += f.length
            }
            if start > 1 << 16 {
                buf.removeFirst(start)
                start = 0
            }
        }
        return out
    }

    /// Vector: a Bolt header declaring 2 GiB of content, and a Dubbo header declaring 4 GiB. Verdict: refused at
    /// the header (nothing is buffered towards it), that connection closed, `protocol_errors` counted; another
    /// client on the same listener is served.
    @Test(arguments: [RPCTestServer.Kind.bolt, .dubbo])
    func hugeDeclaredLengthClosesOnlyThatConnection(kind: RPCTestServer.Kind) throws {
        let rig = try Rig(kind)
        defer { rig.stop() }
        for (name, port) in [("np", rig.netpoll), ("rw", rig.rwloop)] {
            let before = try rig.counter(name, "protocol_errors")
            let bad = try TestSocket.connect(port: port, timeoutSeconds: 5)
            defer { bad.close() }
            var header: [UInt8]
            if kind == .bolt {
                header = RPCFrames.boltRequest(id: 1, service: "s", content: [])
                header[18...21] = [0x7f, 0xff, 0xff, 0xff]  // content length
                header = Array(header[0..<22])
            } else {
                header = RPCFrames.dubboRequest(id: 1, service: "s", method: "m", payload: "p")
                header[12...15] = [0xff, 0xff, 0xff, 0xff]  // body length
                header = Array(header[0..<16])
            }
            try bad.send(header)
            // The connection ends (after a codec-error response where the protocol has one), well before any
            // timeout would, and without waiting for the 2 GiB.
            let started = MonotonicClock.now()
            _ = try? bad.receiveToEOF(limit: 1 << 16)
            #expect(MonotonicClock.now() - started < 3_000_000_000, "\(name): not closed promptly")
            #expect(waitUntil(seconds: 3) { ((try? rig.counter(name, "protocol_errors")) ?? 0) == before + 1 })
            try expectServed(kind: kind, port: port)
        }
        #expect(rig.process.hasExited == false)
    }

    /// Vector: every frame sent one byte per segment. Verdict: reassembled, answered exactly.
    @Test(arguments: [RPCTestServer.Kind.bolt, .dubbo])
    func framesSplitAtEveryByteAreReassembled(kind: RPCTestServer.Kind) throws {
        let rig = try Rig(kind)
        defer { rig.stop() }
        for port in rig.ports {
            let s = try TestSocket.connect(port: port)
            defer { s.close() }
            for id in 1...3 {
                let frame =
                    kind == .bolt
                    ? RPCFrames.boltRequest(id: id, service: "svc", content: Array("split-\(id)".utf8))
                    : RPCFrames.dubboRequest(id: UInt64(id), service: "svc", method: "m", payload: "split-\(id)")
                for b in frame {
                    try s.send([b])
                    usleep(300)
                }
                var buf: [UInt8] = []
                if kind == .bolt {
                    while RPCFrames.parseBolt(buf) == nil { buf += try s.receiveSome() ?? [] }
                    let f = RPCFrames.parseBolt(buf)!
                    #expect(f.id == id && f.status == 0 && f.content == Array("b:split-\(id)".utf8))
                } else {
                    while RPCFrames.parseDubbo(buf) == nil { buf += try s.receiveSome() ?? [] }
                    let f = RPCFrames.parseDubbo(buf)!
                    #expect(f.id == UInt64(id) && f.status == 20)
                    #expect(String(decoding: f.body, as: UTF8.self).contains("b:"))
                }
            }
        }
    }

    /// Vector: 10,000 Bolt requests written back to back on one connection before reading anything. Verdict: all
    /// 10,000 answered, each with its own id and content (reading may be paused meanwhile; nothing is refused).
    @Test func tenThousandStreamsOnOneConnection() throws {
        let rig = try Rig(.bolt)
        defer { rig.stop() }
        for port in rig.ports {
            let s = try TestSocket.connect(port: port, timeoutSeconds: 30)
            defer { s.close() }
            let sendError = Mutex<String?>(nil)
            let sent = Atomic<Bool>(false)
            try NetThread.start(name: "flood") {
                var batch: [UInt8] = []
                for id in 1...10_000 {
                    batch += RPCFrames.boltRequest(id: id, service: "svc", content: Array("r\(id)".utf8))
                    if batch.count > 60_000 || id == 10_000 {
                        do { try s.send(batch) } catch { sendError.withLock { $0 = "\(error)" } }
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                sent.store(true, ordering: .relaxed)
            }
            let got = try Self.readBolt(s, count: 10_000)
            #expect(waitUntil(seconds: 10) { sent.load(ordering: .relaxed) })
            #expect(sendError.withLock { $0 } == nil)
            var seen = Set<Int>()
            var wrong = 0
            for f in got {
                seen.insert(f.id)
                if f.status != 0 || f.content != Array("b:r\(f.id)".utf8) { wrong += 1 }
            }
            #expect(seen.count == 10_000)
            #expect(wrong == 0)
        }
    }

    /// Vector: 200 concurrent requests that all carry request id 7. Verdict: each goes upstream under its own id and
    /// every answer comes back under 7 with its own content (none lost, none crossed).
    @Test func oneRequestIDReusedByManyRequests() throws {
        let rig = try Rig(.bolt)
        defer { rig.stop() }
        for port in rig.ports {
            let s = try TestSocket.connect(port: port)
            defer { s.close() }
            var batch: [UInt8] = []
            for i in 0..<200 { batch += RPCFrames.boltRequest(id: 7, service: "svc", content: Array("same-\(i)".utf8)) }
            try s.send(batch)
            let got = try Self.readBolt(s, count: 200)
            #expect(got.allSatisfy { $0.id == 7 && $0.status == 0 })
            #expect(Set(got.map { String(decoding: $0.content, as: UTF8.self) }) == Set((0..<200).map { "b:same-\($0)" }))
        }
    }

    /// Vector: 100,000 heartbeats from a client that does not read its answers. Verdict: Skiff stops reading that
    /// client once its answers pile up (back-pressure), so memory stays flat; when the client reads, every heartbeat
    /// is answered. Before the fix every answer held a 64 KiB pool buffer (270 MiB per 100,000); answers now share
    /// buffers.
    @Test func heartbeatFloodFromAClientThatNeverReads() throws {
        let rig = try Rig(.bolt)
        defer { rig.stop() }
        let count = 100_000
        for port in rig.ports {
            let baseline = rig.rssKiB
            let s = try TestSocket.connect(port: port, timeoutSeconds: 60)
            defer { s.close() }
            var small: Int32 = 16 * 1024  // a small receive window, so the kernel holds little for us
            setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            let sent = Atomic<Int>(0)
            try NetThread.start(name: "hb-flood") {
                var batch: [UInt8] = []
                for id in 1...count {
                    batch += RPCFrames.boltHeartbeat(id: id)
                    if batch.count >= 22 * 1000 || id == count {
                        if (try? s.send(batch)) == nil { return }
                        sent.store(id, ordering: .relaxed)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
            }
            // Let the flood run into back-pressure, then look at memory.
            var last = -1
            _ = waitUntil(seconds: 10) {
                let now = sent.load(ordering: .relaxed)
                defer { last = now }
                usleep(300_000)
                return now == last || now == count
            }
            let grown = rig.rssKiB - baseline
            print("heartbeat flood on port \(port): \(sent.load(ordering: .relaxed)) sent before back-pressure, skiff grew \(grown) KiB")
            #expect(grown < 24 * 1024, "skiff grew by \(grown) KiB while the client did not read")
            let got = try Self.readBolt(s, count: count)
            #expect(got.count == count)
            #expect(got.allSatisfy { $0.status == 0 })
        }
        #expect(rig.backend.heartbeats.load(ordering: .relaxed) == 0)
    }

    /// A normal request on a fresh connection is answered.
    func expectServed(kind: RPCTestServer.Kind, port: Int) throws {
        let s = try TestSocket.connect(port: port)
        defer { s.close() }
        var buf: [UInt8] = []
        if kind == .bolt {
            try s.send(RPCFrames.boltRequest(id: 9, service: "svc", content: Array("fine".utf8)))
            while RPCFrames.parseBolt(buf) == nil { buf += try s.receiveSome() ?? [] }
            #expect(RPCFrames.parseBolt(buf)!.content == Array("b:fine".utf8))
        } else {
            try s.send(RPCFrames.dubboRequest(id: 9, service: "svc", method: "m", payload: "fine"))
            while RPCFrames.parseDubbo(buf) == nil { buf += try s.receiveSome() ?? [] }
            #expect(RPCFrames.parseDubbo(buf)!.id == 9)
        }
    }
}
