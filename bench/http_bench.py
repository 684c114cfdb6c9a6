#!/usr/bin/env python3
"""HTTP/1.1 keep-alive proxying: Skiff (netpoll and rwloop) against HAProxy and nginx, side by side in one run.

Usage: bench/http_bench.py [--skiff .build/release/skiff] [--rounds 5] [--duration 10] [--conns 64]
                            [--callgrind] [--requests 10000]

Method: an nginx backend (1 worker) serves /small (64 bytes); each proxy runs
single-threaded (HAProxy nbthread 1, nginx 1 worker without a master, Skiff 1 poller) with keep-alive on both sides
and no logging. wrk -t1 -cN -dD --latency runs against every candidate in turn, round after round (interleaved), and
the table reports medians: requests/s, p50/p99 and the proxy's CPU microseconds per request (utime+stime from
/proc/PID/stat over the run divided by the requests wrk counted). Every server starts under setsid.

--callgrind adds the noise-free figures: each proxy runs under valgrind --tool=callgrind; after 200 warm-up requests
the counters are zeroed, exactly --requests keep-alive requests are sent over 4 connections (one in flight each), the
counters are dumped, and instructions per request = total Ir / requests. Syscalls per request for a sequential client
come from `perf stat -e raw_syscalls:sys_enter -p PID` around 2,000 requests on one connection.

Only 127.0.0.1 is used. Every process started here is stopped by its pid.
"""
import argparse, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import SMALL, Procs, cpu_ticks, drive, free_port, syscalls_per_request, wait_port, wrk


def nginx_backend(tmp, port):
    conf = f"""
worker_processes 1; daemon off; master_process off; pid {tmp}/nginx-backend.pid; error_log {tmp}/nginx-backend.err;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 100000000; keepalive_timeout 300s;
  server {{ listen 127.0.0.1:{port} reuseport; location = /small {{ return 200 "{SMALL.strip()}\\n"; }} }} }}
"""
    path = os.path.join(tmp, "nginx-backend.conf")
    open(path, "w").write(conf)
    return ["nginx", "-p", tmp, "-c", path]


def nginx_proxy(tmp, port, backend):
    conf = f"""
worker_processes 1; daemon off; master_process off; pid {tmp}/nginx-proxy.pid; error_log {tmp}/nginx-proxy.err;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 100000000; keepalive_timeout 300s;
  upstream b {{ server 127.0.0.1:{backend}; keepalive 64; keepalive_requests 100000000; }}
  server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://b; proxy_http_version 1.1;
    proxy_set_header Connection ""; }} }} }}
"""
    path = os.path.join(tmp, "nginx-proxy.conf")
    open(path, "w").write(conf)
    return ["nginx", "-p", tmp, "-c", path]


def haproxy(tmp, port, backend):
    conf = f"""
global
  nbthread 1
  maxconn 9000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend f
  bind 127.0.0.1:{port}
  default_backend b
backend b
  server s1 127.0.0.1:{backend}
"""
    path = os.path.join(tmp, "haproxy.cfg")
    open(path, "w").write(conf)
    return ["haproxy", "-f", path]


def skiff_conf(tmp, port, backend, model):
    import json
    cfg = {
        "servers": [{
            "routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"], "routers": [
                {"match": {"prefix": "/"}, "route": {"cluster_name": "b"}}]}]}],
            "listeners": [{"name": "h", "address": f"127.0.0.1:{port}", "thread_model": model, "pollers": 1,
                           "workers": 1 if model == "rwloop" else 0,
                           "filter_chains": [{"filters": [{"type": "proxy", "config": {
                               "downstream_protocol": "Http1", "router_config_name": "r"}}]}]}],
        }],
        "cluster_manager": {"clusters": [{"name": "b", "hosts": [{"address": f"127.0.0.1:{backend}"}]}]},
    }
    path = os.path.join(tmp, f"skiff-{model}.json")
    json.dump(cfg, open(path, "w"))
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=os.path.join(HERE, "..", ".build", "release", "skiff"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--keep-callgrind", help="copy Skiff's callgrind dump here (for callgrind_annotate)")
    a = ap.parse_args()
    for tool in ["nginx", "haproxy", "wrk"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install haproxy nginx wrk valgrind linux-perf")
    skiff = os.path.abspath(a.skiff)
    tmp = tempfile.mkdtemp(prefix="skiff-bench-")
    procs = Procs()
    try:
        backend = free_port()
        procs.start(nginx_backend(tmp, backend))
        wait_port(backend)
        cands = {}
        for name, argv_fn in [
            ("HAProxy 1 thread", lambda p: haproxy(tmp, p, backend)),
            ("nginx 1 worker", lambda p: nginx_proxy(tmp, p, backend)),
            ("Skiff netpoll 1 poller", lambda p: [skiff, "start", "-c", skiff_conf(tmp, p, backend, "netpoll"),
                                                  "--log-level", "warning", "--control-socket", f"{tmp}/np.sock"]),
            ("Skiff rwloop", lambda p: [skiff, "start", "-c", skiff_conf(tmp, p, backend, "rwloop"),
                                        "--log-level", "warning", "--control-socket", f"{tmp}/rw.sock"]),
        ]:
            port = free_port()
            proc = procs.start(argv_fn(port), log=os.path.join(tmp, re.sub(r"\W", "", name) + ".log"))
            try:
                wait_port(port)
            except RuntimeError:
                sys.exit(f"{name} did not start: {' '.join(proc.argv)}\n" + open(proc.log).read())
            cands[name] = (port, proc)
        direct = ("direct to backend", (backend, None))
        order = [direct] + list(cands.items())
        for _, (port, _) in order:  # warm-up
            wrk(port, a.conns, 2)
        res = {name: [] for name, _ in order}
        for r in range(a.rounds):
            for name, (port, proc) in order:
                t0 = cpu_ticks(proc.pid) if proc else 0
                w = wrk(port, a.conns, a.duration)
                if proc:
                    w["cpu_us"] = (cpu_ticks(proc.pid) - t0) * (1e6 / os.sysconf("SC_CLK_TCK")) / max(1, w["reqs"])
                res[name].append(w)
            print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)

        def med(name, key):
            vals = [x[key] for x in res[name] if key in x]
            return statistics.median(vals) if vals else float("nan")

        print(f"\n### wrk -t1 -c{a.conns} -d{a.duration}s /small, medians of {a.rounds} interleaved rounds\n")
        print("| candidate | req/s | p50 ms | p99 ms | proxy CPU us/req | non-2xx | vs HAProxy req/s |")
        print("|---|---|---|---|---|---|---|")
        ha = med("HAProxy 1 thread", "rps")
        for name, _ in order:
            cpu = med(name, "cpu_us")
            bad = sum(x["errors"] for x in res[name])
            print(f"| {name} | {med(name, 'rps'):.0f} | {med(name, 'p50'):.2f} | {med(name, 'p99'):.2f} | "
                  f"{'-' if cpu != cpu else f'{cpu:.1f}'} | {bad} | {med(name, 'rps') / ha:.2f}x |")

        print("\n### Syscalls per request, sequential keep-alive client (perf stat raw_syscalls:sys_enter)\n")
        print("| candidate | syscalls/request |")
        print("|---|---|")
        for name, (port, proc) in cands.items():
            print(f"| {name} | {syscalls_per_request(proc.pid, port):.2f} |")

        if a.callgrind:
            procs_cg = Procs()
            # valgrind 3.19 cannot read the DWARF 5 that Swift's toolchain emits; symbols are enough for totals and
            # per-function costs, so run a copy without debug info.
            skiff_cg = os.path.join(tmp, "skiff-nodebug")
            subprocess.run(["objcopy", "--strip-debug", skiff, skiff_cg], check=True)
            print(f"\n### Instructions per request under callgrind ({a.requests} keep-alive requests, 4 connections)\n")
            print("| candidate | instructions/request |")
            print("|---|---|")
            for name, fn in [
                ("nginx 1 worker", lambda p: nginx_proxy(tmp, p, backend)),
                ("HAProxy 1 thread", lambda p: haproxy(tmp, p, backend)),
                ("Skiff netpoll 1 poller", lambda p: [skiff_cg, "start", "-c",
                                                      skiff_conf(tmp, p, backend, "netpoll"), "--log-level", "warning",
                                                      "--control-socket", f"{tmp}/cg.sock"]),
            ]:
                port = free_port()
                out = os.path.join(tmp, "cg." + re.sub(r"\W", "", name))
                proc = procs_cg.start(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p"] + fn(port))
                wait_port(port, timeout=120)
                drive(port, 200)
                subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True)
                n = drive(port, a.requests)
                subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True)
                time.sleep(1)
                dumps = [f for f in os.listdir(tmp) if f.startswith(os.path.basename(out) + f".{proc.pid}")]
                best = 0
                for f in dumps:
                    for line in open(os.path.join(tmp, f)):
                        if line.startswith("summary:") or line.startswith("totals:"):
                            best = max(best, int(line.split()[1]))
                # The last dump holds the counted window; take the newest file's totals.
                newest = max(dumps, key=lambda f: os.path.getmtime(os.path.join(tmp, f)))
                for line in open(os.path.join(tmp, newest)):
                    if line.startswith("summary:") or line.startswith("totals:"):
                        best = int(line.split()[1])
                print(f"| {name} | {best / n:,.0f} |")
                if a.keep_callgrind and name.startswith("Skiff"):
                    shutil.copy(os.path.join(tmp, newest), a.keep_callgrind)
                procs_cg.stop_all()
        print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, {time.strftime('%Y-%m-%d %H:%M')}")
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
