#!/usr/bin/env python3
"""Bolt v1 through Skiff: requests/s at 1 KiB payloads with 100 concurrent streams, and Skiff's syscalls per request.

Usage: bench/rpc_bench.py [--skiff .build/release/skiff] [--seconds 8] [--streams 100] [--conns 10] [--payload 1024]

A Bolt echo backend (asyncio, one process) answers every request; a client process keeps --streams requests in
flight spread over --conns connections (pipelined on each, as Bolt clients do) for --seconds, first directly against
the backend and then through Skiff's netpoll listener (1 poller: all clients share one multiplexed upstream
connection). perf stat counts Skiff's syscalls over the proxied run. No peer proxies Bolt; the direct run is the
reference. Loopback only; stops what it starts.
"""
import argparse, asyncio, json, os, shutil, struct, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Procs, free_port, machine_line, syscalls_during, wait_port

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


def run(skiff, seconds=8, streams=100, conns=10, payload=1024, with_tcp_proxy=False):
    """Runs the comparison; returns the markdown lines (table and machine line)."""
    bport, sport, tport = free_port(), free_port(), free_port()
    tmp = tempfile.mkdtemp(prefix="skiff-rpc-")
    procs = Procs()
    try:
        procs.start([sys.executable, "-c",
                     f"import asyncio,sys; sys.path.insert(0,{os.path.dirname(os.path.abspath(__file__))!r});"
                     f"import rpc_bench; asyncio.run(rpc_bench.backend({bport}))"])
        wait_port(bport)
        listeners = [{"name": "bolt", "address": f"127.0.0.1:{sport}", "thread_model": "netpoll", "pollers": 1,
                      "filter_chains": [{"filters": [{"type": "proxy", "config": {
                          "downstream_protocol": "bolt", "upstream_protocol": "bolt", "router_config_name": "r"}}]}]},
                     {"name": "tcp", "address": f"127.0.0.1:{tport}", "thread_model": "netpoll", "pollers": 1,
                      "filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": "b"}}]}]}]
        cfg = {"servers": [{"routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
                "routers": [{"match": {"headers": [{"name": "service", "value": ".*", "regex": True}]},
                             "route": {"cluster_name": "b"}}]}]}],
                "listeners": listeners}],
               "cluster_manager": {"clusters": [{"name": "b", "hosts": [{"address": f"127.0.0.1:{bport}"}]}]}}
        path = os.path.join(tmp, "bolt.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        sk = procs.start([skiff, "start", "-c", path, "--log-level", "warning", "--control-socket", path + ".sock"])
        wait_port(sport)
        wait_port(tport)
        client(bport, 1, streams, conns, payload)  # warm-up
        client(sport, 1, streams, conns, payload)
        direct = client(bport, seconds, streams, conns, payload) / seconds
        rows = []
        paths = [("through Skiff's Bolt proxy (netpoll, 1 poller, 1 multiplexed upstream connection)", sport)]
        if with_tcp_proxy:
            paths.append(("through Skiff's tcp_proxy (netpoll, 1 poller, one upstream connection per client)", tport))
        for label, port in paths:
            box = {}

            def go():
                t0 = time.perf_counter()
                box["n"] = client(port, seconds, streams, conns, payload)
                box["t"] = time.perf_counter() - t0

            count, _ = syscalls_during(sk.pid, go)
            rows.append((label, box["n"] / box["t"], count / box["n"]))
        lines = ["", f"### Bolt v1, {payload} B payloads, {streams} streams in flight over {conns} connections, "
                     f"{seconds} s per path", "",
                 "| path | requests/s | Skiff syscalls/request |", "|---|---|---|",
                 f"| direct to the backend | {direct:,.0f} | - |"]
        for label, rps, sysc in rows:
            lines.append(f"| {label} | {rps:,.0f} | {sysc:.2f} |")
        return lines
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "skiff"))
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--conns", type=int, default=10)
    ap.add_argument("--payload", type=int, default=1024)
    ap.add_argument("--with-tcp-proxy", action="store_true", help="also the same bytes through Skiff's tcp_proxy")
    a = ap.parse_args()
    for line in run(os.path.abspath(a.skiff), a.seconds, a.streams, a.conns, a.payload, a.with_tcp_proxy):
        print(line)
    print(f"\n{machine_line()}")


if __name__ == "__main__":
    main()
