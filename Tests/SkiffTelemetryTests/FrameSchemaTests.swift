import SkiffJSON
import Testing

@testable import SkiffTelemetry

/// The frame and event schema: what is encoded decodes to the same value, the wire keys are the documented ones
/// (docs/control-protocol.md, "Frames and events"), and decoding tolerates what another skiff may send.
@Suite struct FrameSchemaTests {
    typealias Frame = TelemetryFrame

    /// Every member set to something other than its default, every optional present: a round trip of this frame
    /// exercises every key of the schema (`everyMemberIsSet` checks that it stays so as members are added).
    static var populated: Frame {
        var writes = Frame.Writes()
        (writes.bytesIn, writes.bytesOut, writes.buffers, writes.writev) = (1, 2, 3, 4)
        (writes.hist, writes.partial, writes.eagain, writes.peakQueue, writes.readPauses) = ([5, 6, 7, 8, 9], 10, 11, 12, 13)
        var latency = Frame.Latency()
        (latency.count, latency.p50Us, latency.p90Us, latency.p99Us, latency.p999Us, latency.maxUs) = (1, 2, 3, 4, 5, 6)
        latency.buckets = [3000, 1]

        var l = Frame.Listener()
        (l.name, l.address, l.model, l.protocol, l.workers) = ("web \"1\"", "127.0.0.1:8080", "netpoll", "Http1", 2)
        (l.cxActive, l.cxTotal, l.cxRefused, l.acceptErrors) = (-1, 21, 22, 23)
        (l.rqTotal, l.rqActive, l.rq1xx, l.rq2xx, l.rq3xx, l.rq4xx, l.rq5xx) = (31, 32, 33, 34, 35, 36, 37)
        (l.oneway, l.responses, l.heartbeats, l.localReplies, l.timeouts) = (41, 42, 43, 44, 45)
        (l.protocolErrors, l.routeTimeouts, l.unknownResponses, l.upstreamResets, l.retries) = (46, 47, 48, 49, 50)
        (l.sessions, l.sessionsActive, l.upstreamConnectFailures) = (51, 52, 53)
        l.writes = writes

        var drain = Frame.Drain()
        (drain.elapsedMs, drain.timeoutMs, drain.activeRq, drain.activeCx, drain.idleCx, drain.drained) =
            (1, 30_000, 2, 3, 4, true)
        var h = Frame.Host()
        (h.address, h.weight, h.metadata, h.admin, h.health, h.available) =
            ("10.0.0.3:8080", 2, ["zone": "b", "version": "1.1"], "DRAIN", "UP 1/2", true)
        (h.drain, h.nextCheckMs, h.ejectedUntilMs) = (drain, 61, 62)
        h.checks = [Frame.Check(ok: true, reason: "L7OK", latencyUs: 63, at: 64)]
        h.checkRun = 65
        (h.cxActive, h.cxIdle, h.cxTotal, h.cxConnectFail) = (71, 72, 73, 74)
        (h.rqTotal, h.rqActive, h.rqTimeout, h.rqRetry, h.rqRemoteReset) = (75, 76, 77, 78, 79)
        (h.cxConnectTimeout, h.rqLocalReset, h.ejections) = (791, 792, 793)
        (h.respSuccess, h.respFailed, h.localFailed, h.latency) = (80, 81, 82, latency)
        var c = Frame.Cluster()
        (c.name, c.lb, c.rqTotal, c.rqActive, c.rqPending, c.cxActive, c.retries) = ("c1", "LB_RANDOM", 1, 2, 3, 4, 5)
        (c.overflow.maxConnections, c.overflow.maxPendingRequests, c.overflow.maxRequests, c.overflow.maxRetries) =
            (6, 7, 8, 9)
        c.localFailed = 11
        (c.noHealthyUpstream, c.healthCheckService, c.latency, c.writes, c.hosts) = (10, "svc", latency, writes, [h])

        var p = Frame.Poller()
        (p.group, p.index, p.tid, p.fds, p.wakeups, p.events, p.cpuMs) = ("web", 1, 101, 64, 1000, 2000, 30)
        var w = Frame.Worker()
        (w.pool, w.index, w.tid, w.busy, w.queue, w.maxQueue, w.processed, w.cpuMs) = ("web", 1, 201, true, 3, 17, 9, 8)
        var conn = Frame.Connection()
        (conn.id, conn.dir, conn.model, conn.owner, conn.peer, conn.ageMs) =
            (7, "inbound", "netpoll", "web", "10.1.2.3:4000", 5000)
        (conn.thread, conn.handler, conn.bytesIn, conn.bytesOut, conn.writev, conn.buffers, conn.paused) =
            ("poller-0", "poller-0", 100, 200, 3, 6, true)
        var connections = Frame.Connections()
        (connections.live, connections.changed, connections.table, connections.closed) = (3, [conn], [conn], [8, 9])

        var f = Frame()
        (f.seq, f.ts, f.uptimeMs, f.intervalMs, f.pid) = (12, 1_795_768_000_000, 3_723_000, 1000, 4242)
        (f.version, f.config, f.listeners, f.clusters) = ("0.4.0", "/etc/skiff/skiff.json", [l], [c])
        (f.threads.pollers, f.threads.workers) = ([p], [w])
        (f.threads.rwloop.readers, f.threads.rwloop.writers, f.threads.rwloop.connections) = (1, 2, 3)
        f.threads.rwloop.spawnFailures = 4
        var rt = Frame.RWThread()
        (rt.tid, rt.role, rt.conn, rt.owner, rt.peer, rt.state, rt.cpuMs, rt.bytes) =
            (77, "reader", 5, "web", "127.0.0.1:5000", "blocked in read", 3, 4096)
        f.threads.rwloop.threads = [rt]
        var lc = Frame.ListenerCost()
        (lc.name, lc.model, lc.connections, lc.threads, lc.cpuMs) = ("web", "rwloop", 2, 5, 9)
        (lc.requests, lc.syscalls, lc.buffers, lc.writev, lc.memPerCx) = (10, 40, 12, 8, 65536)
        f.threads.listeners = [lc]
        (f.connections, f.eventsLatest) = (connections, 99)
        (f.publisher.ticks, f.publisher.busyUs, f.publisher.lastFrameBytes) = (1, 2, 3)
        (f.publisher.frameRingBytes, f.publisher.frameRingUsed, f.publisher.connEventsDropped) = (4, 5, 6)
        return f
    }

    /// Where in `value` a member sits at its default (zero, empty, false).
    static func defaults(in value: JSONValue, at path: String = "") -> [String] {
        switch value {
        case .object(let members):
            if members.isEmpty { return [path] }
            return members.flatMap { defaults(in: $0.value, at: path + "." + $0.key) }
        case .array(let items):
            if items.isEmpty { return [path] }
            return items.enumerated().flatMap { defaults(in: $1, at: "\(path)[\($0)]") }
        case .number(let t): return t == "0" ? [path] : []
        case .string(let s): return s.isEmpty ? [path] : []
        case .bool(let b): return b ? [] : [path]
        case .null: return [path]
        }
    }

    static func parse(_ bytes: [UInt8]) throws -> JSONValue { try JSONParser.parse(bytes) }

    /// Member names of an object, in order.
    static func keys(_ v: JSONValue?) -> [String] {
        guard case .object(let m)? = v else { return [] }
        return m.map(\.key)
    }

    @Test func everyMemberIsSet() {
        #expect(Self.defaults(in: Self.populated.jsonValue) == [])
    }

    @Test func populatedFrameRoundTrips() throws {
        let f = Self.populated
        let bytes = f.jsonBytes
        let back = Frame(json: try Self.parse(bytes))
        #expect(back == f)
        #expect(back.jsonBytes == bytes)
        // The same through the stream-line decoder.
        #expect(TelemetryLine(json: try Self.parse(bytes)) == .frame(f))
    }

    /// The wire contract: docs/control-protocol.md's keys, in the publisher's order. Renaming a key in the schema
    /// breaks every reader of the control socket and must fail here first.
    @Test func wireKeysAreTheDocumentedOnes() throws {
        let v = try Self.parse(Self.populated.jsonBytes)
        #expect(
            Self.keys(v) == [
                "type", "seq", "ts", "uptime_ms", "interval_ms", "pid", "version", "config", "listeners", "clusters",
                "threads", "connections", "events_latest", "publisher",
            ])
        #expect(v["type"]?.stringValue == "frame")
        let listener = v["listeners"]?.arrayValue.first
        #expect(
            Self.keys(listener) == [
                "name", "address", "model", "protocol", "workers", "cx_active", "cx_total", "cx_refused", "accept_errors",
                "rq_total", "rq_active", "rq_1xx", "rq_2xx", "rq_3xx", "rq_4xx", "rq_5xx", "oneway", "responses",
                "heartbeats", "local_replies", "timeouts", "protocol_errors", "route_timeouts", "unknown_responses",
                "upstream_resets", "retries", "sessions", "sessions_active", "upstream_connect_failures", "writes",
            ])
        #expect(
            Self.keys(listener?["writes"]) == [
                "bytes_in", "bytes_out", "buffers", "writev", "hist", "partial", "eagain", "peak_queue", "read_pauses",
            ])
        let cluster = v["clusters"]?.arrayValue.first
        #expect(
            Self.keys(cluster) == [
                "name", "lb", "rq_total", "rq_active", "rq_pending", "cx_active", "retries", "overflow",
                "no_healthy_upstream", "local_failed", "health_check_service", "latency", "writes", "hosts",
            ])
        #expect(
            Self.keys(cluster?["overflow"]) == ["max_connections", "max_pending_requests", "max_requests", "max_retries"])
        #expect(Self.keys(cluster?["latency"]) == ["count", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "buckets"])
        let host = cluster?["hosts"]?.arrayValue.first
        #expect(
            Self.keys(host) == [
                "address", "weight", "metadata", "admin", "health", "available", "drain", "next_check_ms",
                "ejected_until_ms", "checks", "check_run", "cx_active", "cx_idle", "cx_total", "cx_connect_fail",
                "cx_connect_timeout", "rq_total", "rq_active", "rq_timeout", "rq_retry", "rq_remote_reset",
                "rq_local_reset", "ejections", "resp_success", "resp_failed", "local_failed", "latency",
            ])
        #expect(Self.keys(host?["metadata"]) == ["version", "zone"])  // sorted
        #expect(
            Self.keys(host?["drain"]) == ["elapsed_ms", "timeout_ms", "active_rq", "active_cx", "idle_cx", "drained"])
        #expect(Self.keys(host?["checks"]?.arrayValue.first) == ["ok", "reason", "latency_us", "at"])
        #expect(Self.keys(v["threads"]) == ["pollers", "workers", "rwloop", "listeners"])
        #expect(
            Self.keys(v["threads"]?["pollers"]?.arrayValue.first)
                == ["group", "index", "tid", "fds", "wakeups", "events", "cpu_ms"])
        #expect(
            Self.keys(v["threads"]?["workers"]?.arrayValue.first)
                == ["pool", "index", "tid", "busy", "queue", "max_queue", "processed", "cpu_ms"])
        #expect(
            Self.keys(v["threads"]?["rwloop"]) == ["readers", "writers", "connections", "spawn_failures", "threads"])
        #expect(
            Self.keys(v["threads"]?["rwloop"]?["threads"]?.arrayValue.first)
                == ["tid", "role", "conn", "owner", "peer", "state", "cpu_ms", "bytes"])
        #expect(
            Self.keys(v["threads"]?["listeners"]?.arrayValue.first)
                == ["name", "model", "connections", "threads", "cpu_ms", "requests", "syscalls", "buffers", "writev",
                    "mem_per_cx"])
        #expect(Self.keys(v["connections"]) == ["live", "changed", "table", "closed"])
        #expect(
            Self.keys(v["connections"]?["changed"]?.arrayValue.first) == [
                "id", "dir", "model", "owner", "peer", "age_ms", "thread", "handler", "bytes_in", "bytes_out", "writev",
                "buffers", "paused",
            ])
        #expect(
            Self.keys(v["publisher"]) == [
                "ticks", "busy_us", "last_frame_bytes", "frame_ring_bytes", "frame_ring_used", "conn_events_dropped",
            ])
    }

    /// Absent optionals stay absent: an HTTP listener carries no RPC or tcp_proxy members, a stats frame no
    /// connections, a host without checks no `checks`.
    @Test func absentOptionalsAreNotWritten() throws {
        var l = Frame.Listener()
        l.name = "web"
        l.rqTotal = 5
        let v = try Self.parse(l.jsonBytes)
        #expect(v["rq_total"]?.uint == 5)
        for key in ["rq_active", "oneway", "sessions", "timeouts", "health_check_service"] { #expect(v[key] == nil) }
        let frame = try Self.parse(Frame().jsonBytes)
        #expect(frame["connections"] == nil)
        #expect(Frame(json: frame).connections == nil)
        let host = try Self.parse(Frame.Host().jsonBytes)
        for key in ["metadata", "drain", "next_check_ms", "ejected_until_ms", "checks"] { #expect(host[key] == nil) }
    }

    /// Members in another order (another encoder, a hand-written file) decode to the same value.
    @Test func memberOrderDoesNotMatter() throws {
        func reversed(_ v: JSONValue) -> JSONValue {
            switch v {
            case .object(let m): return .object(m.reversed().map { JSONMember(key: $0.key, value: reversed($0.value)) })
            case .array(let a): return .array(a.map(reversed))
            default: return v
            }
        }
        let f = Self.populated
        let shuffled = JSONWriter.encode(reversed(try Self.parse(f.jsonBytes)))
        #expect(shuffled != f.jsonBytes)
        #expect(Frame(json: try Self.parse(shuffled)) == f)
    }

    /// A reader of another skiff's frames shows what it can: wrong types and absent members keep their defaults,
    /// numbers out of range clamp, unknown members are ignored, nothing traps.
    @Test func decodingIsTolerant() throws {
        let text = #"""
            {"type":"frame","seq":"7","ts":1e30,"pid":-5,"newer_member":{"x":1},
             "listeners":[{"name":5,"cx_active":-3,"cx_total":-1,"writes":[],"rq_total":null},"junk",7],
             "clusters":{},"threads":null,"connections":{"closed":[1,"x",3]},"publisher":{"ticks":2.5}}
            """#
        let f = Frame(json: try JSONParser.parse(text))
        #expect(f.seq == 0 && f.ts == UInt64.max && f.pid == -5)
        #expect(f.listeners.count == 1)
        #expect(f.listeners[0].name == "5" && f.listeners[0].cxActive == -3 && f.listeners[0].cxTotal == 0)
        #expect(f.listeners[0].writes == Frame.Writes() && f.listeners[0].rqTotal == nil)
        #expect(f.clusters.isEmpty && f.threads == Frame.Threads())
        #expect(f.connections?.closed == [1, 0, 3] && f.connections?.changed == nil)
        #expect(f.publisher.ticks == 2)
        #expect(Frame(json: .array([])) == Frame())
    }

    @Test func eventsRoundTripWithTheirDocumentedMembers() throws {
        let cases: [(TelemetryEvent.Body, String)] = [
            (.engineStart(.init(listeners: 2, config: "/c.json")), #""listeners":2,"config":"/c.json""#),
            (
                .configReload(.init(config: "/c.json", changes: ["a", "b"])),
                #""config":"/c.json","changes":["a","b"]"#
            ),
            (.adminReload(.init(uid: 1000)), #""uid":1000"#),
            (.adminStop(.init(uid: 0, now: true)), #""uid":0,"now":true"#),
            (
                .serverState(.init(from: "running", to: "draining", why: "SIGTERM")),
                #""from":"running","to":"draining","why":"SIGTERM""#
            ),
            (.engineError(.init(context: "log reopen", error: "EACCES")), #""context":"log reopen","error":"EACCES""#),
            (.adminUpgrade(.init(uid: 0, peerPid: 42, listeners: 3)), #""uid":0,"peer_pid":42,"listeners":3"#),
            (
                .hostAdmin(.init(cluster: "c1", host: "h:1", from: "READY", to: "DRAIN", uid: 7, via: "ctl")),
                #""cluster":"c1","host":"h:1","from":"READY","to":"DRAIN","uid":7,"via":"ctl""#
            ),
            (
                .hostAdmin(.init(cluster: "c1", host: "h:1", from: "READY", to: "MAINT", uid: 7, via: "ctl", kill: true)),
                #""cluster":"c1","host":"h:1","from":"READY","to":"MAINT","uid":7,"via":"ctl","kill":true"#
            ),
            (
                .hostWeight(.init(cluster: "c1", host: "h:1", from: 1, to: 0, uid: 7, via: "ctl")),
                #""cluster":"c1","host":"h:1","from":1,"to":0,"uid":7,"via":"ctl""#
            ),
            (
                .hostHealth(.init(cluster: "c1", host: "h:1", to: "DOWN", reason: "L4CON refused", latencyUs: 90)),
                #""cluster":"c1","host":"h:1","to":"DOWN","reason":"L4CON refused","latency_us":90"#
            ),
            (.hostDrained(.init(cluster: "c1", host: "h:1", elapsedMs: 1500)), #""cluster":"c1","host":"h:1","elapsed_ms":1500"#),
            (
                .hostDrainTimeout(.init(cluster: "c1", host: "h:1", action: "close", activeRq: 1, activeCx: 2)),
                #""cluster":"c1","host":"h:1","action":"close","active_rq":1,"active_cx":2"#
            ),
            (
                .connectionOpen(.init(conn: 9, dir: "inbound", owner: "web", peer: "1.2.3.4:5")),
                #""conn":9,"dir":"inbound","owner":"web","peer":"1.2.3.4:5""#
            ),
            (
                .connectionClose(.init(conn: 9, owner: "web", reason: "peer closed", bytesIn: 10, bytesOut: 20)),
                #""conn":9,"owner":"web","reason":"peer closed","bytes_in":10,"bytes_out":20"#
            ),
        ]
        for (body, members) in cases {
            let event = TelemetryEvent(ts: 1_795_768_000_123, body)
            let text = String(decoding: event.jsonBytes, as: UTF8.self)
            #expect(text == #"{"type":"event","ts":1795768000123,"kind":"\#(body.kind)",\#(members)}"#)
            let back = TelemetryEvent(json: try JSONParser.parse(text))
            #expect(back == event)
            #expect(TelemetryLine(json: try JSONParser.parse(text)) == .event(event))
            #expect(back.payloadMembers.map(\.key) == Self.keys(try JSONParser.parse("{\(members)}")))
        }
    }

    /// A kind this build does not know (from a newer skiff) is kept whole and written back as it came.
    @Test func unknownEventKindsPassThrough() throws {
        let text = #"{"type":"event","ts":5,"kind":"future.thing","a":[1,{"b":null}],"s":"x\"y","n":-1.5e3}"#
        let event = TelemetryEvent(json: try JSONParser.parse(text))
        guard case .other(let kind, let fields) = event.body else {
            Issue.record("decoded as a known kind: \(event.body)")
            return
        }
        #expect(kind == "future.thing" && event.kind == "future.thing" && event.ts == 5)
        #expect(fields.map(\.key) == ["a", "s", "n"])
        #expect(String(decoding: event.jsonBytes, as: UTF8.self) == text)
        #expect(event.payloadMembers == fields)
        // No kind at all.
        let bare = TelemetryEvent(json: try JSONParser.parse(#"{"type":"event","x":1}"#))
        #expect(bare.kind == "" && bare.payloadMembers.map(\.key) == ["x"])
    }

    @Test func streamLinesDecodeByType() throws {
        let gap = StreamGap(ring: StreamGap.events, missed: 17)
        #expect(String(decoding: gap.jsonBytes, as: UTF8.self) == #"{"type":"gap","ring":"events","missed":17}"#)
        #expect(TelemetryLine(json: try JSONParser.parse(gap.jsonBytes)) == .gap(gap))
        // A gap without its ring is a frame gap (the console's long-standing reading).
        #expect(StreamGap(json: try JSONParser.parse(#"{"type":"gap","missed":2}"#)).ring == StreamGap.frames)
        let reply = try JSONParser.parse(#"{"id":1,"ok":true,"subscribed":true}"#)
        #expect(TelemetryLine(json: reply) == .other(reply))
        #expect(TelemetryLine(json: .array([])) == .other(.array([])))
    }

    @Test func repliesRoundTrip() throws {
        let f = Self.populated
        let frameReply = FrameReply(frame: f).jsonBytes
        #expect(Self.keys(try JSONParser.parse(frameReply)) == ["frame"])
        #expect(FrameReply(json: try JSONParser.parse(frameReply)).frame == f)
        let hosts = HostsReply(clusters: f.clusters)
        let hostsBytes = hosts.jsonBytes
        #expect(Self.keys(try JSONParser.parse(hostsBytes)) == ["clusters"])
        #expect(HostsReply(json: try JSONParser.parse(hostsBytes)) == hosts)
        #expect(hosts.host(cluster: "c1", address: "10.0.0.3:8080")?.rqRetry == 78)
        #expect(hosts.host(cluster: "c1", address: "nope") == nil && hosts.host(cluster: "c2", address: "10.0.0.3:8080") == nil)
        let events = EventsReply(
            events: [TelemetryEvent(ts: 1, .adminReload(.init(uid: 3)))], latest: 42, missed: 2)
        let eventsBytes = events.jsonBytes
        #expect(
            String(decoding: eventsBytes, as: UTF8.self)
                == #"{"events":[{"type":"event","ts":1,"kind":"admin.reload","uid":3}],"latest":42,"missed":2}"#)
        #expect(EventsReply(json: try JSONParser.parse(eventsBytes)) == events)
    }

    /// Encoding reuses the writer without allocating per member: a frame encoded twice into one reset writer gives
    /// the same bytes (the publisher does this every tick).
    @Test func encodingIntoAReusedWriter() {
        var w = JSONWriter(capacity: 64)
        Self.populated.encode(into: &w)
        let first = w.bytes
        w.reset()
        Self.populated.encode(into: &w)
        #expect(w.bytes == first)
        #expect(first == Self.populated.jsonBytes)
    }
}
