#!/usr/bin/env python3
"""Cost of telemetry publishing with many open connections.

Usage: bench/publish_cost.py [--skiff .build/release/skiff] [--conns 10000] [--seconds 10]

Starts skiff with one netpoll HTTP listener, opens --conns idle client connections (each accepted and registered,
so every tick walks all of them), waits --seconds of 1 s ticks, and reads the publisher's own CPU time from the
`publisher` block of `skiff ctl stats --json`. Reports CPU per tick and as a share of one core at 1 s ticks, the
frame size, and the ring's bounded memory. Loopback only; stops what it starts.
"""
import argparse, json, os, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import free_port


def stats(skiff, sock):
    out = subprocess.run([skiff, "ctl", "stats", "--json", "--socket", sock], capture_output=True, text=True).stdout
    return json.loads(out)["frame"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=os.path.join(HERE, "..", ".build", "release", "skiff"))
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    port, sock = free_port(), tempfile.mktemp(suffix=".sock")
    cfg = {"servers": [{"routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
            "routers": [{"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": "ok"}}]}]}],
            "listeners": [{"name": "h", "address": f"127.0.0.1:{port}", "thread_model": "netpoll", "pollers": 1,
                           # The connections never send a request: hold them past the 10 s request-header timeout.
                           "request_header_timeout": "10m", "connection_idle_timeout": "10m",
                           "filter_chains": [{"filters": [{"type": "proxy", "config": {
                               "downstream_protocol": "Http1", "router_config_name": "r"}}]}]}]}],
           "cluster_manager": {"clusters": [{"name": "unused", "hosts": [{"address": "127.0.0.1:9"}]}]}}
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(cfg, f)
    p = subprocess.Popen(["setsid", a.skiff, "start", "-c", path, "--control-socket", sock, "--log-level", "warning"])
    conns = []
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        for _ in range(a.conns):
            conns.append(socket.create_connection(("127.0.0.1", port)))
        time.sleep(2)
        before = stats(a.skiff, sock)["publisher"]
        time.sleep(a.seconds)
        f = stats(a.skiff, sock)
        after = f["publisher"]
        ticks = after["ticks"] - before["ticks"]
        busy = after["busy_us"] - before["busy_us"]
        per_tick = busy / max(1, ticks)
        print(f"\n### Publishing cost, {a.conns} open connections, 1 s ticks ({ticks} ticks measured)\n")
        print("| live connections | CPU per tick | share of one core | frame bytes (no changes) | ring capacity | ring used |")
        print("|---|---|---|---|---|---|")
        live = f["listeners"][0]["cx_active"]
        print(f"| {live} | {per_tick / 1000:.2f} ms | {per_tick / 1e6 * 100:.2f}% | {after['last_frame_bytes']} | "
              f"{after['frame_ring_bytes'] >> 20} MiB | {after['frame_ring_used'] / 1048576:.1f} MiB |")
        print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, {time.strftime('%Y-%m-%d %H:%M')}")
    finally:
        for c in conns:
            c.close()
        p.terminate()
        p.wait(timeout=10)
        os.unlink(path)


if __name__ == "__main__":
    main()
