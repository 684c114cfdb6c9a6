import SkiffJSON
@testable import SkiffConsole

/// Recorded-style frames following docs/control-protocol.md "Frames and events".
enum Fixtures {
    static func frame(seq: Int, ts: UInt64, rq: Int, fivexx: Int, drainActive: Int, elapsed: Int, extra: String = "") -> String {
        """
        {"type":"frame","seq":\(seq),"ts":\(ts),"uptime_ms":\(3_723_000 + Int(ts - 1_795_768_000_000)),"interval_ms":1000,"pid":4242,
         "version":"0.4.0","config":"/etc/skiff/skiff.json","events_latest":12,
         "listeners":[
          {"name":"http_in","address":"0.0.0.0:8080","model":"netpoll","protocol":"http1","workers":2,"cx_active":120,
           "cx_total":\(1000 + rq / 10),"cx_refused":0,"accept_errors":0,"rq_total":\(rq),"rq_active":4,"rq_1xx":0,
           "rq_2xx":\(rq - fivexx),"rq_3xx":0,"rq_4xx":0,"rq_5xx":\(fivexx),"local_replies":0,"protocol_errors":1,
           "route_timeouts":0,"retries":0,
           "writes":{"bytes_in":1048576,"bytes_out":4194304,"buffers":9000,"writev":3000,"hist":[1500,800,400,200,100],
                     "partial":7,"eagain":3,"peak_queue":12,"read_pauses":0}},
          {"name":"tcp_in","address":"127.0.0.1:9090","model":"rwloop","protocol":"tcp","workers":0,"cx_active":3,
           "cx_total":30,"cx_refused":0,"accept_errors":0,"sessions":\(30 + rq / 100),"sessions_active":3,
           "upstream_connect_failures":0,
           "writes":{"bytes_in":2048,"bytes_out":4096,"buffers":20,"writev":20,"hist":[20,0,0,0,0],"partial":0,
                     "eagain":0,"peak_queue":1,"read_pauses":0}}],
         "clusters":[
          {"name":"c1","lb":"LB_ROUNDROBIN","rq_total":\(rq),"rq_active":4,"rq_pending":0,"cx_active":9,"retries":0,
           "overflow":{"max_connections":0,"max_pending_requests":0,"max_requests":0,"max_retries":0},
           "no_healthy_upstream":0,
           "latency":{"count":\(rq),"p50_us":410,"p90_us":1200,"p99_us":2300,"p999_us":5000,"max_us":9000},
           "writes":{"bytes_in":4000,"bytes_out":8000,"buffers":600,"writev":300,"hist":[111,222,33,4,5],"partial":1,
                     "eagain":2,"peak_queue":4,"read_pauses":0},
           "hosts":[
            {"address":"10.0.0.3:8080","weight":1,"admin":"DRAIN","health":"UP","available":false,
             "drain":{"elapsed_ms":\(elapsed),"timeout_ms":30000,"active_rq":\(drainActive),"active_cx":1,"idle_cx":0,"drained":false},
             "next_check_ms":\(ts + 2000),
             "checks":[{"ok":true,"reason":"L7OK","latency_us":800,"at":\(ts - 3000)},
                       {"ok":false,"reason":"L7STS 503","latency_us":900,"at":\(ts - 2000)},
                       {"ok":true,"reason":"L7OK","latency_us":700,"at":\(ts - 1000)}],
             "cx_active":1,"cx_idle":0,"cx_total":50,"cx_connect_fail":0,"rq_total":\(rq / 2),"rq_active":\(drainActive),
             "rq_timeout":0,"rq_retry":37,"resp_success":\(rq / 2),"resp_failed":3,
             "latency":{"count":10,"p50_us":400,"p90_us":1000,"p99_us":2100,"p999_us":3000,"max_us":4000}},
            {"address":"10.0.0.4:8080","weight":2,"admin":"READY","health":"DOWN 1/2","available":false,
             "checks":[{"ok":false,"reason":"L4CON refused","latency_us":100,"at":\(ts - 500)}],
             "cx_active":8,"cx_idle":2,"cx_total":90,"cx_connect_fail":4,"rq_total":\(rq / 2),"rq_active":2,
             "rq_timeout":0,"resp_success":\(rq / 2),"resp_failed":0,
             "latency":{"count":10,"p50_us":420,"p90_us":1300,"p99_us":2500,"p999_us":3000,"max_us":4000}},
            {"address":"10.0.0.5:8080","weight":1,"admin":"DRAINED","health":"UP","available":false,
             "drain":{"elapsed_ms":5000,"timeout_ms":30000,"active_rq":0,"active_cx":0,"idle_cx":0,"drained":true},
             "cx_active":0,"cx_idle":0,"cx_total":5,"cx_connect_fail":0,"rq_total":10,"rq_active":0,
             "rq_timeout":0,"resp_success":10,"resp_failed":0,
             "latency":{"count":10,"p50_us":400,"p90_us":1000,"p99_us":2100,"p999_us":3000,"max_us":4000}}]}],
         "threads":{"pollers":[{"group":"http_in","index":0,"tid":101,"fds":64,"wakeups":\(rq * 2),"events":\(rq * 3),"cpu_ms":1500},
                               {"group":"http_in","index":1,"tid":102,"fds":60,"wakeups":\(rq),"events":\(rq),"cpu_ms":1400}],
                    "workers":[{"pool":"http_in","index":0,"tid":201,"busy":true,"queue":3,"max_queue":17,"processed":\(rq),"cpu_ms":900},
                               {"pool":"http_in","index":1,"tid":202,"busy":false,"queue":0,"max_queue":9,"processed":\(rq / 2),"cpu_ms":800}],
                    "rwloop":{"readers":3,"writers":3,"connections":3,"spawn_failures":0}},
         "connections":{"live":123\(extra)},
         "publisher":{"ticks":\(seq),"busy_us":120,"last_frame_bytes":4000,"frame_ring_bytes":8388608,"frame_ring_used":40000,
                      "conn_events_dropped":0}}
        """
    }

    static let t0: UInt64 = 1_795_768_000_000

    static var f1: String {
        frame(seq: 1, ts: t0, rq: 10_000, fivexx: 10, drainActive: 5, elapsed: 11_000,
              extra: #","table":[{"id":1,"dir":"in","model":"netpoll","owner":"http_in","peer":"192.168.1.10:50000","age_ms":5000,"thread":"poller-0","handler":"http1","bytes_in":100,"bytes_out":2000,"writev":4,"buffers":8,"paused":false},{"id":2,"dir":"in","model":"rwloop","owner":"tcp_in","peer":"192.168.1.11:50001","age_ms":9000,"thread":"rw-2","handler":"tcp","bytes_in":10,"bytes_out":20,"writev":2,"buffers":2,"paused":true}]"#)
    }
    static var f2: String {
        frame(seq: 2, ts: t0 + 1000, rq: 11_200, fivexx: 15, drainActive: 2, elapsed: 12_000,
              extra: #","changed":[{"id":3,"dir":"in","model":"netpoll","owner":"http_in","peer":"192.168.1.12:50002","age_ms":100,"thread":"poller-1","handler":"http1","bytes_in":1,"bytes_out":2,"writev":1,"buffers":1,"paused":false}],"closed":[2]"#)
    }
    static var f3: String {
        frame(seq: 3, ts: t0 + 2000, rq: 12_600, fivexx: 15, drainActive: 7, elapsed: 13_000)
    }

    static func parse(_ s: String) -> JSONValue { try! JSONParser.parse(s) }

    static func model(frames: [String] = [f1, f2]) -> ConsoleModel {
        let m = ConsoleModel()
        for f in frames { m.ingest(parse(f)) }
        m.ingest(event: parse(#"{"type":"event","seq":5,"ts":\#(t0 + 500),"kind":"engine.start","version":"0.4.0"}"#))
        m.ingest(event: parse(#"{"type":"event","seq":6,"ts":\#(t0 + 900),"kind":"host.admin","cluster":"c1","host":"10.0.0.3:8080","from":"READY","to":"DRAIN","uid":0,"via":"ctl"}"#))
        return m
    }

    static func render(_ m: ConsoleModel, _ s: ConsoleState, _ w: Int = 100, _ h: Int = 30) -> Grid {
        var g = Grid(width: w, height: h)
        ConsoleRenderer.render(model: m, state: s, into: &g)
        return g
    }

    static func state(_ view: ConsoleView, w: Int = 100, h: Int = 30) -> ConsoleState {
        var s = ConsoleState()
        s.view = view
        s.screenWidth = w
        s.screenHeight = h
        return s
    }
}
