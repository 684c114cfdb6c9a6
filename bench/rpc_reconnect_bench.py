#!/usr/bin/env python3
"""What a Bolt backend that answers one request per connection costs Skiff, against a keep-alive backend.

Usage: bench/rpc_reconnect_bench.py [--skiff .build/release/skiff] [--requests 20000] [--clients 1,8]
                                    [--close-delay-ms 0,3] [--callgrind N]

Backends (asyncio, one process each):
  keep-alive      answers every request on its connection, never closes;
  one-per-conn D  answers the first request of each connection, then closes it D ms later (shutdown, close), as
                  a server with one request per connection, an idle timeout or a max-requests limit does; requests
                  that came meanwhile are never answered (Skiff sends them again on a new connection). Also with
                  the cluster's max_request_per_conn 1 (Skiff then never sends a second request on a connection).
Clients: C threads, each on its own connection to Skiff, one request in flight (the next after the answer), until
REQUESTS answers in all. Skiff runs a netpoll Bolt listener with 1 poller (every client shares its upstream).
Reported per backend: requests/s, Skiff CPU time per request (/proc utime+stime), Skiff syscalls per request
(perf), upstream connections and retries per request (skiff ctl hosts), failed calls. With --callgrind N, also
Skiff's instructions per request over N requests under callgrind (1 client), for the keep-alive backend with and
without the request copy kept for a retry (`retry_policy` num_retries 0), and for one-per-conn 0.
Loopback only; bounded in count and time; stops what it starts.
"""
import argparse, asyncio, json, os, shutil, socket, struct, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Procs, callgrind_totals, cpu_ticks, free_port, machine_line, syscalls_during, wait_port

CLS = b"com.alipay.sofa.rpc.core.request.SofaRequest"
RCLS = b"com.alipay.sofa.rpc.core.response.SofaResponse"
TICK = os.sysconf("SC_CLK_TCK")


def request(rid, payload, service=b"com.alipay.test.Echo:1.0"):
    hdr = struct.pack(">I", 7) + b"service" + struct.pack(">I", len(service)) + service
    return (struct.pack(">BBHBIBIHHI", 1, 1, 1, 1, rid, 1, 3000, len(CLS), len(hdr), len(payload))
            + CLS + hdr + payload)


def response(rid, payload):
    return struct.pack(">BBHBIBHHHI", 1, 0, 2, 1, rid, 1, 0, len(RCLS), 0, len(payload)) + RCLS + payload


def frames(buf, fixed, lens_at):
    """Splits whole Bolt frames off `buf`: (frames, rest)."""
    out = []
    while len(buf) >= fixed:
        cl, hl, ctl = struct.unpack(">HHI", buf[lens_at:lens_at + 8])
        total = fixed + cl + hl + ctl
        if len(buf) < total:
            break
        out.append(buf[:total])
        buf = buf[total:]
    return out, buf


async def backend(port, one_per_conn, close_delay_ms):
    async def serve(reader, writer):
        buf = b""
        try:
            while True:
                d = await reader.read(262144)
                if not d:
                    break
                buf += d
                got, buf = frames(buf, 22, 14)
                if not got:
                    continue
                if one_per_conn:
                    f = got[0]
                    writer.write(response(struct.unpack(">I", f[5:9])[0], f[-16:]))
                    await writer.drain()
                    if close_delay_ms:
                        await asyncio.sleep(close_delay_ms / 1000)
                    break
                writer.write(b"".join(response(struct.unpack(">I", f[5:9])[0], f[-16:]) for f in got))
        finally:
            try:
                writer.transport.get_extra_info("socket").shutdown(socket.SHUT_WR)
            except OSError:
                pass
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def clients(port, total, n, payload=b"p" * 16, deadline_s=120):
    """`n` threads, one request in flight each, until `total` answers; returns (answers, failures)."""
    left = [total]
    ok = [0]
    bad = [0]
    lock = threading.Lock()
    stop_at = time.time() + deadline_s

    def one():
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        rid = 0
        while time.time() < stop_at:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            rid += 1
            s.sendall(request(rid, payload))
            while True:
                got, buf = frames(buf, 20, 12)
                if got:
                    break
                d = s.recv(65536)
                if not d:
                    raise RuntimeError("skiff closed the client connection")
                buf += d
            status = struct.unpack(">H", got[0][10:12])[0]
            with lock:
                if status == 0:
                    ok[0] += 1
                else:
                    bad[0] += 1
        s.close()

    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ok[0], bad[0]


def host_stats(skiff, sock):
    """(rq_total, rq_retry, cx_total) of the one host, from `skiff ctl hosts`."""
    out = subprocess.run([skiff, "ctl", "hosts", "--json", "--socket", sock], capture_output=True, text=True).stdout
    h = json.loads(out)["clusters"][0]["hosts"][0]
    return h["rq_total"], h["rq_retry"], h["cx_total"]


def config(sport, bport, keep_copy=True, max_per_conn=0):
    route = {"cluster_name": "b"}
    if not keep_copy:
        route["retry_policy"] = {"retry_on": False, "num_retries": 0}
    return {"servers": [{"routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
             "routers": [{"match": {"headers": [{"name": "service", "value": ".*", "regex": True}]},
                          "route": route}]}]}],
             "listeners": [{"name": "bolt", "address": f"127.0.0.1:{sport}", "thread_model": "netpoll", "pollers": 1,
                            "filter_chains": [{"filters": [{"type": "proxy", "config": {
                                "downstream_protocol": "bolt", "upstream_protocol": "bolt",
                                "router_config_name": "r"}}]}]}]}],
            "cluster_manager": {"clusters": [{"name": "b", "max_request_per_conn": max_per_conn,
                                              "hosts": [{"address": f"127.0.0.1:{bport}"}]}]}}


def start_backend(procs, one_per_conn, delay):
    bport = free_port()
    here = os.path.dirname(os.path.abspath(__file__))
    procs.start([sys.executable, "-c",
                 f"import asyncio,sys; sys.path.insert(0,{here!r}); import rpc_reconnect_bench as b;"
                 f"asyncio.run(b.backend({bport}, {one_per_conn}, {delay}))"])
    wait_port(bport)
    return bport


def measure(skiff, procs, tmp, label, one_per_conn, delay, requests, nclients, max_per_conn=0):
    bport = start_backend(procs, one_per_conn, delay)
    sport = free_port()
    path = os.path.join(tmp, f"c{sport}.json")
    with open(path, "w") as f:
        json.dump(config(sport, bport, max_per_conn=max_per_conn), f)
    sock = path + ".sock"
    sk = procs.start([skiff, "start", "-c", path, "--log-level", "warning", "--control-socket", sock])
    wait_port(sport)
    clients(sport, 200, nclients)  # warm-up
    rq0, retry0, cx0 = host_stats(skiff, sock)
    c0 = cpu_ticks(sk.pid)
    box = {}

    def go():
        t0 = time.perf_counter()
        box["r"] = clients(sport, requests, nclients)
        box["t"] = time.perf_counter() - t0

    sysc, _ = syscalls_during(sk.pid, go)
    cpu = (cpu_ticks(sk.pid) - c0) / TICK
    rq, retry, cx = host_stats(skiff, sock)
    ok, bad = box["r"]
    n = ok + bad
    procs.stop(sk)
    return (f"| {label} | {nclients} | {n / box['t']:,.0f} | {cpu / n * 1e6:.1f} | {sysc / n:.1f} | "
            f"{(cx - cx0) / n:.2f} | {(retry - retry0) / n:.2f} | {(rq - rq0) / n:.2f} | {bad} |")


def callgrind(skiff, procs, tmp, label, one_per_conn, delay, keep_copy, n):
    # valgrind 3.19 cannot read the DWARF 5 that Swift emits: run a copy without debug info.
    nodebug = os.path.join(tmp, "skiff-nodebug")
    if not os.path.exists(nodebug):
        subprocess.run(["objcopy", "--strip-debug", skiff, nodebug], check=True)
    skiff = nodebug
    bport = start_backend(procs, one_per_conn, delay)
    sport = free_port()
    path = os.path.join(tmp, f"g{sport}.json")
    with open(path, "w") as f:
        json.dump(config(sport, bport, keep_copy), f)
    out = os.path.join(tmp, f"cg{sport}")
    proc = procs.start(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p", skiff, "start", "-c", path,
                        "--log-level", "warning", "--control-socket", path + ".sock"], log=out + ".log")
    try:
        wait_port(sport, timeout=240)
        clients(sport, 300, 1)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True)
        ok, bad = clients(sport, n, 1, deadline_s=600)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True)
        time.sleep(1.5)
        return f"| {label} | {callgrind_totals(out, proc.pid) / (ok + bad):,.0f} | {bad} |"
    finally:
        procs.stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "skiff"))
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--clients", default="1,8")
    ap.add_argument("--close-delay-ms", default="0,3")
    ap.add_argument("--callgrind", type=int, default=0)
    a = ap.parse_args()
    skiff = os.path.abspath(a.skiff)
    tmp = tempfile.mkdtemp(prefix="skiff-reconnect-")
    procs = Procs()
    try:
        print(f"### Bolt v1 through Skiff (netpoll, 1 poller): keep-alive backend vs one request per connection, "
              f"{a.requests} requests per row, one in flight per client\n")
        print("| backend | clients | requests/s | Skiff CPU µs/request | Skiff syscalls/request | "
              "upstream connections/request | retries/request | upstream sends/request | failed |")
        print("|---|---|---|---|---|---|---|---|---|")
        for nc in [int(x) for x in a.clients.split(",")]:
            print(measure(skiff, procs, tmp, "keep-alive", False, 0, a.requests, nc), flush=True)
            for d in [int(x) for x in a.close_delay_ms.split(",")]:
                print(measure(skiff, procs, tmp, f"one-per-conn, close {d} ms after", True, d, a.requests, nc),
                      flush=True)
            d = max(int(x) for x in a.close_delay_ms.split(","))
            print(measure(skiff, procs, tmp, f"one-per-conn, close {d} ms after; cluster max_request_per_conn 1", True,
                          d, a.requests, nc, max_per_conn=1), flush=True)
        if a.callgrind:
            print(f"\n### Skiff instructions per request under callgrind ({a.callgrind} requests, 1 client)\n")
            print("| backend | instructions/request | failed |")
            print("|---|---|---|")
            print(callgrind(skiff, procs, tmp, "keep-alive (request copy kept for a retry: the default)", False, 0,
                            True, a.callgrind), flush=True)
            print(callgrind(skiff, procs, tmp, "keep-alive, retry_policy num_retries 0 (no copy kept)", False, 0,
                            False, a.callgrind), flush=True)
            print(callgrind(skiff, procs, tmp, "one-per-conn, close 0 ms after", True, 0, True, a.callgrind),
                  flush=True)
        print(f"\n{machine_line()}")
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
