"""Shared pieces of the benchmark scripts: ports, processes, /proc readings, wrk, a bounded keep-alive client,
perf syscall counts and callgrind instruction counts. Loopback only; every process is stopped by its pid."""
import os, re, signal, socket, subprocess, threading, time

SMALL = "x" * 63 + "\n"


def free_port():
    """A port the kernel just handed out for 127.0.0.1 (the machine is shared: prefer binding 0 where possible)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def rss_kib(pid):
    return status_field(pid, "VmRSS")


def threads(pid):
    return status_field(pid, "Threads")


def pss_kib(pid):
    """Proportional set size (shared pages split among sharers): fair for multi-process servers."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return rss_kib(pid)


class Procs:
    """Processes started under setsid (autogroup scheduling would otherwise favour the shell's group)."""

    def __init__(self):
        self.procs = []

    def start(self, argv, log=None, **kw):
        out = open(log, "w") if log else subprocess.DEVNULL
        p = subprocess.Popen(["setsid"] + argv, stdout=out, stderr=subprocess.STDOUT, **kw)
        p.argv = argv
        p.log = log
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in reversed(list(self.procs)):
            self.stop(p)


def wrk(port, conns, duration, path="/small", close=False, threads=1, scheme="http", preload=None):
    """wrk against 127.0.0.1:port. scheme "https" speaks TLS; wrk then resumes the session of the connection it
    replaces when the server gave it a ticket (SSL_clear keeps it). `preload`: an LD_PRELOAD library for wrk."""
    args = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency"]
    if close:
        args += ["-H", "Connection: close"]
    env = dict(os.environ, LD_PRELOAD=preload) if preload else None
    out = subprocess.run(args + [f"{scheme}://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         timeout=duration + 60, env=env).stdout
    m = re.search(r"(\d+) requests in", out)
    if not m:
        raise RuntimeError("wrk failed: " + out[-500:])
    reqs = int(m.group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def lat(label):
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v

    def transfer():
        m = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", out)
        if not m:
            return 0.0
        return float(m.group(1)) * {"B": 1 / 2**20, "KB": 1 / 1024, "MB": 1, "GB": 1024}[m.group(2)]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock_err = re.search(r"Socket errors: (.*)", out)
    return {"reqs": reqs, "rps": rps, "p50": lat("50"), "p99": lat("99"), "mbps": transfer(),
            "errors": (int(errors.group(1)) if errors else 0), "sockerr": sock_err.group(1) if sock_err else ""}


class KeepAliveClient:
    """Minimal GET client: one request in flight, responses framed by Content-Length. With close=True every request
    uses a new connection (`Connection: close`) and the response ends at EOF. With an `ssl.SSLContext` it speaks TLS:
    a full handshake per connection, or with resume=True (close mode) each connection resumes the session of the one
    before (`resumed` counts the connections the server resumed)."""

    def __init__(self, port, path="/small", close=False, tls=None, resume=False):
        self.port = port
        self.close = close
        self.tls = tls
        self.session = None if resume else False
        self.resumed = 0
        self.req = f"GET {path} HTTP/1.1\r\nHost: bench\r\n{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n".encode()
        self.s = None if close else self._connect()
        self.buf = b""

    def _connect(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self.tls:
            return s
        return self.tls.wrap_socket(s, session=self.session or None)

    def get(self):
        if self.close:
            s = self._connect()
            s.sendall(self.req)
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
            if self.tls and self.session is not False:
                self.resumed += s.session_reused
                self.session = s.session  # read after the response: TLS 1.3 tickets come after the handshake
            s.close()
            if data[9:12] != b"200":
                raise RuntimeError(f"status {data[:40]!r}")
            return
        self.s.sendall(self.req)
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                m = re.search(rb"(?i)content-length:\s*(\d+)", self.buf[:i])
                n = int(m.group(1))
                if len(self.buf) >= i + 4 + n:
                    status = self.buf[9:12]
                    self.buf = self.buf[i + 4 + n:]
                    if status != b"200":
                        raise RuntimeError(f"status {status}")
                    return
            d = self.s.recv(65536)
            if not d:
                raise RuntimeError("closed")
            self.buf += d


def drive(port, total, conns=4, close=False, tls=None, clients=None):
    """Exactly `total` requests over `conns` clients (or the given ones), one in flight each; returns how many were
    sent."""
    clients = clients or [KeepAliveClient(port, close=close, tls=tls) for _ in range(conns)]
    per = total // len(clients)
    errs = []

    def run(c):
        try:
            for _ in range(per):
                c.get()
        except Exception as e:  # reported below
            errs.append(e)

    ts = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise errs[0]
    return per * len(clients)


def syscalls_during(pid, action):
    """System calls entered by `pid` (all its threads) while `action()` runs; returns (count, action's result)."""
    perf = subprocess.Popen(["perf", "stat", "-e", "raw_syscalls:sys_enter", "-p", str(pid), "-x", ","],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    result = action()
    time.sleep(0.2)
    perf.send_signal(signal.SIGINT)
    err = perf.communicate(timeout=30)[1]
    m = re.search(r"^(\d+),", err, re.M)
    return (int(m.group(1)) if m else float("nan")), result


def syscalls_per_request(pid, port, n=2000):
    c = KeepAliveClient(port)
    for _ in range(100):
        c.get()

    def run():
        for _ in range(n):
            c.get()
        return n

    count, _ = syscalls_during(pid, run)
    return count / n


def callgrind_totals(path_prefix, pid):
    """Ir of the newest callgrind dump of `pid` (each `callgrind_control -d` writes one)."""
    d = os.path.dirname(path_prefix)
    dumps = [f for f in os.listdir(d) if f.startswith(os.path.basename(path_prefix) + f".{pid}")]
    if not dumps:
        return 0
    newest = max(dumps, key=lambda f: os.path.getmtime(os.path.join(d, f)))
    for line in open(os.path.join(d, newest)):
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    return 0


def callgrind_per_request(procs, argv, port, tmp, name, keepalive=10000, close=2000, warm=200, ready_timeout=240,
                          tls=None):
    """Runs `argv` under callgrind; after `warm` requests zeroes the counters, sends `keepalive` keep-alive requests
    over 4 connections (one in flight each) and reads the instructions; then the same for `close` requests with
    `Connection: close` (0 to skip). With `tls` (an ssl.SSLContext) the client speaks TLS. Returns (instructions per
    keep-alive request, per close request)."""
    return tuple(callgrind_windows(procs, argv, port, tmp, name, [(keepalive, "keepalive"), (close, "close")], warm,
                                   ready_timeout, tls))


def callgrind_windows(procs, argv, port, tmp, name, windows, warm=200, ready_timeout=240, tls=None):
    """Runs `argv` under callgrind and counts instructions per request in each window, in order: (requests, mode),
    mode "keepalive" (4 connections opened, and used once, before the counters are zeroed: no connection set-up or
    TLS handshake is counted), "close" (a new connection per request) or "resume" (TLS: a new connection per request
    resuming the previous one's session; each of the 4 clients makes one connection before the counters are zeroed).
    `warm` keep-alive requests go first. Returns per-request instructions per window (None for 0 requests)."""
    out = os.path.join(tmp, "cg." + re.sub(r"\W", "", name))
    proc = procs.start(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p"] + argv,
                       log=out + ".log")
    try:
        wait_port(port, timeout=ready_timeout)
        drive(port, warm, tls=tls)
        results = []
        for n, mode in windows:
            if n == 0:
                results.append(None)
                continue
            clients = None
            if mode != "close":
                clients = [KeepAliveClient(port, close=mode == "resume", tls=tls, resume=mode == "resume")
                           for _ in range(4)]
                for c in clients:
                    c.get()
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True)
            sent = drive(port, n, close=mode == "close", tls=tls, clients=clients)
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True)
            time.sleep(1.5)
            resumed = sum(c.resumed for c in clients) if mode == "resume" else sent
            if resumed < sent:
                raise RuntimeError(f"{name}: {sent - resumed} of {sent} connections not resumed")
            results.append(callgrind_totals(out, proc.pid) / sent)
        return results
    finally:
        procs.stop(proc)


def machine_line():
    return (f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, "
            f"{time.strftime('%Y-%m-%d %H:%M')}")
