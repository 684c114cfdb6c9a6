#!/usr/bin/env python3
"""HTTP/2 and gRPC proxying: Skiff (netpoll and rwloop) against nginx and Envoy, side by side in one run.

Usage: bench/h2_bench.py [--skiff .build/release/skiff] [--envoy PATH] [--rounds 5] [--requests 100000]
                         [--skip-callgrind] [--out FILE]
(bench/suite.py runs this as its HTTP/2 section, so bench/run.sh regenerates it with the rest.)

Method: one nginx backend (1 worker) speaks h2c (`listen ... http2`, prior knowledge) and serves /small (64 B).
Every proxy takes h2c from the client and speaks HTTP/2 to the backend: nginx 1 worker without a master through
`grpc_pass` (nginx's only HTTP/2 upstream), Envoy --concurrency 1 (codec AUTO, the cluster's
`explicit_http_config.http2_protocol_options`), Skiff 1 poller (`Http2` to `Http2`; rwloop is thread-per-connection).
No logging. Many streams on few connections: `h2load -n N -c 4 -m 32`, every candidate in turn, round after round
(interleaved), medians of --rounds: req/s and the proxy's CPU microseconds per request (utime+stime over the run /
requests). Then instructions per request under callgrind: after `h2load -n 200 -c 1`, the counters are zeroed,
`h2load -n 10000 -c 4 -m 10` runs (its 4 connections' set-up counted in the window, 1/2,500 of it per request), and
the counters are dumped. Last, gRPC unary (grpcio's own server and client, `Tests/peers/grpc_peer.py`, from the venv
`.ci/run` makes): 3,000 sequential calls on one channel, direct and through each proxy; calls/s and the latency each
proxy adds per call. Between them, HTTP/1.1 clients to the same HTTP/2 backend (Envoy and Skiff; nginx has no HTTP/2
upstream for plain HTTP): `h2load --h1 -c 16` req/s, CPU and instructions per request.
Only 127.0.0.1 is used; every process started here is stopped by its pid.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from common import Procs, callgrind_totals, cpu_ticks, free_port, machine_line, wait_port  # noqa: E402

SMALL = "0123456789012345678901234567890123456789012345678901234567890\n"  # 62 bytes + the newline nginx keeps: 64
GRPC_PYTHON = os.path.join(ROOT, ".build", "xds-venv", "bin", "python")
GRPC_PEER = os.path.join(ROOT, "Tests", "peers", "grpc_peer.py")


def nginx_backend(tmp, port):
    conf = f"""
worker_processes 1; daemon off; master_process off; pid {tmp}/nginx-h2-backend.pid; error_log {tmp}/nginx-h2-backend.err;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 100000000; keepalive_timeout 300s; http2_max_concurrent_streams 256;
  server {{ listen 127.0.0.1:{port} http2; location = /small {{ return 200 "{SMALL.strip()}\\n"; }} }} }}
"""
    path = os.path.join(tmp, "nginx-h2-backend.conf")
    open(path, "w").write(conf)
    return ["nginx", "-p", tmp, "-c", path]


def nginx_proxy(tmp, port, backend):
    conf = f"""
worker_processes 1; daemon off; master_process off; pid {tmp}/nginx-h2-{port}.pid; error_log {tmp}/nginx-h2-{port}.err;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 100000000; keepalive_timeout 300s; http2_max_concurrent_streams 256;
  upstream b {{ server 127.0.0.1:{backend}; keepalive 64; }}
  server {{ listen 127.0.0.1:{port} http2; location / {{ grpc_pass grpc://b; }} }} }}
"""
    path = os.path.join(tmp, f"nginx-h2-{port}.conf")
    open(path, "w").write(conf)
    return ["nginx", "-p", tmp, "-c", path]


def envoy(tmp, binary, port, backend):
    hcm = {"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "h", "codec_type": "AUTO", "generate_request_id": False,
        "route_config": {"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [
            {"match": {"prefix": "/"}, "route": {"cluster": "b", "timeout": "0s"}}]}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", "dynamic_stats": False}}]}}
    big = {"max_connections": 100000, "max_pending_requests": 100000, "max_requests": 100000}
    cfg = {"static_resources": {
        "listeners": [{"name": "l", "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                       "filter_chains": [{"filters": [hcm]}]}],
        "clusters": [{"name": "b", "connect_timeout": "5s", "type": "STATIC", "circuit_breakers": {"thresholds": [big]},
                      "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                          "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                          "explicit_http_config": {"http2_protocol_options": {}}}},
                      "load_assignment": {"cluster_name": "b", "endpoints": [{"lb_endpoints": [{"endpoint": {
                          "address": {"socket_address": {"address": "127.0.0.1", "port_value": backend}}}}]}]}}]}}
    path = os.path.join(tmp, f"envoy-h2-{port}.json")
    json.dump(cfg, open(path, "w"))
    return [binary, "-c", path, "--concurrency", "1", "--disable-hot-restart", "-l", "warn", "--base-id", str(port)]


def skiff(binary, tmp, port, backend, model, downstream="Http2"):
    proxy = {"type": "proxy", "config": {"downstream_protocol": downstream, "upstream_protocol": "Http2",
                                         "router_config_name": "r"}}
    cfg = {"servers": [{"routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
                                     "routers": [{"match": {"prefix": "/"}, "route": {"cluster_name": "b"}}]}]}],
                        "listeners": [{"name": "l", "address": f"127.0.0.1:{port}", "thread_model": model,
                                       "pollers": 1, "filter_chains": [{"filters": [proxy]}]}]}],
           "cluster_manager": {"clusters": [{"name": "b", "hosts": [{"address": f"127.0.0.1:{backend}"}]}]}}
    path = os.path.join(tmp, f"skiff-h2-{downstream}-{model}-{port}.json")
    json.dump(cfg, open(path, "w"))
    return [binary, "start", "-c", path, "--log-level", "warning", "--control-socket",
            os.path.join(tmp, f"skiff-h2-{port}.sock")]


def h2load(port, n, conns=4, streams=32, timeout=120, h1=False):
    r = subprocess.run(["h2load"] + (["--h1"] if h1 else []) + ["-n", str(n), "-c", str(conns), "-m", str(streams),
                        f"http://127.0.0.1:{port}/small"], capture_output=True, text=True, timeout=timeout)
    rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", r.stdout)
    ok = re.search(r"(\d+) succeeded", r.stdout)
    return {"rps": float(rps.group(1)) if rps else float("nan"), "ok": int(ok.group(1)) if ok else 0}


def med(vals):
    vals = [v for v in vals if v == v]
    return statistics.median(vals) if vals else float("nan")


def fmt(v, spec=",.0f"):
    return "-" if v != v else format(v, spec)


def section(out, phase, tmp, procs, skiff_bin, env_bin=None, rounds=5, requests=100000, callgrind=True):
    """Runs the HTTP/2 and gRPC rows, writing their tables through out()."""
    for tool in ["nginx", "h2load"]:
        if not shutil.which(tool):
            out()
            out(f"### HTTP/2\n\nSkipped: {tool} is missing (nginx, nghttp2-client).")
            return
    backend = free_port()
    procs.start(nginx_backend(tmp, backend), log=os.path.join(tmp, "nginx-h2-backend.log"))
    wait_port(backend)
    makers = [("nginx (grpc_pass)", lambda p: nginx_proxy(tmp, p, backend))]
    if env_bin:
        makers.append(("Envoy", lambda p: envoy(tmp, env_bin, p, backend)))
    makers += [("Skiff netpoll", lambda p: skiff(skiff_bin, tmp, p, backend, "netpoll")),
               ("Skiff rwloop", lambda p: skiff(skiff_bin, tmp, p, backend, "rwloop"))]
    cands = {}
    for name, fn in makers:
        port = free_port()
        proc = procs.start(fn(port), log=os.path.join(tmp, re.sub(r"\W", "", name) + "-h2.log"))
        wait_port(port, timeout=60)
        cands[name] = (port, proc)

    phase("HTTP/2 h2load")
    order = [("direct to backend", (backend, None))] + list(cands.items())
    for _, (port, _) in order:
        h2load(port, 5000)
    res = {name: [] for name, _ in order}
    for r in range(rounds):
        for name, (port, proc) in order:
            t0 = cpu_ticks(proc.pid) if proc else 0
            w = h2load(port, requests)
            if proc:
                w["cpu_us"] = (cpu_ticks(proc.pid) - t0) * (1e6 / os.sysconf("SC_CLK_TCK")) / max(1, w["ok"])
            res[name].append(w)
    out()
    out(f"### HTTP/2: h2c in, HTTP/2 to the backend, h2load -n {requests:,} -c 4 -m 32 /small, medians of {rounds} "
        "interleaved rounds")
    out()
    out("| candidate | req/s | proxy CPU us/req | failed | vs nginx req/s |")
    out("|---|---|---|---|---|")
    ng = med([x["rps"] for x in res["nginx (grpc_pass)"]])
    for name, _ in order:
        rps = med([x["rps"] for x in res[name]])
        failed = sum(requests - x["ok"] for x in res[name])
        out(f"| {name} | {fmt(rps)} | {fmt(med([x.get('cpu_us', float('nan')) for x in res[name]]), '.1f')} | "
            f"{failed} | {rps / ng:.2f}x |")

    if callgrind:
        phase("HTTP/2 callgrind")
        stripped = os.path.join(tmp, "skiff-h2-nodebug")
        subprocess.run(["objcopy", "--strip-debug", skiff_bin, stripped], check=True)
        jobs = [("nginx (grpc_pass)", lambda p: nginx_proxy(tmp, p, backend))]
        if env_bin:
            jobs.append(("Envoy", lambda p: envoy(tmp, env_bin, p, backend)))
        jobs += [("Skiff netpoll", lambda p: skiff(stripped, tmp, p, backend, "netpoll")),
                 ("Skiff rwloop", lambda p: skiff(stripped, tmp, p, backend, "rwloop"))]
        cg = {}

        callgrind_rows(tmp, procs, jobs, cg, h1=False)
        out()
        out("### HTTP/2 instructions per request under callgrind (user space; h2load -n 10,000 -c 4 -m 10 after 200 "
            "warm-up)")
        out()
        out("| candidate | instructions/request |")
        out("|---|---|")
        for name, _ in jobs:
            out(f"| {name} | {fmt(cg.get(name, float('nan')))} |")

    h1_rows(out, phase, tmp, procs, skiff_bin, env_bin, backend, rounds, requests, callgrind)

    phase("gRPC unary")
    out()
    if not os.access(GRPC_PYTHON, os.X_OK):
        out(f"### gRPC unary\n\nSkipped: no grpcio venv at {GRPC_PYTHON} (`.ci/run` or the tests make it).")
    else:
        gport = free_port()
        server = procs.start([GRPC_PYTHON, GRPC_PEER, "serve", "--port", str(gport)],
                             log=os.path.join(tmp, "grpc-peer.log"))
        wait_port(gport)
        gcands = []
        for name, fn in makers:
            port = free_port()
            argv = fn(port)
            if name.startswith("nginx"):
                argv = nginx_proxy(tmp, port, gport)
            elif name == "Envoy":
                argv = envoy(tmp, env_bin, port, gport)
            else:
                argv = skiff(skiff_bin, tmp, port, gport, "netpoll" if "netpoll" in name else "rwloop")
            proc = procs.start(argv, log=os.path.join(tmp, re.sub(r"\W", "", name) + "-grpc.log"))
            wait_port(port, timeout=60)
            gcands.append((name, port, proc))

        def calls(port):
            r = subprocess.run([GRPC_PYTHON, GRPC_PEER, "bench", str(port), "3000"], capture_output=True, text=True,
                               timeout=300)
            try:
                return json.loads(r.stdout.strip().splitlines()[-1])["per_second"]
            except (ValueError, IndexError, KeyError):
                return float("nan")

        rates = {"direct": []}
        for name, _, _ in gcands:
            rates[name] = []
        for _ in range(max(3, rounds // 2)):
            rates["direct"].append(calls(gport))
            for name, port, _ in gcands:
                rates[name].append(calls(port))
        direct = med(rates["direct"])
        out("### gRPC unary: 3,000 sequential calls on one channel (grpcio client and server), medians of "
            f"{max(3, rounds // 2)} interleaved rounds")
        out()
        out("| candidate | calls/s | us added per call |")
        out("|---|---|---|")
        out(f"| direct to the gRPC server | {fmt(direct)} | - |")
        for name, _, proc in gcands:
            r = med(rates[name])
            out(f"| {name} | {fmt(r)} | {fmt(1e6 / r - 1e6 / direct, '.0f') if r == r and direct == direct else '-'} |")
            procs.stop(proc)
        procs.stop(server)
    for _, (_, proc) in cands.items():
        procs.stop(proc)


def callgrind_rows(tmp, procs, jobs, cg, h1):
    """Instructions per request of each job's proxy under callgrind, two at a time, into cg[name]: h2load (`--h1`:
    HTTP/1.1 keep-alive, one request in flight per connection) -n 10,000 -c 4 after 200, the counters zeroed between."""
    def one(name, fn):
        port = free_port()
        base = os.path.join(tmp, ("cg-h1." if h1 else "cg-h2.") + re.sub(r"\W", "", name))
        proc = procs.start(["valgrind", "--tool=callgrind", f"--callgrind-out-file={base}.%p"] + fn(port),
                           log=base + ".log")
        try:
            wait_port(port, timeout=240)
            h2load(port, 200, conns=1, streams=1 if h1 else 10, timeout=300, h1=h1)
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True)
            done = h2load(port, 10000, conns=4, streams=1 if h1 else 10, timeout=600, h1=h1)["ok"]
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True)
            time.sleep(1.5)
            cg[name] = callgrind_totals(base, proc.pid) / max(1, done)
        except Exception as e:  # reported in the table
            cg[name] = float("nan")
            print(f"callgrind {name}: {e}", file=sys.stderr)
        finally:
            procs.stop(proc)

    for i in range(0, len(jobs), 2):
        ts = [threading.Thread(target=one, args=j) for j in jobs[i:i + 2]]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


def h1_rows(out, phase, tmp, procs, skiff_bin, env_bin, backend, rounds, requests, callgrind):
    """HTTP/1.1 clients to the HTTP/2 backend: Envoy (its AUTO codec takes HTTP/1.1, the cluster speaks HTTP/2) and
    Skiff (`Http1` listeners with `upstream_protocol: Http2`); nginx has no HTTP/2 upstream for plain HTTP.
    `h2load --h1 -c 16`: keep-alive, one request in flight per connection."""
    phase("HTTP/1.1 to HTTP/2")
    makers = []
    if env_bin:
        makers.append(("Envoy", lambda p: envoy(tmp, env_bin, p, backend)))
    makers += [("Skiff netpoll", lambda p: skiff(skiff_bin, tmp, p, backend, "netpoll", "Http1")),
               ("Skiff rwloop", lambda p: skiff(skiff_bin, tmp, p, backend, "rwloop", "Http1"))]
    cands = []
    for name, fn in makers:
        port = free_port()
        proc = procs.start(fn(port), log=os.path.join(tmp, re.sub(r"\W", "", name) + "-h1h2.log"))
        wait_port(port, timeout=60)
        h2load(port, 2000, conns=16, streams=1, h1=True)
        cands.append((name, port, proc))
    res = {name: [] for name, _, _ in cands}
    n = max(10000, requests // 2)
    for _ in range(rounds):
        for name, port, proc in cands:
            t0 = cpu_ticks(proc.pid)
            w = h2load(port, n, conns=16, streams=1, h1=True)
            w["cpu_us"] = (cpu_ticks(proc.pid) - t0) * (1e6 / os.sysconf("SC_CLK_TCK")) / max(1, w["ok"])
            res[name].append(w)
    for _, _, proc in cands:
        procs.stop(proc)
    cg = {}
    if callgrind:
        stripped = os.path.join(tmp, "skiff-h1h2-nodebug")
        subprocess.run(["objcopy", "--strip-debug", skiff_bin, stripped], check=True)
        jobs = [(name, fn) for name, fn in makers if not name.startswith("Skiff")]
        jobs += [("Skiff netpoll", lambda p: skiff(stripped, tmp, p, backend, "netpoll", "Http1")),
                 ("Skiff rwloop", lambda p: skiff(stripped, tmp, p, backend, "rwloop", "Http1"))]
        callgrind_rows(tmp, procs, jobs, cg, h1=True)
    out()
    out(f"### HTTP/1.1 clients to the HTTP/2 backend: h2load --h1 -n {n:,} -c 16 /small (keep-alive), medians of "
        f"{rounds} interleaved rounds; instructions per request under callgrind (--h1 -n 10,000 -c 4 after 200)")
    out()
    out("| candidate | req/s | proxy CPU us/req | failed | instructions/request |")
    out("|---|---|---|---|---|")
    for name, _, _ in cands:
        failed = sum(n - x["ok"] for x in res[name])
        out(f"| {name} | {fmt(med([x['rps'] for x in res[name]]))} | "
            f"{fmt(med([x['cpu_us'] for x in res[name]]), '.1f')} | {failed} | {fmt(cg.get(name, float('nan')))} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=os.path.join(ROOT, ".build", "release", "skiff"))
    ap.add_argument("--envoy", default=os.path.join(ROOT, ".build-bench", "envoy", "envoy", "_bin", "envoy"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--skip-callgrind", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args()
    lines = []

    def out(line=""):
        print(line, flush=True)
        lines.append(line)

    def phase(name):
        print(f"-- {name}", file=sys.stderr, flush=True)

    tmp = tempfile.mkdtemp(prefix="skiff-h2-bench-")
    procs = Procs()
    started = time.time()
    try:
        env_bin = a.envoy if os.access(a.envoy, os.X_OK) else None
        section(out, phase, tmp, procs, os.path.abspath(a.skiff), env_bin, a.rounds, a.requests,
                callgrind=not a.skip_callgrind)
        out()
        out(f"Took {time.time() - started:.0f} s. {machine_line()}.")
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    if a.out:
        open(a.out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
