#!/usr/bin/env python3
"""Bolt v1 through Skiff: requests/s at 1 KiB payloads with 100 concurrent streams, and Skiff's syscalls per request.

Usage: bench/rpc_bench.py [--skiff .build/release/skiff] [--seconds 8] [--streams 100] [--conns 10] [--payload 1024]

A Bolt echo backend (asyncio, one process) answers every request; a client process keeps --streams requests in
flight spread over --conns connections (pipelined on each, as Bolt clients do) for --seconds, first directly against
the backend and then through Skiff's netpoll listener (1 poller: all clients share one multiplexed upstream
connection). perf stat counts Skiff's syscalls over the proxied run. No peer proxies Bolt; the direct run is the
reference. Loopback only; stops what it starts.
"""
import argparse, asyncio, json, os, re, signal, socket, struct, subprocess, sys, tempfile, time

CLS = b"com.alipay.sofa.rpc.core.request.SofaRequest"
RCLS = b"com.alipay.sofa.rpc.core.response.SofaResponse"


def request(rid, payload, service=b"com.alipay.test.Echo:1.0"):
    hdr = struct.pack(">I", 7) + b"service" + struct.pack(">I", len(service)) + service
    return (struct.pack(">BBHBIBIHHI", 1, 1, 1, 1, rid, 1, 3000, len(CLS), len(hdr), len(payload))
            + CLS + hdr + payload)


def response(rid, payload):
    return struct.pack(">BBHBIBHHHI", 1, 0, 2, 1, rid, 1, 0, len(RCLS), 0, len(payload)) + RCLS + payload


async def backend(port):
    async def serve(reader, writer):
        buf = b""
        try:
            while True:
                d = await reader.read(262144)
                if not d:
                    break
                buf += d
                out = []
                while len(buf) >= 22:
                    rid = struct.unpack(">I", buf[5:9])[0]
                    cl, hl, ctl = struct.unpack(">HHI", buf[14:22])
                    total = 22 + cl + hl + ctl
                    if len(buf) < total:
                        break
                    out.append(response(rid, buf[total - ctl:total]))
                    buf = buf[total:]
                if out:
                    writer.write(b"".join(out))
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def client(port, seconds, streams, conns, payload_size):
    """Keeps `streams` requests in flight over `conns` connections; returns completed requests."""
    async def run():
        per = max(1, streams // conns)
        payload = os.urandom(payload_size)
        done = 0
        stop_at = time.perf_counter() + seconds

        async def one():
            nonlocal done
            r, w = await asyncio.open_connection("127.0.0.1", port)
            rid = 0
            buf = b""
            for _ in range(per):
                rid += 1
                w.write(request(rid, payload))
            while time.perf_counter() < stop_at:
                d = await r.read(262144)
                if not d:
                    raise RuntimeError("closed")
                buf += d
                batch = []
                while len(buf) >= 20:
                    cl, hl, ctl = struct.unpack(">HHI", buf[12:20])
                    total = 20 + cl + hl + ctl
                    if len(buf) < total:
                        break
                    buf = buf[total:]
                    done += 1
                    rid += 1
                    batch.append(request(rid, payload))
                if batch:
                    w.write(b"".join(batch))
            w.close()

        await asyncio.gather(*[one() for _ in range(conns)])
        return done

    return asyncio.run(run())


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "skiff"))
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--conns", type=int, default=10)
    ap.add_argument("--payload", type=int, default=1024)
    a = ap.parse_args()
    if sys.argv[1:2] == ["--backend"]:
        return
    bport, sport = free_port(), free_port()
    procs = []
    try:
        procs.append(subprocess.Popen(["setsid", sys.executable, "-c",
                                       f"import asyncio,sys; sys.path.insert(0,{os.path.dirname(os.path.abspath(__file__))!r});"
                                       f"import rpc_bench; asyncio.run(rpc_bench.backend({bport}))"]))
        wait_port(bport)
        cfg = {"servers": [{"routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
                "routers": [{"match": {"headers": [{"name": "service", "value": ".*", "regex": True}]},
                             "route": {"cluster_name": "b"}}]}]}],
                "listeners": [{"name": "bolt", "address": f"127.0.0.1:{sport}", "thread_model": "netpoll", "pollers": 1,
                               "filter_chains": [{"filters": [{"type": "proxy", "config": {
                                   "downstream_protocol": "bolt", "upstream_protocol": "bolt",
                                   "router_config_name": "r"}}]}]}]}],
               "cluster_manager": {"clusters": [{"name": "b", "hosts": [{"address": f"127.0.0.1:{bport}"}]}]}}
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(cfg, f)
        sk = subprocess.Popen(["setsid", a.skiff, "start", "-c", path, "--log-level", "warning",
                               "--control-socket", path + ".sock"])
        procs.append(sk)
        wait_port(sport)
        client(bport, 1, a.streams, a.conns, a.payload)  # warm-up
        client(sport, 1, a.streams, a.conns, a.payload)
        direct = client(bport, a.seconds, a.streams, a.conns, a.payload) / a.seconds
        perf = subprocess.Popen(["perf", "stat", "-e", "raw_syscalls:sys_enter", "-p", str(sk.pid), "-x", ","],
                                stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
        t0 = time.perf_counter()
        n = client(sport, a.seconds, a.streams, a.conns, a.payload)
        took = time.perf_counter() - t0
        perf.send_signal(signal.SIGINT)
        err = perf.communicate(timeout=20)[1]
        m = re.search(r"^(\d+),", err, re.M)
        sys_per = int(m.group(1)) / n if m else float("nan")
        print(f"\n### Bolt v1, {a.payload} B payloads, {a.streams} streams in flight over {a.conns} connections, "
              f"{a.seconds} s\n")
        print("| path | requests/s | Skiff syscalls/request |")
        print("|---|---|---|")
        print(f"| direct to the backend | {direct:,.0f} | - |")
        print(f"| through Skiff netpoll (1 poller, 1 upstream connection) | {n / took:,.0f} | {sys_per:.2f} |")
        print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, {time.strftime('%Y-%m-%d %H:%M')}")
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
