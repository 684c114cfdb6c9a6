#!/usr/bin/env python3
"""Captures what an operator sees in a 30 s incident, into screenshots-text/incident-*.txt: `skiff top` (tmux,
120x40) against a daemon with two HTTP backends under ~100 req/s of keep-alive load; one backend is killed, the
operator drains it from the console, then it comes back and is set ready again.

Usage: scripts/capture-incident.py [path/to/skiff]   (default .build/release/skiff)
Needs python3 and tmux. Everything runs on 127.0.0.1 with free ports and is stopped at the end.
"""
import http.client, http.server, json, os, signal, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIFF = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/skiff"))
OUT = os.path.join(ROOT, "screenshots-text")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def backend(port):
    """A small HTTP/1.1 keep-alive server in a child process (so it can be killed like a real one)."""
    code = f"""
import http.server
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"ok {port}"
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", {port}), H).serve_forever()
"""
    return subprocess.Popen([sys.executable, "-c", code])


def load(port, stop, counts):
    """~100 req/s over 4 keep-alive connections; a failed connection is opened again."""
    def client():
        conn = None
        while not stop.is_set():
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/")
                r = conn.getresponse()
                r.read()
                counts[r.status // 100] = counts.get(r.status // 100, 0) + 1
            except Exception:
                counts["err"] = counts.get("err", 0) + 1
                conn = None
            time.sleep(0.04)
    threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    return threads


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def main():
    tmp = tempfile.mkdtemp(prefix="skiff-incident-")
    listen, b1, b2 = free_port(), free_port(), free_port()
    sock = os.path.join(tmp, "skiff.sock")
    cfg = {
        "servers": [{
            "routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"], "routers": [
                {"match": {"prefix": "/"}, "route": {"cluster_name": "web", "timeout": "5s"}}]}]}],
            "listeners": [{"name": "web_in", "address": f"127.0.0.1:{listen}", "thread_model": "netpoll",
                           "filter_chains": [{"filters": [{"type": "proxy", "config": {
                               "downstream_protocol": "Http1", "router_config_name": "r"}}]}]}]}],
        "cluster_manager": {"clusters": [{
            "name": "web", "lb_type": "LB_ROUNDROBIN", "connect_timeout": "500ms",
            "health_check": {"protocol": "Http1", "timeout": "500ms", "interval": "1s", "healthy_threshold": 2,
                             "unhealthy_threshold": 2, "check_config": {"http_check_config": {"path": "/"}}},
            "hosts": [{"address": f"127.0.0.1:{b1}"}, {"address": f"127.0.0.1:{b2}"}]}]}}
    path = os.path.join(tmp, "skiff.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    procs = [backend(b1), backend(b2)]
    daemon = subprocess.Popen([SKIFF, "start", "-c", path, "--control-socket", sock, "--log-level", "warning"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    session = f"skiff-incident-{os.getpid()}"
    stop, counts = threading.Event(), {}
    try:
        time.sleep(1.5)
        load(listen, stop, counts)
        tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40",
             f"NCURSES_NO_UTF8_ACS=1 {SKIFF} top --socket {sock} --window 10s")
        time.sleep(6)

        def shot(name, keys=()):
            for k in keys:
                tmux("send-keys", "-t", session, k)
                time.sleep(0.4)
            time.sleep(1.2)
            with open(os.path.join(OUT, f"incident-{name}.txt"), "w") as f:
                f.write(tmux("capture-pane", "-p", "-t", session))

        shot("0-before-clusters", ["3"])
        procs[0].kill()  # t=0: a backend dies
        procs[0].wait()
        shot("1-killed-clusters")  # within ~1.5 s: the connect failures, before the health check marks it DOWN
        time.sleep(1.5)
        shot("1-killed-down-clusters")
        shot("1-killed-listeners", ["2"])
        shot("1-killed-requests", ["9"])
        time.sleep(2)
        shot("2-health", ["7"])
        shot("2-events", ["8"])
        # The operator drains the dead host from the Clusters view: its row is the first host under the cluster.
        shot("3-host-details", ["3", "Down", "Enter"])
        shot("3-drain-asked", ["d"])
        shot("3-drained-clusters", ["y", "Escape"])
        shot("3-drained-events", ["8"])
        time.sleep(5)
        procs[0] = backend(b1)  # it comes back
        time.sleep(4)
        shot("4-back-health", ["7"])
        shot("4-ready-clusters", ["3", "Down", "r", "y"])
        time.sleep(5)
        shot("5-recovered-clusters", ["3"])
        shot("5-recovered-overview", ["1"])
        print("load:", {str(k): v for k, v in counts.items()})
        print("captured:", " ".join(sorted(f for f in os.listdir(OUT) if f.startswith("incident-"))))
    finally:
        stop.set()
        tmux("kill-session", "-t", session)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
        for p in procs:
            p.kill()


if __name__ == "__main__":
    main()
