import Glibc
import SkiffConfig
import SkiffJSON
import SkiffNet
import SkiffUpstream
import Synchronization
import Testing

@testable import SkiffAccessLog

/// Collects the writer's notices.
final class Notices: Sendable {
    let list = Mutex<[AccessLogNotice]>([])
    var all: [AccessLogNotice] { list.withLock { $0 } }
    var report: @Sendable (AccessLogNotice) -> Void { { [self] n in list.withLock { $0.append(n) } } }
}

func tempPath(_ name: String) -> String { "/tmp/skiff-accesslog-\(getpid())-\(UInt32.random(in: 0...UInt32.max))/\(name)" }

func fileText(_ path: String) -> String {
    guard let f = fopen(path, "r") else { return "" }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

/// Lines formatted end to end through a service, its lanes and its writer, into a real file.
@Suite(.serialized) struct AccessLogLineTests {
    let host: Host
    let cluster: Cluster

    init() throws {
        let hc = HostConfig(address: SocketAddressSpec(host: "127.0.0.1", port: 8080), hostname: "web-1")
        cluster = try Cluster(config: ClusterConfig(name: "web", hosts: [hc]))
        host = cluster.hosts[0]
    }

    private func record(_ log: ListenerAccessLog) -> AccessLogRecord {
        let r = log.makeRecord()
        let t = MonotonicClock.now()
        r.startNs = t
        r.requestSentNs = t + 350_000
        r.responseHeadNs = t + 1_503_000
        r.requestFinishedNs = t + 100_000
        r.endNs = t + 2_100_000
        r.bytesSent = 6
        r.bytesReceived = 0
        r.proto = .http1
        r.responseCode = 200
        r.connectionID = 7
        r.upstreamConnectionID = 9
        r.setUpstream(host: host, cluster: cluster)
        return r
    }

    private func layout(_ text: String) throws -> AccessLogLayout { .text(try AccessLogFormat.parse(text).get()) }

    @Test func mosnDefaultLine() throws {
        let notices = Notices()
        let service = AccessLogService(report: notices.report)
        let path = tempPath("a/b/access.log")
        let log = try #require(
            try service.listenerLog(
                [AccessLogConfig(path: path)], listener: "l", configPath: "", path: "servers[0].listeners[0]"))
        let addresses = AccessLogAddresses(local: "127.0.0.1:2045", remote: "127.0.0.1:50000")
        let r = record(log)
        r.setDownstream(addresses)
        log.write(r, executorIndex: 0)
        r.responseCode = 404
        r.flags = [.noRouteFound]
        r.setUpstream(host: nil, cluster: cluster)
        r.upstreamConnectionID = 0
        r.requestSentNs = 0
        r.responseHeadNs = 0
        log.write(r, executorIndex: 0)
        service.stop()
        // The start time is local time of now: its shape here (GoDuration and the cache are tested on their own),
        // everything after it exactly.
        let lines = fileText(path).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 3 && lines[2] == "")
        for line in lines.prefix(2) {
            let time = Array(line.utf8.prefix(23))
            let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22]
            #expect(digits.allSatisfy { time[$0] >= 48 && time[$0] <= 57 }, "\(line)")
            #expect(String(decoding: [time[4], time[7], time[10], time[13], time[16], time[19]], as: UTF8.self) == "// ::.")
        }
        #expect(
            lines.prefix(2).map { String($0.dropFirst(24)) } == [
                "-  7 9 350µs 1.503ms 6 0 Http1 200 2.1ms false 200 127.0.0.1:8080 127.0.0.1:2045 127.0.0.1:50000 web-1",
                "-  7 - 0s 0s 6 0 Http1 404 2.1ms true 404 - 127.0.0.1:2045 127.0.0.1:50000 -",
            ])
        // Parent directories 0755, the file 0644.
        var st = stat()
        stat(path, &st)
        #expect(st.st_mode & 0o777 == 0o644)
        stat(String(path.dropLast("/access.log".count)), &st)
        #expect(st.st_mode & 0o777 == 0o755)
        #expect(service.stats.map(\.lines) == [2])
        #expect(notices.all.isEmpty)
    }

    @Test func envoyVariablesHeadersAndRPC() throws {
        let service = AccessLogService(report: { _ in })
        let path = tempPath("envoy.log")
        let config = AccessLogConfig(
            path: path,
            layout: try layout(
                "%UPSTREAM_HOST% %RESPONSE_FLAGS% %upstream_transport_failure_reason% %upstream_cluster% "
                    + "[%REQ(x-id?x-alt):4%] [%RESP(content-type)%] [%request_header_missing%] "
                    + "%rpc_service%/%rpc_method% %rpc_status% %protocol% 100%%"))
        let log = try #require(try service.listenerLog([config], listener: "l", configPath: "", path: "p"))
        let r = record(log)
        #expect(log.plan.requestHeaders.map(\.names) == [[Array("x-id".utf8), Array("x-alt".utf8)], [Array("missing".utf8)]])
        Array("abcdefgh".utf8).withUnsafeBytes { r.capture(log.plan.requestHeaders[0].slot, $0) }
        Array("text/plain\n".utf8).withUnsafeBytes { r.capture(log.plan.responseHeaders[0].slot, $0) }
        Array("com.Echo".utf8).withUnsafeBytes { r.capture(log.plan.rpcServiceSlot!, $0) }
        Array("say".utf8).withUnsafeBytes { r.capture(log.plan.rpcMethodSlot!, $0) }
        r.rpcStatus = 0
        r.proto = .bolt
        r.flags = [.upstreamConnectionFailure, .retryLimitExceeded, .noHealthyUpstream]
        log.write(r, executorIndex: 3)
        service.stop()
        #expect(
            fileText(path)
                == "127.0.0.1:8080 UH,UF,URX 0x22 web [abcd] [text/plain\\x0a] [-] com.Echo/say 0 bolt 100%\n")
    }

    @Test func jsonLinesParse() throws {
        let service = AccessLogService(report: { _ in })
        let path = tempPath("json.log")
        let fields: [AccessLogJSONField] = try [
            ("code", "%response_code%"), ("bytes", "%bytes_sent%"), ("duration", "%duration%"),
            ("flag", "%response_flag%"), ("host", "%upstream_host%"), ("ua", "%REQ(user-agent)%"),
            ("missing", "%REQ(x-missing)%"), ("mixed", "%protocol% \"%REQ(user-agent)%\""), ("lit", "a\"b"),
            ("trace", "%trace_id%"), ("rpc", "%rpc_status%"),
        ].map { AccessLogJSONField(key: $0.0, value: try AccessLogFormat.parse($0.1).get()) }
        let log = try #require(
            try service.listenerLog([AccessLogConfig(path: path, layout: .json(fields))], listener: "l", configPath: "", path: "p"))
        let r = record(log)
        Array("curl/8 \"x\"\\".utf8).withUnsafeBytes { r.capture(log.plan.requestHeaders[0].slot, $0) }
        log.write(r, executorIndex: 0)
        service.stop()
        let line = fileText(path)
        #expect(line.hasSuffix("}\n"))
        let v = try JSONParser.parse(String(line.dropLast()))
        #expect(v["code"] == .number("200") && v["bytes"] == .number("6") && v["duration"] == .string("2.1ms"))
        #expect(v["flag"] == .bool(false) && v["host"] == .string("web-1") && v["ua"] == .string("curl/8 \"x\"\\"))
        #expect(v["missing"] == .null && v["mixed"] == .string("Http1 \"curl/8 \"x\"\\\"") && v["lit"] == .string("a\"b"))
        #expect(v["trace"] == .null && v["rpc"] == .null)
    }

    @Test func sameFileShared() throws {
        let service = AccessLogService(report: { _ in })
        let path = tempPath("shared.log")
        let a = try #require(try service.listenerLog([AccessLogConfig(path: path, layout: try layout("a\n"))], listener: "a", configPath: "", path: "p"))
        let b = try #require(try service.listenerLog([AccessLogConfig(path: path, layout: try layout("b"))], listener: "b", configPath: "", path: "p"))
        #expect(service.fileCount == 1)
        a.write(a.makeRecord(), executorIndex: 0)
        b.write(b.makeRecord(), executorIndex: 0)
        b.write(b.makeRecord(), executorIndex: -1)
        service.stop()
        let lines = fileText(path).split(separator: "\n").sorted()
        #expect(lines == ["a", "b", "b"])
    }

    @Test func defaultPathIsBesideTheConfigDirectory() {
        #expect(
            AccessLogService.defaultPath(listener: "egress", configPath: "/etc/skiff/conf/skiff.json")
                .hasSuffix("/etc/skiff/logs/egress_access.log"))
        #expect(AccessLogService.defaultPath(listener: "x", configPath: "") == "logs/x_access.log")
    }
}

extension String {
    /// `YYYY/MM/DD hh:mm:ss`.
    init(format4 y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        self = "\(y)/\(two(mo))/\(two(d)) \(two(h)):\(two(mi)):\(two(s))"
    }
}
