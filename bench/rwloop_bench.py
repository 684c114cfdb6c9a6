#!/usr/bin/env python3
"""rwloop against netpoll, the rows of bench/suite.py that judge the rwloop thread model, in one short run:
syscalls per request with a sequential keep-alive client (perf stat raw_syscalls:sys_enter on every thread of the
proxy), wrk -t1 -c8 /small interleaved round after round (medians), and the thread-model table (suite.py section 7).

Usage: bench/rwloop_bench.py [--skiff .build/release/skiff] [--before OLD_BINARY] [--rounds 5] [--duration 3]
         [--idle 10000] [--skip-thread-models]
`--before` adds an older build's rows (its rwloop with `workers: 1`, as suite.py configured it before rwloop ran
L7 inline), so a change is measured against its base in the same run. One nginx backend (1 worker) serves /small;
Skiff runs one poller (netpoll) or a thread per connection (rwloop); every process started here is stopped by its pid.
"""
import argparse, os, shutil, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Procs, free_port, machine_line, syscalls_per_request, wait_port, wrk
from suite import fmt, med, nginx_backend, skiff_argv, thread_model_table, timed_wrk

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=os.path.join(HERE, "..", ".build", "release", "skiff"))
    ap.add_argument("--before", help="an older skiff binary to measure beside --skiff")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--conns", default="8", help="wrk concurrencies, comma-separated (the target is judged at 8)")
    ap.add_argument("--skip-thread-models", action="store_true")
    a = ap.parse_args()
    skiff = os.path.abspath(a.skiff)
    tmp = tempfile.mkdtemp(prefix="skiff-rwloop-")
    procs = Procs()

    def out(s=""):
        print(s, flush=True)

    out(f"## rwloop against netpoll, {time.strftime('%Y-%m-%d %H:%M')} ({machine_line()})")
    try:
        backend = free_port()
        procs.start(nginx_backend(tmp, backend))
        wait_port(backend)
        cands = [("netpoll", lambda p: skiff_argv(skiff, tmp, p, backend, "netpoll")),
                 ("rwloop", lambda p: skiff_argv(skiff, tmp, p, backend, "rwloop", max_connections=2000))]
        if a.before:
            old = os.path.abspath(a.before)
            cands += [("before: netpoll", lambda p: skiff_argv(old, tmp, p, backend, "netpoll")),
                      ("before: rwloop workers 1",
                       lambda p: skiff_argv(old, tmp, p, backend, "rwloop", max_connections=2000, workers=1))]
        running = []
        for name, argv in cands:
            port = free_port()
            proc = procs.start(argv(port), log=os.path.join(tmp, name.replace(" ", "_").replace(":", "") + ".log"))
            wait_port(port, timeout=60)
            running.append((name, port, proc))
        for _, port, _ in running:
            wrk(port, 8, 1)

        out()
        out("### Syscalls per request, sequential keep-alive client (2,000 requests after 100)")
        out()
        out("| candidate | syscalls/request |")
        out("|---|---|")
        for name, port, proc in running:
            out(f"| {name} | {syscalls_per_request(proc.pid, port):.2f} |")

        for conns in [int(c) for c in a.conns.split(",")]:
            res = {name: [] for name, _, _ in running}
            for _ in range(a.rounds):
                for name, port, proc in running:
                    res[name].append(timed_wrk(port, proc, conns, a.duration))
            out()
            out(f"### wrk -t1 -c{conns} /small, {a.rounds} interleaved rounds x {a.duration} s, medians")
            out()
            out("| candidate | req/s | p50 ms | p99 ms | proxy CPU us/req | vs netpoll of the same build | rounds |")
            out("|---|---|---|---|---|---|---|")
            rps = {name: med([x["rps"] for x in r]) for name, r in res.items()}
            for name, r in res.items():
                base = rps["before: netpoll" if name.startswith("before") else "netpoll"]
                out(f"| {name} | {fmt(rps[name])} | {fmt(med([x['p50'] for x in r]), '.2f')} | "
                    f"{fmt(med([x['p99'] for x in r]), '.2f')} | {fmt(med([x['cpu_us'] for x in r]), '.1f')} | "
                    f"{rps[name] / base:.2f}x | {', '.join(fmt(x['rps']) for x in r)} |")
        for _, _, proc in running:
            procs.stop(proc)

        if not a.skip_thread_models:
            rows = [("netpoll", skiff, "netpoll"), ("rwloop", skiff, "rwloop")]
            if a.before:
                rows.append(("before: rwloop workers 1", os.path.abspath(a.before), "rwloop", 1))
            thread_model_table(out, procs, tmp, rows, backend, a.idle, a.duration)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
