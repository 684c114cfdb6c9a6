#!/usr/bin/env python3
"""xDS update cost: one EDS cluster of 1,000 endpoints updated every second for 30 s under keep-alive load, Skiff
and Envoy side by side against the same control plane (Tests/peers/xds_server.py), and memory per 10,000 endpoints.

Usage: bench/xds_bench.py [--skiff .build/release/skiff] [--envoy PATH] [--endpoints 1000] [--updates 30]
                          [--conns 16] [--big 10000]

Method. An nginx backend (1 worker) listens on 0.0.0.0:P, so every 127.0.x.y:P reaches it: the 1,000 endpoints
are 1,000 distinct loopback addresses of one server. The control plane serves a listener (RDS) whose one route goes
to the EDS cluster `big`. Each proxy gets its own listener port (two control planes serving the same resources
except the listener port). Phase 1 (load): wrk keep-alive on both proxies' listeners at once while, every second,
the assignment changes: 20 endpoints leave, 20 new ones arrive, and the weights of 100 others change; wrk must
report zero errors. Phase 2 (no load): the same updates again; each proxy's process CPU (utime+stime from /proc)
over the phase divided by the updates is its CPU per update, against an idle baseline of the same length.
Skiff's own figure (thread CPU of decoding, translating, assembling and applying, from `skiff ctl xds`) is given
too. Phase 3: RSS before and after the assignment grows to --big endpoints, per 10,000 endpoints.

Only 127.0.0.0/8 is used. Every process started here is stopped by its pid.
"""
import argparse, json, os, subprocess, sys, tempfile, threading, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from common import Procs, cpu_ticks, free_port, machine_line, rss_kib, wait_port, wrk

TICK = os.sysconf("SC_CLK_TCK")


def nginx_backend(tmp, port):
    conf = f"""
worker_processes 1; daemon off; master_process off; pid {tmp}/nginx.pid; error_log {tmp}/nginx.err;
events {{ worker_connections 8192; }}
http {{ access_log off; keepalive_requests 100000000; keepalive_timeout 300s;
  server {{ listen 0.0.0.0:{port} reuseport; location / {{ return 200 "ok\\n"; }} }} }}
"""
    open(f"{tmp}/nginx.conf", "w").write(conf)
    return ["nginx", "-p", tmp, "-c", f"{tmp}/nginx.conf"]


def address(i):
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def resources(version, listener_port, backend_port, ids, weights):
    eps = [{"endpoint": {"address": {"socket_address": {"address": address(i), "port_value": backend_port}}},
            "load_balancing_weight": weights.get(i, 1)} for i in ids]
    hcm = {"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
           "stat_prefix": "bench", "rds": {"route_config_name": "r", "config_source": {"ads": {}, "resource_api_version": "V3"}},
           "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
               "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}
    return {
        "version": str(version),
        "listeners": [{"@type": "type.googleapis.com/envoy.config.listener.v3.Listener", "name": "bench",
                       "address": {"socket_address": {"address": "127.0.0.1", "port_value": listener_port}},
                       "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                                       "typed_config": hcm}]}]}],
        "routes": [{"@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "name": "r",
                    "virtual_hosts": [{"name": "all", "domains": ["*"],
                                       "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "big"}}]}]}],
        # Connection limits above one connection per endpoint and worker (Envoy's default 1024 would overflow).
        "clusters": [{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "big", "type": "EDS",
                      "connect_timeout": "1s", "lb_policy": "ROUND_ROBIN",
                      "circuit_breakers": {"thresholds": [{"max_connections": 100000, "max_pending_requests": 100000,
                                                           "max_requests": 100000}]},
                      "eds_cluster_config": {"eds_config": {"ads": {}, "resource_api_version": "V3"}}}],
        "endpoints": [{"@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
                       "cluster_name": "big", "endpoints": [{"lb_endpoints": eps}]}],
    }


class ControlPlane:
    def __init__(self, procs, tmp, name, listener_port, backend_port, python):
        self.name, self.listener_port, self.backend_port = name, listener_port, backend_port
        self.path = f"{tmp}/{name}-resources.json"
        json.dump(resources(0, listener_port, backend_port, range(10), {}), open(self.path, "w"))
        log = f"{tmp}/{name}-xds.log"
        self.proc = procs.start([python, f"{ROOT}/Tests/peers/xds_server.py", "--resources", self.path,
                                 "--watch-interval", "0"], log=log)
        end = time.time() + 60
        while time.time() < end:
            lines = [l for l in open(log).read().splitlines() if l.startswith("listening ")]
            if lines:
                self.grpc, self.control = map(int, lines[0].split()[1:3])
                return
            time.sleep(0.1)
        raise RuntimeError(f"xds_server did not start: {open(log).read()[-500:]}")

    def post(self, body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.control}/resources", data=json.dumps(body).encode(),
                                     method="POST")
        urllib.request.urlopen(req, timeout=60).read()

    def state(self):
        return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{self.control}/state", timeout=30).read())

    def acked(self, node, type_name):
        for s in reversed(self.state().get("streams", [])):
            if (s.get("node") or {}).get("id") == node:
                t = (s.get("types") or {}).get(type_name) or {}
                return t.get("version_acked") if t.get("acked") else None
        return None


def skiff_bootstrap(xds_port):
    src = {"ads": {}, "resource_api_version": "V3"}
    return {"node": {"id": "skiff-bench", "cluster": "bench"},
            "dynamic_resources": {"ads_config": {"api_type": "GRPC", "transport_api_version": "V3",
                                                 "grpc_services": [{"envoy_grpc": {"cluster_name": "xds"}}]},
                                  "lds_config": src, "cds_config": src},
            "static_resources": {"clusters": [{
                "name": "xds", "type": "STATIC", "connect_timeout": "1s",
                "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": {"http2_protocol_options": {}}}},
                "load_assignment": {"cluster_name": "xds", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
                    "socket_address": {"address": "127.0.0.1", "port_value": xds_port}}}}]}]}}]}}


def envoy_bootstrap(xds_port, admin_port):
    b = skiff_bootstrap(xds_port)
    b["node"] = {"id": "envoy-bench", "cluster": "bench"}
    b["admin"] = {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}}
    return b


class Update:
    """The assignment's evolution: a sliding window of endpoint ids, with some weights changed each step."""

    def __init__(self, n):
        self.n, self.first, self.step = n, 0, 0

    def next(self):
        self.step += 1
        self.first += 20
        ids = range(self.first, self.first + self.n)
        weights = {i: 1 + (i + self.step) % 5 for i in range(self.first, self.first + 100)}
        return ids, weights


def wait_version(planes_nodes, version, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if all(p.acked(node, "endpoints") == str(version) for p, node in planes_nodes):
            return True
        time.sleep(0.05)
    return False


def skiff_xds(skiff, sock):
    out = subprocess.run([skiff, "ctl", "xds", "--json", "--socket", sock], capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[0])["xds"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=f"{ROOT}/.build/release/skiff")
    ap.add_argument("--envoy", default=f"{ROOT}/.build-bench/envoy/envoy/_bin/envoy")
    ap.add_argument("--endpoints", type=int, default=1000)
    ap.add_argument("--updates", type=int, default=30)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--big", type=int, default=10000)
    args = ap.parse_args()
    python = f"{ROOT}/.build/xds-venv/bin/python"
    have_envoy = os.path.exists(args.envoy)
    procs = Procs()
    tmp = tempfile.mkdtemp(prefix="skiff-xds-bench-")
    try:
        backend = free_port()
        procs.start(nginx_backend(tmp, backend))
        wait_port(backend)
        sl, el = free_port(), free_port()
        cps = ControlPlane(procs, tmp, "skiff", sl, backend, python)
        cpe = ControlPlane(procs, tmp, "envoy", el, backend, python) if have_envoy else None
        json.dump(skiff_bootstrap(cps.grpc), open(f"{tmp}/skiff.json", "w"))
        sock = f"{tmp}/skiff.sock"
        skiff = procs.start([args.skiff, "start", "-c", f"{tmp}/skiff.json", "--control-socket", sock,
                             "--log-level", "warning"], log=f"{tmp}/skiff.log")
        planes = [(cps, "skiff-bench")]
        envoy = None
        if cpe:
            json.dump(envoy_bootstrap(cpe.grpc, free_port()), open(f"{tmp}/envoy.json", "w"))
            envoy = procs.start([args.envoy, "-c", f"{tmp}/envoy.json", "--disable-hot-restart", "--concurrency", "1",
                                 "-l", "warning"], log=f"{tmp}/envoy.log")
            planes.append((cpe, "envoy-bench"))
        upd = Update(args.endpoints)
        version = 1

        def push():
            nonlocal version
            version += 1
            ids, weights = upd.next()
            for p, _ in planes:
                p.post(resources(version, p.listener_port, backend, ids, weights))
            return version

        v = push()
        if not wait_version(planes, v, 120):
            raise RuntimeError("the proxies did not ACK the first assignment")
        wait_port(sl)
        if envoy:
            wait_port(el)

        # Phase 1: updates every second under keep-alive load on both proxies.
        results = {}

        def load(name, port):
            results[name] = wrk(port, args.conns, args.updates + 2, path="/")

        loaders = [threading.Thread(target=load, args=("skiff", sl))]
        if envoy:
            loaders.append(threading.Thread(target=load, args=("envoy", el)))
        for t in loaders:
            t.start()
        time.sleep(1)
        for _ in range(args.updates):
            t0 = time.time()
            push()
            time.sleep(max(0, 1 - (time.time() - t0)))
        for t in loaders:
            t.join()
        last = version
        ok = wait_version(planes, last, 60)

        # Phase 2: the same updates without load; CPU per update against an idle baseline of the same length.
        def cpu(p):
            return cpu_ticks(p.pid) / TICK

        idle0 = {n: cpu(p) for n, p in (("skiff", skiff), ("envoy", envoy)) if p}
        time.sleep(10)
        idle = {n: (cpu(p) - idle0[n]) / 10 for n, p in (("skiff", skiff), ("envoy", envoy)) if p}
        before = {n: cpu(p) for n, p in (("skiff", skiff), ("envoy", envoy)) if p}
        s0 = skiff_xds(args.skiff, sock)
        t0 = time.time()
        for _ in range(args.updates):
            v = push()
            wait_version(planes, v, 60)
        elapsed = time.time() - t0
        after = {n: cpu(p) for n, p in (("skiff", skiff), ("envoy", envoy)) if p}
        s1 = skiff_xds(args.skiff, sock)
        per_update = {n: ((after[n] - before[n]) - idle[n] * elapsed) / args.updates * 1000 for n in before}
        own = (s1["total_update_cpu_us"] - s0["total_update_cpu_us"]) / max(1, s1["updates"] - s0["updates"]) / 1000

        # Phase 3: memory per 10,000 endpoints.
        rss0 = {n: rss_kib(p.pid) for n, p in (("skiff", skiff), ("envoy", envoy)) if p}
        version += 1
        for p, _ in planes:
            p.post(resources(version, p.listener_port, backend, range(args.big), {}))
        wait_version(planes, version, 120)
        time.sleep(1)
        rss1 = {n: rss_kib(p.pid) for n, p in (("skiff", skiff), ("envoy", envoy)) if p}
        per10k = {n: (rss1[n] - rss0[n]) / 1024 * 10000 / (args.big - args.endpoints) for n in rss0}
        # Then traffic to (nearly) every endpoint: what a used endpoint costs (latency histograms, pools).
        for name, port in (("skiff", sl), ("envoy", el if envoy else None)):
            if port:
                wrk(port, args.conns, 8, path="/")
        time.sleep(1)
        rss2 = {n: rss_kib(p.pid) for n, p in (("skiff", skiff), ("envoy", envoy)) if p}
        used10k = {n: (rss2[n] - rss0[n]) / 1024 * 10000 / (args.big - args.endpoints) for n in rss0}

        print(machine_line())
        print(f"EDS: {args.endpoints} endpoints, {args.updates} updates (20 endpoints replaced, 100 weights changed "
              f"each), wrk -c{args.conns} keep-alive during phase 1; all updates ACKed: {ok}")
        print(f"{'proxy':8} {'requests':>10} {'errors':>7} {'p99 ms':>8} {'CPU/update ms':>14} {'RSS MiB':>8} "
              f"{'MiB/10k endpoints':>18} {'(all used)':>11}")
        for n in before:
            r = results.get(n, {})
            print(f"{n:8} {r.get('reqs', 0):>10} {r.get('errors', 0):>7} {r.get('p99', 0):>8.2f} "
                  f"{per_update[n]:>14.2f} {rss2[n] / 1024:>8.1f} {per10k[n]:>18.1f} {used10k[n]:>11.1f}"
                  + (f"  sockerr {r['sockerr']}" if r.get("sockerr") else ""))
        print(f"skiff's own CPU per update (decode, translate, assemble, apply; one thread): {own:.2f} ms, "
              f"max {s1['max_update_cpu_us'] / 1000:.2f} ms")
        if "envoy" in per_update and per_update["envoy"] > 0:
            print(f"ratio CPU/update skiff/envoy: {per_update['skiff'] / per_update['envoy']:.2f}")
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
