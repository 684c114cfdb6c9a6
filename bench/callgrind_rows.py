#!/usr/bin/env python3
"""Instructions per request under callgrind for Skiff builds side by side: HTTP keep-alive and Connection: close on
netpoll, and tcp_proxy keep-alive, the rows a refactor must keep (within 3%) and the peers' rows it is compared with.

Usage: bench/callgrind_rows.py NAME=PATH/TO/skiff [NAME=PATH ...] [--peers]
Each binary runs in turn (one at a time: instruction counts do not depend on load) in front of one nginx backend, the
same method as bench/suite.py's callgrind section; --peers adds nginx (http, stream) on the same backend.
"""
import os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import Procs, callgrind_per_request, free_port, machine_line, wait_port  # noqa: E402
from suite import nginx_backend, nginx_http, nginx_stream, skiff_argv  # noqa: E402


def main():
    builds = [a.split("=", 1) for a in sys.argv[1:] if "=" in a]
    peers = "--peers" in sys.argv
    if not builds:
        sys.exit(__doc__)
    print(machine_line())
    procs = Procs()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            rows(procs, tmp, builds, peers)
        finally:
            procs.stop_all()


def rows(procs, tmp, builds, peers):
    backend = free_port()
    procs.start(nginx_backend(tmp, backend))
    wait_port(backend)
    jobs = []
    for name, path in builds:
        plain = os.path.join(tmp, f"skiff-{name}")
        # valgrind 3.19 cannot read the DWARF 5 that Swift emits: run a copy without debug info.
        subprocess.run(["objcopy", "--strip-debug", path, plain], check=True)
        jobs.append((f"Skiff {name} http", "http", lambda p, b=plain: skiff_argv(b, tmp, p, backend, "netpoll")))
        jobs.append((f"Skiff {name} tcp_proxy", "tcp",
                     lambda p, b=plain: skiff_argv(b, tmp, p, backend, "netpoll", "tcp")))
    if peers:
        jobs.append(("nginx http", "http", lambda p: nginx_http(tmp, p, backend)))
        jobs.append(("nginx stream", "tcp", lambda p: nginx_stream(tmp, p, backend)))
    print("| candidate | keep-alive | Connection: close |")
    print("|---|---|---|")
    for name, mode, fn in jobs:
        port = free_port()
        ka, cl = callgrind_per_request(procs, fn(port), port, tmp, name, close=2000 if mode == "http" else 0)
        print(f"| {name} | {ka:,.0f} | {'-' if cl is None else f'{cl:,.0f}'} |", flush=True)


if __name__ == "__main__":
    main()
