/// What each column title and check reason means, for the help screen: the current view's entries first.
enum ColumnLegend {
    static func entries(for view: ConsoleView) -> [(String, String)] {
        switch view {
        case .overview:
            return [
                ("RPS", "requests (or sessions) per second"), ("5xx", "5xx answers per second"),
                ("p99", "99th percentile latency"), ("cx / rq", "connections / requests"),
                ("xds", "control plane: connection, version (resources) per type, NACKs"),
            ]
        case .listeners:
            return [
                ("MODEL", "thread model: netpoll or rwloop"), ("PROTO", "downstream protocol"),
                ("ACT CX", "connections open now"), ("TOT CX", "connections accepted since start"),
                ("RPS", "requests (sessions) per second"), ("IN / OUT", "bytes read / written"),
                ("ERR", "errors since start"),
                ("xDS", "with a control plane: per type version, resources, pushes, ACKs, NACKs, last NACK"),
            ]
        case .clusters:
            return [
                ("ADMIN", "READY DRAIN MAINT; on a cluster: LB type"), ("HEALTH", "UP, DOWN, EJECTED"),
                ("WT", "load-balancing weight"), ("RQ / CX", "active requests / connections"),
                ("P50 / P99", "latency percentiles"), ("5XX", "5xx answers since start"),
                ("RETRY", "requests sent again"), ("LAST CHECK", "reason and age of the last check"),
            ] + checkReasons
        case .connections:
            return [
                ("OWNER", "listener or cluster"), ("PEER", "the other end"), ("AGE", "time open"),
                ("THREAD", "poller or rwloop thread"), ("HANDLER", "what reads it"),
                ("IN / OUT", "bytes read / written"), ("WRITEV", "writev calls"),
                ("B/WV", "buffers per writev"), ("STATE", "open or paused (back-pressure)"),
                ("TLS", "TLS version, - for plaintext (with TLS listeners or clusters)"),
                ("SNI/CN", "server name asked for (inbound) or upstream certificate CN (outbound)"),
            ]
        case .threads:
            return [
                ("#", "index in its group"), ("TID", "kernel thread id"), ("FDS", "descriptors watched"),
                ("WAKE/S", "epoll wake-ups per second"), ("EV/S", "events per second"),
                ("CPU", "CPU time since start"), ("MAXQ", "deepest queue seen"),
                ("PROC/S", "jobs done per second"), ("EV/WAKE", "events handled per epoll wake-up"),
                ("CPU µs/RQ", "CPU per request, between the last two frames"),
                ("SYSC/RQ", "system calls per request, between the last two frames"),
                ("MEM/CX", "buffers (and rwloop thread stacks) per connection, an estimate"),
                ("ROLE", "rwloop thread: reader or writer"), ("CONN", "the connection it serves"),
            ]
        case .writes:
            return [
                ("L / C", "listener / cluster side"), ("BUFFERS", "buffers written"),
                ("WRITEV", "writev calls"), ("1 .. 16+", "writev calls by buffer count"),
                ("HIST", "those five as bars"), ("WV/S", "writev calls per second, recent window"),
                ("B/WV", "buffers per writev, recent window"), ("ALL B/WV", "buffers per writev since start"),
                ("BYT/WV", "bytes per writev"), ("PART", "partial writes (kernel took less)"),
                ("EAGAIN", "writes the socket refused (full)"), ("PEAKQ", "deepest write queue seen (buffers)"),
                ("PAUSE/S", "reads paused for back-pressure per second, recent window"),
            ]
        case .health:
            return [
                ("RESULTS", "last 10 checks, ✓ ok ✗ failed"), ("LAT", "last check's latency"),
                ("REASON", "last check's reason"), ("NEXT", "time to the next check"),
                ("STREAK", "the last result and its run"),
            ] + checkReasons
        case .requests:
            return [
                ("TIME", "when the request finished"), ("AUTHORITY", "Host header, or the RPC protocol"),
                ("PATH/SERVICE", "HTTP path, or RPC service and method"), ("UPSTREAM", "the last host tried"),
                ("LATENCY", "complete request head to the end"), ("IN / OUT", "body bytes"),
                ("FLAGS", "LR Skiff replied itself, RT retried, UC response cut off"),
            ]
        case .events:
            return [
                ("KIND", "host.*, admin.*, conn.*, log ..."), ("colour", "red error, yellow warning"),
                ("", "green recovery, cyan operator action"), ("c", "show / hide connection events"),
            ]
        }
    }

    static let checkReasons: [(String, String)] = [
        ("L4OK", "TCP connect succeeded"), ("L4CON", "TCP connect refused"), ("L4TOUT", "TCP connect timed out"),
        ("L7OK", "HTTP answer as expected"), ("L7STS", "HTTP status not expected"),
        ("L7RSP", "no valid HTTP answer"), ("L7TOUT", "HTTP answer timed out"),
    ]
}

extension String {
    /// Padded with spaces to `width` characters (never cut).
    func padding(to width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
