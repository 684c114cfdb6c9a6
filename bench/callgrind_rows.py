#!/usr/bin/env python3
"""Instructions per request under callgrind for Skiff builds side by side: HTTP keep-alive and Connection: close on
netpoll, and tcp_proxy keep-alive, the rows a refactor must keep (within 3%) and the peers' rows it is compared with.

Usage: bench/callgrind_rows.py NAME=PATH/TO/skiff [NAME=PATH ...] [--peers] [--access-log[=json]] [--http-only]
Each binary runs in turn (one at a time: instruction counts do not depend on load) in front of one nginx backend, the
same method as bench/suite.py's callgrind section; --peers adds nginx (http, stream) on the same backend.
--access-log adds, for each build, the same rows with an access log on every listener (MOSN's default format, or
with =json a JSON-lines format of the same variables) written to a file in the run's temporary directory, and the
on/off ratio of each row; with --peers also nginx with its nearest format (suite.NGINX_MOSN_LIKE_LOG, buffered).
--http-only leaves out the tcp_proxy rows. With --peers the builds may be left out (peers' rows only).
"""
import json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import Procs, callgrind_per_request, free_port, machine_line, wait_port  # noqa: E402
from suite import nginx_backend, nginx_http, nginx_stream, skiff_argv  # noqa: E402


def main():
    builds = [a.split("=", 1) for a in sys.argv[1:] if "=" in a and not a.startswith("--")]
    peers = "--peers" in sys.argv
    if not builds and not peers:
        sys.exit(__doc__)
    print(machine_line())
    procs = Procs()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            rows(procs, tmp, builds, peers)
        finally:
            procs.stop_all()


# The variables of MOSN's default format, as JSON fields (--access-log=json).
JSON_FIELDS = ["start_time", "trace_id", "connection_id", "upstream_connection_id", "request_received_duration",
               "response_received_duration", "bytes_sent", "bytes_received", "protocol", "response_code", "duration",
               "response_flag", "upstream_local_address", "downstream_local_address", "downstream_remote_address",
               "upstream_host"]


def with_access_log(argv, tmp, form):
    """`argv` (skiff start -c CONFIG ...) with an access log added to every listener of CONFIG."""
    i = argv.index("-c") + 1
    cfg = json.load(open(argv[i]))
    for server in cfg["servers"]:
        for listener in server["listeners"]:
            entry = {"log_path": os.path.join(tmp, f"access-{listener['name']}-{os.path.basename(argv[i])}.log")}
            if form == "json":
                entry["json_format"] = {k: f"%{k}%" for k in JSON_FIELDS}
            listener["access_logs"] = [entry]
    path = argv[i][:-len(".json")] + "-accesslog.json"
    json.dump(cfg, open(path, "w"))
    return argv[:i] + [path] + argv[i + 1:]


def rows(procs, tmp, builds, peers):
    backend = free_port()
    procs.start(nginx_backend(tmp, backend))
    wait_port(backend)
    form = next((a.split("=", 1)[1] if "=" in a else "text" for a in sys.argv if a.startswith("--access-log")), None)
    http_only = "--http-only" in sys.argv
    jobs = []
    for name, path in builds:
        plain = os.path.join(tmp, f"skiff-{name}")
        # valgrind 3.19 cannot read the DWARF 5 that Swift emits: run a copy without debug info.
        subprocess.run(["objcopy", "--strip-debug", path, plain], check=True)
        variants = [("", None)] + ([(f" +access_log({form})", form)] if form else [])
        for suffix, log in variants:
            def argv(p, b=plain, mode="http", log=log):
                a = skiff_argv(b, tmp, p, backend, "netpoll", mode)
                return with_access_log(a, tmp, log) if log else a
            jobs.append((f"Skiff {name} http{suffix}", "http", argv))
            if not http_only:
                jobs.append((f"Skiff {name} tcp_proxy{suffix}", "tcp", lambda p, f=argv: f(p, mode="tcp")))
    if peers:
        jobs.append(("nginx http", "http", lambda p: nginx_http(tmp, p, backend)))
        if form:
            jobs.append(("nginx http +access_log(mosn-like)", "http",
                         lambda p: nginx_http(tmp, p, backend, access_log=True)))
        if not http_only:
            jobs.append(("nginx stream", "tcp", lambda p: nginx_stream(tmp, p, backend)))
    print("| candidate | keep-alive | Connection: close |")
    print("|---|---|---|")
    seen = {}
    for name, mode, fn in jobs:
        port = free_port()
        ka, cl = callgrind_per_request(procs, fn(port), port, tmp, name, close=2000 if mode == "http" else 0)
        seen[name] = (ka, cl)
        print(f"| {name} | {ka:,.0f} | {'-' if cl is None else f'{cl:,.0f}'} |", flush=True)
    if form:
        print(f"\naccess log on / off ({form}):")
        for name, (ka, cl) in seen.items():
            if "+access_log" in name:
                base = seen[name.split(" +access_log")[0]]
                close = "-" if cl is None else f"{cl / base[1]:.3f}x"
                print(f"- {name.split(' +access_log')[0]}: keep-alive {ka / base[0]:.3f}x, Connection: close {close}")


if __name__ == "__main__":
    main()
