import Glibc
import SkiffTestSupport
import Testing

/// View 5 against the real binary in tmux: a netpoll and an rwloop listener under real traffic show their
/// comparison rows, the pollers, and the rwloop connection's reader thread with its peer address (no writer thread:
/// small responses go out directly, and a writer starts only under back-pressure).
@Suite(.serialized) struct ThreadsViewBinaryTests {
    /// The local port of a connected socket (the peer skiff sees).
    static func localPort(_ fd: Int32) -> Int {
        var a = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: a.sin_port))
    }

    @Test func threadsViewShowsBothModelsInDepth() throws {
        let d = try RequestTapBinaryTests.Daemon()
        defer { d.stop() }
        // A keep-alive client on each listener, kept open: the rwloop one has a reader thread.
        let rw = try TestSocket.connect(port: d.rwloop, timeoutSeconds: 5)
        defer { rw.close() }
        let np = try TestSocket.connect(port: d.netpoll, timeoutSeconds: 5)
        defer { np.close() }
        for s in [rw, np] {
            try s.send("GET /keep HTTP/1.1\r\nHost: x\r\n\r\n")
            // The head and the body may arrive in separate reads.
            var got: [UInt8] = []
            while !String(decoding: got, as: UTF8.self).contains("b /keep"), let chunk = try s.receiveSome() {
                got += chunk
            }
            #expect(String(decoding: got, as: UTF8.self).contains("b /keep"))
        }
        let peer = "127.0.0.1:\(Self.localPort(rw.fd))"
        let session = try tmuxStart("\(SkiffProcess.binaryPath) top --socket \(d.sock)", width: 120, height: 40)
        defer { tmuxKill(session) }
        func screen() -> String { (try? tmuxCapture(session)) ?? "" }
        #expect(waitUntil(seconds: 10) { screen().contains("Overview") }, "\(screen())")
        try tmuxKeys(session, "5")
        #expect(waitUntil(seconds: 10) {
            for _ in 0..<20 { _ = try? curl(["-s", "http://127.0.0.1:\(d.netpoll)/x", "http://127.0.0.1:\(d.rwloop)/y"]) }
            let s = screen()
            let np = s.split(separator: "\n").first { $0.hasPrefix("np ") } ?? ""
            let rwl = s.split(separator: "\n").first { $0.hasPrefix("rw ") } ?? ""
            // CPU µs per request needs two frames with requests between them: a number, not "-".
            return np.contains("netpoll") && rwl.contains("rwloop") && np.split(separator: " ").contains { $0.contains(".") }
        }, "\(screen())")
        let s = screen()
        #expect(s.contains("CPU µs/RQ") && s.contains("SYSC/RQ") && s.contains("MEM/CX"), "\(s)")
        #expect(s.contains("netpoll pollers") && s.contains("EV/WAKE"), "\(s)")
        let lines = s.split(separator: "\n")
        let reader = lines.first { $0.contains(" reader ") && $0.contains(peer) } ?? ""
        let writer = lines.first { $0.contains(" writer ") && $0.contains(peer) } ?? ""
        #expect(reader.contains("blocked in read"), "no reader row for \(peer):\n\(s)")
        #expect(writer.isEmpty, "a writer row for \(peer) though nothing pushed back:\n\(s)")
        #expect(reader.contains("rw "), "\(reader)")
    }
}
