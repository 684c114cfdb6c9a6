#!/usr/bin/env python3
"""TCP proxy throughput and connection capacity: Skiff's netpoll and rwloop listeners against a direct connection.

Usage: bench/tcp_bench.py [--skiff .build/release/skiff] [--mb 512] [--runs 5] [--conns 5000]

Starts a sink/echo backend (bench/backend.py) and `skiff start` with one tcp_proxy listener per thread model, all on
127.0.0.1, then
  1. bulk throughput: one connection sends --mb MiB, the backend acknowledges when it has them all; medians of --runs,
     interleaved round by round (direct, netpoll, rwloop), and the CPU the proxy spent per GiB (utime + stime over all
     runs: steadier than throughput on a shared machine, where the proxy's extra process competes for the cores);
  2. capacity: opens --conns idle connections through each listener (each proven live with a 1-byte echo) and reports
     the proxy's RSS growth per connection.
Prints a Markdown table. Only loopback is used; every process started is stopped by pid.
"""
import argparse, json, os, socket, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import cpu_ticks, free_port, rss_kib, threads, wait_port


def bulk(port, nbytes):
    """Sends nbytes after an 8-byte length; returns seconds until the backend's 1-byte ack."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    chunk = memoryview(os.urandom(1 << 20))
    t0 = time.perf_counter()
    s.sendall(b"B" + nbytes.to_bytes(8, "big"))
    left = nbytes
    while left > 0:
        n = min(left, len(chunk))
        s.sendall(chunk[:n])
        left -= n
    ack = s.recv(1)
    dt = time.perf_counter() - t0
    s.close()
    if ack != b"k":
        raise RuntimeError("no ack")
    return dt


def hold(port, count):
    """Opens count connections, each proven with a 1-byte echo; returns them."""
    conns = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"E")
        if s.recv(1) != b"E":
            raise RuntimeError("echo failed")
        conns.append(s)
    return conns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=os.path.join(HERE, "..", ".build", "release", "skiff"))
    ap.add_argument("--mb", type=int, default=512)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--conns", type=int, default=5000)
    a = ap.parse_args()

    backend_port, np_port, rw_port = free_port(), free_port(), free_port()
    procs = []
    try:
        backend = subprocess.Popen([sys.executable, os.path.join(HERE, "backend.py"), str(backend_port)])
        procs.append(backend)
        wait_port(backend_port)
        cfg = {
            "servers": [{"listeners": [
                {"name": "np", "address": f"127.0.0.1:{np_port}", "thread_model": "netpoll", "pollers": 1,
                 "filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": "b"}}]}]},
                {"name": "rw", "address": f"127.0.0.1:{rw_port}", "thread_model": "rwloop",
                 "max_connections": a.conns + 10,
                 "filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": "b"}}]}]},
            ]}],
            "cluster_manager": {"clusters": [{"name": "b", "hosts": [{"address": f"127.0.0.1:{backend_port}"}]}]},
        }
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(cfg, f)
        skiff = subprocess.Popen(["setsid", a.skiff, "start", "-c", path, "--log-level", "warning"])
        procs.append(skiff)
        wait_port(np_port)
        wait_port(rw_port)

        nbytes = a.mb << 20
        targets = [("direct", backend_port), ("skiff netpoll", np_port), ("skiff rwloop", rw_port)]
        for _, port in targets:  # warm-up
            bulk(port, 32 << 20)
        times = {name: [] for name, _ in targets}
        ticks = {name: 0 for name, _ in targets}
        for _ in range(a.runs):
            for name, port in targets:
                before = cpu_ticks(skiff.pid)
                times[name].append(bulk(port, nbytes))
                ticks[name] += cpu_ticks(skiff.pid) - before
        print(f"\n### Bulk TCP throughput, {a.mb} MiB per run, median of {a.runs} interleaved runs\n")
        print("| path | MB/s (median) | min..max | vs direct | skiff CPU per GiB |")
        print("|---|---|---|---|---|")
        direct = statistics.median(times["direct"])
        hz = os.sysconf("SC_CLK_TCK")
        for name, _ in targets:
            med = statistics.median(times[name])
            rates = [nbytes / t / 1e6 for t in times[name]]
            cpu = "-" if name == "direct" else f"{ticks[name] * 1000 / hz * 1024 / (a.mb * a.runs):.0f} ms"
            print(f"| {name} | {nbytes / med / 1e6:.0f} | {min(rates):.0f}..{max(rates):.0f} | {direct / med:.2f}x | {cpu} |")

        print(f"\n### Idle connections held ({a.conns} per model, each proven by a 1-byte echo)\n")
        print("| model | held | proxy RSS before | after | per connection | proxy threads |")
        print("|---|---|---|---|---|---|")
        for name, port in targets[1:]:
            before = rss_kib(skiff.pid)
            try:
                conns = hold(port, a.conns)
                held = len(conns)
            except Exception as e:  # report how far it got
                held = f"failed: {e}"
                conns = []
            time.sleep(0.5)
            after = rss_kib(skiff.pid)
            th = threads(skiff.pid)
            per = (after - before) / max(1, len(conns))
            print(f"| {name} | {held} | {before / 1024:.1f} MiB | {after / 1024:.1f} MiB | {per:.1f} KiB | {th} |")
            for c in conns:
                c.close()
            time.sleep(1.0)
        print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
